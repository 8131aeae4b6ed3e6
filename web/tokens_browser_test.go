package web_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/browser"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
)

const createButton = "form[action='" + tokensPath + "'] button[type=submit]"

// createOnPage fills the creation form as a person does and returns the
// status of the page it leads to.
func createOnPage(p *browser.Page, name, expires string, scopes ...string) int {
	p.Open(tokensPath)
	p.Fill("#personal_access_token_name", name)
	if expires != "" {
		p.SetValue("#personal_access_token_expires_at", expires)
	}
	for _, s := range scopes {
		p.Click("#personal_access_token_scopes_" + s)
	}
	return p.Press(createButton)
}

func TestATokenCreatedOnThePageClonesAndPushesUntilItIsRevoked(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Project("alice/repo", "private")
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")

	if code := createOnPage(p, "laptop", "", "write_repository"); code != 200 {
		t.Fatalf("create: %d", code)
	}
	secret := p.Value("#created-personal-access-token")
	if !strings.HasPrefix(secret, "glpat-") || !strings.Contains(p.Text(".secret"), "won't be able to access it again") {
		t.Fatalf("new token not shown with its warning: %q", p.Text("main"))
	}
	if p.Path() != tokensPath {
		t.Fatalf("the page with the token is at %s", p.Path())
	}
	row := p.Text("#active-tokens tbody tr")
	for _, want := range []string{"laptop", "write_repository", "Never"} {
		if !strings.Contains(row, want) {
			t.Errorf("active row %q lacks %q", row, want)
		}
	}

	// Real Git with the token: push, then clone what was pushed.
	work := env.WorkTree()
	env.MustGit(work, "push", env.RepoURL("alice", secret, "alice/repo"), "main")
	clone := filepath.Join(t.TempDir(), "clone")
	env.MustGit("", "clone", env.RepoURL("alice", secret, "alice/repo"), clone)
	if _, err := os.Stat(filepath.Join(clone, "README.md")); err != nil {
		t.Fatalf("clone lacks the pushed file: %v", err)
	}

	// Shown once: a reload does not show it again.
	p.Reload()
	if p.Has("#created-personal-access-token") || strings.Contains(p.HTML(), secret) {
		t.Fatal("the token is shown again after a reload")
	}

	// Revoke, through the confirmation page (no JavaScript needed).
	if code := p.Press("#active-tokens a.button"); code != 200 || !strings.Contains(p.Text("main"), "laptop") {
		t.Fatalf("confirmation page: %d", code)
	}
	p.Press("form[action$='/revoke'] button[type=submit]")
	if !strings.Contains(p.Text(".flash"), "revoked") || p.Has("#active-tokens") {
		t.Fatalf("after revoking: %q", p.Text("main"))
	}
	if !strings.Contains(p.Text("#inactive-tokens"), "Revoked") {
		t.Fatalf("the revoked token is not listed as inactive: %q", p.Text("main"))
	}
	r := env.Git("", "clone", env.RepoURL("alice", secret, "alice/repo"), filepath.Join(t.TempDir(), "again"))
	if r.Err == nil || !strings.Contains(r.Stderr, "401") && !strings.Contains(r.Stderr, "Access denied") {
		t.Fatalf("clone with the revoked token: %v\n%s", r.Err, r.Stderr)
	}
	if n := countTokens(t, env, u); n != 1 {
		t.Fatalf("%d tokens, want the one revoked", n)
	}
}

func TestRotatingATokenOnThePageShowsTheNewOneAndStopsTheOld(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Project("alice/repo", "private")
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	createOnPage(p, "ci", "", "read_repository")
	old := p.Value("#created-personal-access-token")

	p.Press("form[action$='/rotate'] button[type=submit]")
	rotated := p.Value("#created-personal-access-token")
	if rotated == "" || rotated == old {
		t.Fatalf("rotation shows %q (old %q)", rotated, old)
	}
	if p.Count("#active-tokens tbody tr") != 1 || p.Count("#inactive-tokens tbody tr") != 1 {
		t.Fatalf("after rotation: %d active, %d inactive", p.Count("#active-tokens tbody tr"), p.Count("#inactive-tokens tbody tr"))
	}
	if r := env.Git("", "ls-remote", env.RepoURL("alice", old, "alice/repo")); r.Err == nil {
		t.Fatal("the old token still works")
	} else if !strings.Contains(r.Stderr, "Access denied") {
		t.Fatalf("old token: %s", r.Stderr)
	}
	env.MustGit("", "ls-remote", env.RepoURL("alice", rotated, "alice/repo"))
}

func TestExpiryIsTodayPlus30AndADateBeyondTheLimitIsAFieldError(t *testing.T) {
	now := time.Now()
	env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.Now = func() time.Time { return now } }})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("alice", "alice-password-1")
	today := auth.Today(now)
	day := func(n int) string { return auth.AddDays(today, n).Format(auth.DateLayout) }

	p.Open(tokensPath)
	if got := p.Value("#personal_access_token_expires_at"); got != day(30) {
		t.Fatalf("default expiry %s, want today + 30 = %s", got, day(30))
	}
	if p.Attr("#personal_access_token_expires_at", "min") != day(1) || p.Attr("#personal_access_token_expires_at", "max") != "" {
		t.Fatalf("bounds without a limit: min %q max %q", p.Attr("#personal_access_token_expires_at", "min"), p.Attr("#personal_access_token_expires_at", "max"))
	}

	if _, err := env.Server.Auth.UpdateSettings(context.Background(), map[string]string{auth.SettingMaxLifetime: "10"}); err != nil {
		t.Fatal(err)
	}
	p.Open(tokensPath)
	if p.Value("#personal_access_token_expires_at") != day(10) || p.Attr("#personal_access_token_expires_at", "max") != day(10) {
		t.Fatalf("with a 10-day limit: value %q max %q", p.Value("#personal_access_token_expires_at"), p.Attr("#personal_access_token_expires_at", "max"))
	}
	for _, bad := range []string{day(11), day(0)} {
		if code := createOnPage(p, "too long", bad, "api"); code != 422 {
			t.Fatalf("expiry %s: status %d", bad, code)
		}
		msg := p.Text("#personal_access_token_expires_at-error")
		if !strings.Contains(msg, day(1)) || !strings.Contains(msg, day(10)) {
			t.Fatalf("expiry %s: field error %q", bad, msg)
		}
		if p.Attr("#personal_access_token_expires_at", "aria-invalid") != "true" || p.Value("#personal_access_token_name") != "too long" {
			t.Fatal("the form does not come back filled in with the field marked")
		}
		if n := countTokens(t, env, u); n != 0 {
			t.Fatalf("expiry %s created %d tokens", bad, n)
		}
	}
	if code := createOnPage(p, "just right", day(10), "api"); code != 200 || !p.Has("#created-personal-access-token") {
		t.Fatalf("today + limit refused: %d %s", code, p.Text("main"))
	}
}

func TestTheTokensPageOffersSudoToAdminsOnly(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	b := browser.Get(t)
	for user, want := range map[string]bool{"alice": false, "root": true} {
		p := b.Page(t, env.URL)
		password := "alice-password-1"
		if user == "root" {
			password = "root-password-for-tests"
		}
		p.SignIn(user, password)
		p.Open(tokensPath)
		if got := p.Has("#personal_access_token_scopes_sudo"); got != want {
			t.Errorf("%s sees sudo: %v", user, got)
		}
		if !strings.Contains(p.Text("label[for=personal_access_token_scopes_read_repository] + p"), "Git-over-HTTP") {
			t.Errorf("%s: scope without its description", user)
		}
	}
}

func TestTheTokensPageInJapanese(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	p := browser.Get(t).Page(t, env.URL)
	p.SetLanguage("ja")
	p.SignIn("alice", "alice-password-1")
	createOnPage(p, "ノートPC", "", "read_repository")
	if got := p.Text("h1"); got != "パーソナルアクセストークン" {
		t.Fatalf("heading %q", got)
	}
	if !strings.Contains(p.Text(".secret"), "二度と表示できません") || !strings.Contains(p.Text("#active-tokens"), "なし") {
		t.Fatalf("page not in Japanese: %q", p.Text("main"))
	}
}
