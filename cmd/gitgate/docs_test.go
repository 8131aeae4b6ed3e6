package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra/doc"
)

var update = flag.Bool("update", false, "rewrite the CLI reference in docs/cli/ (make docs)")

// referenceDir is the generated CLI reference, relative to this package.
const referenceDir = "../../docs/cli"

// manDate is the date the man pages carry: fixed, so that regenerating
// an unchanged command tree changes no file.
var manDate = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

// generateReference writes the Markdown reference (one page per command)
// and the man pages (man/, section 1) of the whole command tree into dir.
func generateReference(t *testing.T, dir string) {
	t.Helper()
	root := newRootCmd(&app{})
	for _, c := range allCommands(root) {
		c.DisableAutoGenTag = true
	}
	if err := os.MkdirAll(filepath.Join(dir, "man"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := doc.GenMarkdownTree(root, dir); err != nil {
		t.Fatal(err)
	}
	header := &doc.GenManHeader{Title: "GITGATE", Section: "1", Source: "gitgate", Manual: "gitgate manual", Date: &manDate}
	if err := doc.GenManTree(root, header, filepath.Join(dir, "man")); err != nil {
		t.Fatal(err)
	}
}

// files reads every file under dir, by path relative to dir.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		b, err := os.ReadFile(path)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return out
}

// The reference in docs/cli/ is what the command tree generates: a
// command, flag or example changed without `make docs` fails here.
func TestCLIReferenceInDocsIsGenerated(t *testing.T) {
	if *update {
		if err := os.RemoveAll(referenceDir); err != nil {
			t.Fatal(err)
		}
		generateReference(t, referenceDir)
		return
	}
	fresh := t.TempDir()
	generateReference(t, fresh)
	want, got := files(t, fresh), files(t, referenceDir)
	var stale []string
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			stale = append(stale, name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			stale = append(stale, name+" (no such command any more)")
		}
	}
	slices.Sort(stale)
	if len(stale) > 0 {
		t.Fatalf("docs/cli/ is out of date; run make docs. Differing files: %s", strings.Join(stale, ", "))
	}
}

// Every command of the tree has its page, and every page documents its
// example: the reference is complete, not merely consistent.
func TestCLIReferenceHasAPageWithExamplesForEveryCommand(t *testing.T) {
	got := files(t, referenceDir)
	for _, c := range allCommands(newRootCmd(&app{})) {
		if !c.IsAvailableCommand() && c.HasParent() {
			continue
		}
		name := strings.ReplaceAll(c.CommandPath(), " ", "_")
		md := got[name+".md"]
		if md == nil {
			t.Errorf("no docs/cli/%s.md for %q", name, c.CommandPath())
			continue
		}
		if !bytes.Contains(md, []byte("### Examples")) || !bytes.Contains(md, []byte(c.Short)) {
			t.Errorf("docs/cli/%s.md lacks the summary or the examples", name)
		}
		man := strings.ReplaceAll(c.CommandPath(), " ", "-") + ".1"
		if got["man/"+man] == nil {
			t.Errorf("no docs/cli/man/%s", man)
		}
	}
}
