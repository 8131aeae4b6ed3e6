package web_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/gitgate/gitgate/internal/browser"
	"github.com/gitgate/gitgate/internal/testenv"
)

// screenshots is where TestScreenshots writes its PNGs (`make screenshots`
// sets it to docs/screenshots); empty skips the test.
var screenshots = flag.String("screenshots", "", "write screenshots of the main pages to this directory")

// TestScreenshots drives a real server as a person would and saves the
// main pages as PNGs for the documentation. Each step adds one page.
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("screenshots are taken with -screenshots=DIR (make screenshots)")
	}
	dir, err := filepath.Abs(*screenshots)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Token(u, "read_repository")
	b := browser.Get(t)
	shot := func(p *browser.Page, name string) {
		t.Helper()
		p.Screenshot(filepath.Join(dir, name+".png"))
	}

	visitor := b.Page(t, env.URL)
	visitor.Open("/")
	shot(visitor, "sign-in")

	p := b.Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	createOnPage(p, "laptop", "", "read_repository", "write_repository")
	shot(p, "access-tokens")
}
