package web_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gitgate/gitgate/internal/browser"
	"github.com/gitgate/gitgate/internal/testenv"
)

func TestSignInWithPasswordOpensASessionAndSignOutEndsIt(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	p := browser.Get(t).Page(t, env.URL)

	if code := p.SignIn("alice", "alice-password-1"); code != 200 {
		t.Fatalf("after sign-in: status %d", code)
	}
	if !p.SignedIn() || p.Text(".whoami") != "alice" {
		t.Fatalf("not signed in as alice; page at %s", p.Path())
	}
	if code := p.Press("form.signout button"); code != 200 || p.SignedIn() {
		t.Fatalf("sign out: status %d, still signed in: %v", code, p.SignedIn())
	}
	if !strings.Contains(p.Text(".flash"), "signed out") {
		t.Fatalf("no signed-out notice: %q", p.Text("main"))
	}
	// The session is gone, not only the cookie: a signed-in page now
	// asks for a sign-in.
	p.Open("/-/user_settings/personal_access_tokens")
	if !strings.HasPrefix(p.Path(), "/users/sign_in") {
		t.Fatalf("after sign-out a signed-in page shows %s", p.Path())
	}
}

func TestSignInWithEmailWorksAsWithUsername(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("erin", testenv.UserOpts{Password: "erin-password-1"})
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("ERIN@example.com", "erin-password-1")
	if !p.SignedIn() {
		t.Fatalf("sign-in with email failed: %s", p.Text("main"))
	}
}

func TestWrongPasswordShowsAMessageAndOpensNoSession(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	p := browser.Get(t).Page(t, env.URL)

	p.SignIn("bob", "not-his-password")
	if p.SignedIn() {
		t.Fatal("signed in with a wrong password")
	}
	if got := p.Text(".flash.alert"); got != "Invalid login or password." {
		t.Fatalf("message %q", got)
	}
	// The login stays filled in, the password does not.
	if p.Value("#user_login") != "bob" || p.Value("#user_password") != "" {
		t.Fatalf("form after failure: login %q password %q", p.Value("#user_login"), p.Value("#user_password"))
	}
	p.Open("/-/user_settings/personal_access_tokens")
	if !strings.HasPrefix(p.Path(), "/users/sign_in") {
		t.Fatalf("no sign-in asked after a failed sign-in: %s", p.Path())
	}
}

func TestBlockedUsersBotsAndPasswordlessUsersCannotSignIn(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	blocked := env.User("blocky", testenv.UserOpts{Password: "blocky-password-1"})
	if _, err := env.Server.Auth.SetBlocked(context.Background(), blocked.ID, true); err != nil {
		t.Fatal(err)
	}
	env.User("robot", testenv.UserOpts{Bot: true})
	env.User("tokenonly", testenv.UserOpts{})
	b := browser.Get(t)
	for _, c := range []struct{ login, password string }{
		{"blocky", "blocky-password-1"},
		{"robot", "anything-at-all"},
		{"tokenonly", "anything-at-all"},
	} {
		p := b.Page(t, env.URL)
		p.SignIn(c.login, c.password)
		if p.SignedIn() {
			t.Errorf("%s signed in", c.login)
		}
		if got := p.Text(".flash.alert"); got != "Invalid login or password." {
			t.Errorf("%s: message %q", c.login, got)
		}
	}
}

func TestBlockingAUserEndsTheirOpenSessionAtOnce(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("carol", testenv.UserOpts{Password: "carol-password-1"})
	p := browser.Get(t).Page(t, env.URL)
	p.SignIn("carol", "carol-password-1")
	if !p.SignedIn() {
		t.Fatal("not signed in")
	}
	if _, err := env.Server.Auth.SetBlocked(context.Background(), u.ID, true); err != nil {
		t.Fatal(err)
	}
	p.Open("/-/user_settings/personal_access_tokens")
	if p.SignedIn() || !strings.HasPrefix(p.Path(), "/users/sign_in") {
		t.Fatalf("blocked user still signed in at %s", p.Path())
	}
}

func TestTwoFactorSignInAsksForACodeAndARecoveryCodeWorksOnce(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("dave", testenv.UserOpts{Password: "dave-password-1"})
	enrol, err := env.Server.Auth.EnableTOTP(context.Background(), u.ID, "")
	if err != nil {
		t.Fatal(err)
	}
	b := browser.Get(t)

	// Password, then a TOTP code computed from the secret.
	p := b.Page(t, env.URL)
	p.SignIn("dave", "dave-password-1")
	if p.SignedIn() || p.Path() != "/users/sign_in/two_factor" {
		t.Fatalf("after the password: signed in %v at %s", p.SignedIn(), p.Path())
	}
	// The half-signed state opens no page.
	p.Open("/-/user_settings/personal_access_tokens")
	if p.SignedIn() {
		t.Fatal("a password alone opened a page of a 2FA user")
	}
	p.Open("/users/sign_in/two_factor")
	p.Fill("#user_otp_attempt", "000000")
	p.Press("form button[type=submit]")
	if p.SignedIn() || p.Text(".flash.alert") != "Invalid two-factor code." {
		t.Fatalf("wrong code: signed in %v, message %q", p.SignedIn(), p.Text("main"))
	}
	code, err := totp.GenerateCode(enrol.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	p.Fill("#user_otp_attempt", code)
	p.Press("form button[type=submit]")
	if !p.SignedIn() {
		t.Fatalf("TOTP code refused: %s", p.Text("main"))
	}

	// A recovery code works once, not twice.
	recovery := enrol.RecoveryCodes[0]
	for i, want := range []bool{true, false} {
		p := b.Page(t, env.URL)
		p.SignIn("dave", "dave-password-1")
		p.Fill("#user_otp_attempt", recovery)
		p.Press("form button[type=submit]")
		if p.SignedIn() != want {
			t.Fatalf("recovery code use %d: signed in %v, want %v", i+1, p.SignedIn(), want)
		}
	}
}

func TestPagesFollowAcceptLanguageJapanese(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	p := browser.Get(t).Page(t, env.URL)
	p.SetLanguage("ja,en;q=0.5")
	p.Open("/")
	if got := p.Text("h1"); got != "gitgate にサインイン" {
		t.Fatalf("heading %q", got)
	}
	if p.Attr("html", "lang") != "ja" || p.Text("label[for=user_password]") != "パスワード" {
		t.Fatalf("not Japanese: lang %q", p.Attr("html", "lang"))
	}
}
