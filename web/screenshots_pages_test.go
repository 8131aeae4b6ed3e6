package web_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gitgate/gitgate/internal/browser"
	"github.com/gitgate/gitgate/internal/testenv"
)

// The -screenshots flag belongs to TestScreenshots (screenshots_test.go);
// it is defined here only when this file is compiled without it, so the
// two files share one flag.
func init() {
	if flag.Lookup("screenshots") == nil {
		flag.String("screenshots", "", "write screenshots of the main pages to this directory")
	}
}

// TestScreenshotsOfPages saves the projects list, a project page, the
// two-factor set-up and the admin users list as PNGs (`make screenshots`).
func TestScreenshotsOfPages(t *testing.T) {
	out := flag.Lookup("screenshots").Value.String()
	if out == "" {
		t.Skip("screenshots are taken with -screenshots=DIR (make screenshots)")
	}
	dir, err := filepath.Abs(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.Options{})
	alice := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	env.User("ci-bot", testenv.UserOpts{Bot: true})
	env.Project("alice/website", "internal")
	env.Project("alice/notes", "private")
	token := env.Token(alice, "write_repository")
	env.MustGit(env.WorkTree(), "push", "-q", env.RepoURL("alice", token, "alice/website"), "main")
	b := browser.Get(t)
	shot := func(p *browser.Page, name string) {
		t.Helper()
		p.Screenshot(filepath.Join(dir, name+".png"))
	}

	p := b.Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	shot(p, "projects")
	p.Open("/alice/website")
	shot(p, "project")
	p.Open("/-/profile/two_factor_auth")
	p.Press("form[action='/-/profile/two_factor_auth/setup'] button")
	shot(p, "two-factor-setup")
	code, _ := totp.GenerateCode(p.Value("#otp_secret"), time.Now())
	p.Fill("#pin_code", code)
	p.Fill("#current_password", "alice-password-1")
	p.Press("form[action='/-/profile/two_factor_auth'] button[type=submit]")
	shot(p, "two-factor-recovery-codes")

	admin := b.Page(t, env.URL)
	admin.SignIn("root", "root-password-for-tests")
	admin.Open("/admin/users")
	shot(admin, "admin-users")
}
