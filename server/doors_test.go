package server_test

import (
	"go/ast"
	"go/build"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// storePath is the storage package the doors must not reach into: the
// services hand them their own types (auth.User, auth.Token, …) and one
// auth.ErrUnavailable, so a door never depends on a column.
const storePath = "github.com/gitgate/gitgate/store"

// doors are the packages that answer the outside world.
var doors = []string{"api", "gitserver", "sshserver"}

// repositorySide are the store names a door may still use until the
// repository service hands out its own project, namespace and member
// types; then this set becomes empty.
var repositorySide = []string{"Member", "Namespace", "NamespaceGroup", "NamespaceUser", "Project", "ProjectFilter"}

// storeNamesUsed lists, per file, the store identifiers the non-test Go
// files of dir use (store.X), honouring build constraints.
func storeNamesUsed(t *testing.T, dir string) map[string][]string {
	t.Helper()
	pkg, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("read package %s: %v", dir, err)
	}
	if len(pkg.GoFiles) == 0 {
		t.Fatalf("package %s has no Go files: the check would prove nothing", dir)
	}
	used := map[string][]string{}
	fset := token.NewFileSet()
	for _, name := range append(slices.Clone(pkg.GoFiles), pkg.CgoFiles...) {
		path := filepath.Join(dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		local := ""
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != storePath && !strings.HasPrefix(p, storePath+"/") {
				continue
			}
			if p != storePath {
				t.Errorf("%s imports %s", path, p)
				continue
			}
			local = "store"
			if imp.Name != nil {
				local = imp.Name.Name
			}
			if local == "." || local == "_" {
				t.Errorf("%s imports %s as %q", path, p, local)
			}
		}
		if local == "" {
			continue
		}
		seen := map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && !seen[sel.Sel.Name] {
				seen[sel.Sel.Name] = true
				used[name] = append(used[name], sel.Sel.Name)
			}
			return true
		})
	}
	return used
}

// Doors take users, tokens, keys and the unavailable error from the auth
// service, never from storage; what they still take from storage is the
// repository side only, listed in the log.
func TestDoorsUseOnlyRepositoryTypesFromStore(t *testing.T) {
	for _, door := range doors {
		t.Run(door, func(t *testing.T) {
			for file, names := range storeNamesUsed(t, filepath.Join("..", door)) {
				slices.Sort(names)
				t.Logf("%s/%s uses store.%s", door, file, strings.Join(names, ", store."))
				for _, n := range names {
					if !slices.Contains(repositorySide, n) {
						t.Errorf("%s/%s uses store.%s: take it from the service that owns it", door, file, n)
					}
				}
			}
		})
	}
}
