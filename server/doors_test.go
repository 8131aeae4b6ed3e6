package server_test

import (
	"fmt"
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
// services hand them their own types (auth.User, auth.Token, repos.Project,
// repos.Namespace, …) and one auth.ErrUnavailable, so a door never depends
// on a column and storage can change without touching a door.
const storePath = "github.com/gitgate/gitgate/store"

// doors are the packages that answer the outside world.
var doors = []string{"api", "gitserver", "sshserver"}

// storeImports lists, per non-test Go file of dir that imports store (or
// a package below it), how it imports it and the store identifiers it
// uses, honouring build constraints.
func storeImports(t *testing.T, dir string) map[string]string {
	t.Helper()
	pkg, err := build.Default.ImportDir(dir, 0)
	if err != nil {
		t.Fatalf("read package %s: %v", dir, err)
	}
	if len(pkg.GoFiles) == 0 {
		t.Fatalf("package %s has no Go files: the check would prove nothing", dir)
	}
	found := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range append(slices.Clone(pkg.GoFiles), pkg.CgoFiles...) {
		path := filepath.Join(dir, name)
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatalf("parse %s: %v", path, err)
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if p != storePath && !strings.HasPrefix(p, storePath+"/") {
				continue
			}
			local := p[strings.LastIndex(p, "/")+1:]
			if imp.Name != nil {
				local = imp.Name.Name
			}
			var names []string
			ast.Inspect(f, func(n ast.Node) bool {
				sel, ok := n.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == local && !slices.Contains(names, sel.Sel.Name) {
					names = append(names, sel.Sel.Name)
				}
				return true
			})
			slices.Sort(names)
			found[name] += fmt.Sprintf("imports %s as %s, uses %v; ", p, local, names)
		}
	}
	return found
}

// No door imports storage: users, tokens, keys and the unavailable error
// come from the auth service, projects, namespaces and members from the
// repository service.
func TestDoorsDoNotImportStore(t *testing.T) {
	for _, door := range doors {
		t.Run(door, func(t *testing.T) {
			for file, what := range storeImports(t, filepath.Join("..", door)) {
				t.Errorf("%s/%s %s: take them from the service that owns them", door, file, strings.TrimSuffix(what, "; "))
			}
		})
	}
}
