package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/server"
)

// A project page answers as every door does: invisible is 404 for a
// signed-in person, a visitor is asked to sign in, public is open.
func TestProjectPageIsNotFoundForWhoCannotSeeIt(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	carol := env.User("carol", testenv.UserOpts{Password: "carol-password-1"})
	env.Project("alice/secret", "private")
	env.Project("alice/open", "public")
	env.Project("alice/guests", "private")
	env.Member("alice/guests", carol, access.Guest)

	visitor := newClient(t, env.URL)
	if code, _ := visitor.get("/alice/open"); code != http.StatusOK {
		t.Errorf("visitor on a public project: %d", code)
	}
	resp, _ := visitor.do(http.MethodGet, "/alice/secret", nil, nil)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/users/sign_in?redirect_to=") {
		t.Errorf("visitor on a private project: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	c := newClient(t, env.URL)
	c.signInHTTP("carol", "carol-password-1")
	for path, want := range map[string]int{"/alice/secret": 404, "/alice/nothing": 404, "/nobody/x": 404, "/alice/open": 200, "/alice/guests": 200} {
		if code, body := c.get(path); code != want {
			t.Errorf("%s: %d, want %d", path, code, want)
		} else if path == "/alice/guests" && (strings.Contains(body, `id="branches"`) || !strings.Contains(body, "does not allow reading")) {
			t.Error("a guest sees the code of a private project")
		}
	}
	if resp, _ := c.do(http.MethodGet, "/alice/open.git", nil, nil); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/alice/open" {
		t.Errorf("clone URL in a browser: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// The New project form offers and accepts only namespaces where repos
// lets the person create, and the visibility repos allows there.
func TestNewProjectFormKeepsRepossRulesForNamespaceAndVisibility(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	alice := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	ctx := context.Background()
	dev, err := env.Server.Repos.CreateGroup(ctx, "devs", "Devs", access.Private, 0)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := env.Server.Repos.CreateGroup(ctx, "readers", "Readers", access.Public, 0)
	if err != nil {
		t.Fatal(err)
	}
	env.Member("devs", alice, access.Developer)
	env.Member("readers", alice, access.Reporter)
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	_, page := c.get("/projects/new")
	if !strings.Contains(page, ">devs</option>") || strings.Contains(page, ">readers</option>") || !strings.Contains(page, ">alice</option>") {
		t.Fatalf("namespaces offered:\n%s", page)
	}
	tok := c.formToken("/projects/new")
	post := func(ns int64, name, vis string) (int, string) {
		resp, body := c.post("/projects", url.Values{"authenticity_token": {tok}, "project[name]": {name},
			"project[namespace_id]": {itoa(ns)}, "project[visibility]": {vis}})
		return resp.StatusCode, body
	}
	// A group where alice is only a reporter, posted by hand.
	if code, body := post(rep.ID, "sneaky", "public"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "Choose a namespace where you may create projects.") {
		t.Errorf("reporter's group: %d", code)
	}
	// Public in a private group: repos' words next to the field.
	if code, body := post(dev.ID, "loud", "public"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "public is not allowed in a private group.") {
		t.Errorf("public in a private group: %d", code)
	}
	if _, n, _ := env.Server.Repos.List(ctx, repos.ProjectFilter{All: true}); n != 0 {
		t.Fatalf("%d projects created by refused forms", n)
	}
	if code, _ := post(dev.ID, "Quiet One", "private"); code != http.StatusSeeOther {
		t.Fatalf("developer's group: %d", code)
	}
	if _, err := env.Server.Repos.Find(ctx, "devs/quiet-one"); err != nil {
		t.Fatalf("project not created: %v", err)
	}
}

// Changing the password needs the current one, and signs out the other
// browsers while this one stays.
func TestPasswordChangeNeedsTheCurrentPasswordAndEndsOtherSessions(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	here, other := newClient(t, env.URL), newClient(t, env.URL)
	here.signInHTTP("alice", "alice-password-1")
	other.signInHTTP("alice", "alice-password-1")
	tok := here.formToken("/-/user_settings/password/edit")
	change := func(current, next, confirm string) (int, string) {
		resp, body := here.post("/-/user_settings/password", url.Values{"authenticity_token": {tok},
			"user[password]": {current}, "user[new_password]": {next}, "user[password_confirmation]": {confirm}})
		return resp.StatusCode, body
	}
	for _, c := range []struct{ current, next, confirm, msg string }{
		{"wrong-password", "alice-password-2", "alice-password-2", "The current password is not correct."},
		{"alice-password-1", "alice-password-2", "alice-password-3", "The confirmation does not match"},
		{"alice-password-1", "short", "short", "at least 8 characters"},
	} {
		if code, body := change(c.current, c.next, c.confirm); code != http.StatusUnprocessableEntity || !strings.Contains(body, c.msg) {
			t.Errorf("%+v: %d", c, code)
		}
	}
	if code, _ := other.get("/-/user_settings/profile"); code != http.StatusOK {
		t.Fatal("a refused change signed the other browser out")
	}
	if code, _ := change("alice-password-1", "alice-password-2", "alice-password-2"); code != http.StatusSeeOther {
		t.Fatalf("change: %d", code)
	}
	if code, _ := here.get("/-/user_settings/profile"); code != http.StatusOK {
		t.Error("the browser that changed the password was signed out")
	}
	if resp, _ := other.do(http.MethodGet, "/-/user_settings/profile", nil, nil); resp.StatusCode != http.StatusSeeOther {
		t.Error("the other browser is still signed in")
	}
	newClient(t, env.URL).signInHTTP("alice", "alice-password-2")
}

// The email changes only with the password; the language chosen on the
// profile writes the next page in it.
func TestProfileEmailNeedsThePasswordAndLanguageTakesEffect(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	tok := c.formToken("/-/user_settings/profile")
	form := func(email, pw, lang string) url.Values {
		return url.Values{"authenticity_token": {tok}, "user[name]": {"Alice"}, "user[email]": {email},
			"user[validation_password]": {pw}, "user[preferred_language]": {lang}}
	}
	if resp, _ := c.post("/-/user_settings/profile", form("new@example.com", "", "")); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("email change without the password: %d", resp.StatusCode)
	}
	if resp, _ := c.post("/-/user_settings/profile", form("alice@example.com", "", "xx")); resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("unknown language: %d", resp.StatusCode)
	}
	if got, _ := env.Server.Auth.User(context.Background(), u.ID); got.Email != "alice@example.com" || got.PreferredLanguage != "" {
		t.Fatalf("refused forms changed %s / %q", got.Email, got.PreferredLanguage)
	}
	if resp, _ := c.post("/-/user_settings/profile", form("new@example.com", "alice-password-1", "ja")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("profile update: %d", resp.StatusCode)
	}
	got, _ := env.Server.Auth.User(context.Background(), u.ID)
	if got.Email != "new@example.com" || got.PreferredLanguage != "ja" {
		t.Fatalf("saved %s / %q", got.Email, got.PreferredLanguage)
	}
	if _, body := c.get("/-/user_settings/profile"); !strings.Contains(body, `<html lang="ja">`) || !strings.Contains(body, "プロフィールを編集") {
		t.Error("the next page is not in Japanese")
	}
}

var secretField = regexp.MustCompile(`id="otp_secret" type="text" value="([A-Z2-7]+)"`)

// Disabling two-factor authentication needs the password and a code; it
// ends the other sessions. Enabling ends them too.
func TestTwoFactorChangesNeedPasswordAndCodeAndEndOtherSessions(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	here, other := newClient(t, env.URL), newClient(t, env.URL)
	here.signInHTTP("alice", "alice-password-1")
	other.signInHTTP("alice", "alice-password-1")
	tok := here.formToken("/-/profile/two_factor_auth")
	_, page := here.post("/-/profile/two_factor_auth/setup", url.Values{"authenticity_token": {tok}})
	m := secretField.FindStringSubmatch(page)
	sealed := regexp.MustCompile(`name="enrolment" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil || sealed == nil {
		t.Fatalf("set-up page:\n%s", page)
	}
	enrolment := html.UnescapeString(sealed[1])
	now := time.Now()
	code, _ := totp.GenerateCode(m[1], now)
	resp, _ := here.post("/-/profile/two_factor_auth", url.Values{"authenticity_token": {tok}, "enrolment": {enrolment},
		"pin_code": {code}, "current_password": {"wrong-password"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("enable with a wrong password: %d", resp.StatusCode)
	}
	resp, _ = here.post("/-/profile/two_factor_auth", url.Values{"authenticity_token": {tok}, "enrolment": {enrolment},
		"pin_code": {code}, "current_password": {"alice-password-1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("enable: %d", resp.StatusCode)
	}
	if got, _ := env.Server.Auth.User(context.Background(), u.ID); !got.OTPEnabled {
		t.Fatal("not enabled")
	}
	if r, _ := other.do(http.MethodGet, "/-/profile/two_factor_auth", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Error("enabling left the other session signed in")
	}
	if code, _ := here.get("/-/profile/two_factor_auth"); code != http.StatusOK {
		t.Fatal("enabling signed this browser out")
	}

	next, _ := totp.GenerateCode(m[1], now.Add(30*time.Second))
	for _, bad := range []url.Values{
		{"current_password": {"alice-password-1"}, "pin_code": {"000000"}},
		{"current_password": {"wrong-password"}, "pin_code": {next}},
	} {
		bad.Set("authenticity_token", tok)
		if r, _ := here.post("/-/profile/two_factor_auth/disable", bad); r.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("disable with %v: %d", bad, r.StatusCode)
		}
	}
	if got, _ := env.Server.Auth.User(context.Background(), u.ID); !got.OTPEnabled {
		t.Fatal("a refused form disabled 2FA")
	}
	resp, _ = here.post("/-/profile/two_factor_auth/disable", url.Values{"authenticity_token": {tok},
		"current_password": {"alice-password-1"}, "pin_code": {next}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("disable: %d", resp.StatusCode)
	}
	if got, _ := env.Server.Auth.User(context.Background(), u.ID); got.OTPEnabled {
		t.Fatal("still enabled")
	}
}

// The admin area: 404 for everyone but admins (POSTs too, nothing
// changes); users created, blocked (not oneself) and unblocked; settings
// validated as `gitgate settings set` validates them.
func TestAdminAreaManagesUsersAndSettingsAndHidesFromOthers(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	ctx := context.Background()

	bob := newClient(t, env.URL)
	bob.signInHTTP("bob", "bob-password-1")
	tok := bob.formToken("/-/user_settings/profile")
	for _, path := range []string{"/admin/users", "/admin/users/bob/admin", "/admin/application_settings"} {
		resp, _ := bob.post(path, url.Values{"authenticity_token": {tok}, "admin": {"1"}, "user[username]": {"mallory"},
			"user[email]": {"m@example.com"}, "setting[impersonation_enabled]": {"false"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("non-admin POST %s: %d", path, resp.StatusCode)
		}
	}
	if u, _ := env.Server.Auth.UserByUsername(ctx, "bob"); u.Admin {
		t.Fatal("a non-admin made himself admin")
	}
	if st, _ := env.Server.Auth.Settings(ctx); !st.ImpersonationEnabled {
		t.Fatal("a non-admin changed a setting")
	}

	root := newClient(t, env.URL)
	root.signInHTTP("root", "root-password-for-tests")
	tok = root.formToken("/admin/users")
	resp, body := root.post("/admin/users", url.Values{"authenticity_token": {tok}, "user[username]": {"bad name"}, "user[email]": {"x@example.com"}})
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "may contain only letters") {
		t.Errorf("bad username: %d", resp.StatusCode)
	}
	resp, _ = root.post("/admin/users", url.Values{"authenticity_token": {tok}, "user[username]": {"carol"},
		"user[email]": {"carol@example.com"}, "user[password]": {"carol-password-1"}})
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/admin/users/carol" {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	carol := newClient(t, env.URL)
	carol.signInHTTP("carol", "carol-password-1")

	root.post("/admin/users/carol/block", url.Values{"authenticity_token": {tok}})
	if u, _ := env.Server.Auth.UserByUsername(ctx, "carol"); u.State != auth.UserBlocked {
		t.Fatal("not blocked")
	}
	if r, _ := carol.do(http.MethodGet, "/-/user_settings/profile", nil, nil); r.StatusCode != http.StatusSeeOther {
		t.Errorf("a blocked user's session still works: %d", r.StatusCode)
	}
	root.post("/admin/users/carol/unblock", url.Values{"authenticity_token": {tok}})
	root.post("/admin/users/root/block", url.Values{"authenticity_token": {tok}})
	if u, _ := env.Server.Auth.UserByUsername(ctx, "root"); u.State != auth.UserActive {
		t.Fatal("an admin blocked himself")
	}
	root.post("/admin/users/carol/admin", url.Values{"authenticity_token": {tok}, "admin": {"1"}})
	if u, _ := env.Server.Auth.UserByUsername(ctx, "carol"); !u.Admin || u.State != auth.UserActive {
		t.Fatalf("carol: admin %v, %s", u.Admin, u.State)
	}

	settings := func(lifetime, prefix string) (int, string) {
		resp, body := root.post("/admin/application_settings", url.Values{"authenticity_token": {tok},
			"setting[max_personal_access_token_lifetime]": {lifetime}, "setting[personal_access_token_prefix]": {prefix},
			"setting[require_personal_access_token_expiry]": {"true"}, "setting[enforce_personal_access_token_expiration]": {"true"},
			"setting[password_authentication_enabled_for_git]": {"true"}})
		return resp.StatusCode, body
	}
	// impersonation_enabled is left unchecked: the valid post turns it off.
	if code, body := settings("0", "glpat-"); code != http.StatusUnprocessableEntity || !strings.Contains(body, "must be a number of days") {
		t.Errorf("lifetime 0: %d", code)
	}
	if code, _ := settings("30", "bad prefix!"); code != http.StatusUnprocessableEntity {
		t.Errorf("bad prefix: %d", code)
	}
	if st, _ := env.Server.Auth.Settings(ctx); st.MaxLifetimeDays != 0 || st.TokenPrefix != "glpat-" || !st.ImpersonationEnabled {
		t.Fatalf("refused forms changed the settings: %+v", st)
	}
	if code, _ := settings("30", "corp-"); code != http.StatusSeeOther {
		t.Fatalf("valid settings: %d", code)
	}
	st, _ := env.Server.Auth.Settings(ctx)
	if st.MaxLifetimeDays != 30 || st.TokenPrefix != "corp-" || st.ImpersonationEnabled {
		t.Fatalf("settings saved: %+v", st)
	}
	// The expiry warning thresholds are a list, validated by auth.
	warn := func(list string) int {
		resp, _ := root.post("/admin/application_settings", url.Values{"authenticity_token": {tok},
			"setting[max_personal_access_token_lifetime]": {"30"}, "setting[personal_access_token_prefix]": {"corp-"},
			"setting[require_personal_access_token_expiry]": {"true"}, "setting[enforce_personal_access_token_expiration]": {"true"},
			"setting[password_authentication_enabled_for_git]": {"true"}, "setting[token_expiry_warning_days]": {list}})
		return resp.StatusCode
	}
	if code := warn("7,7"); code != http.StatusUnprocessableEntity {
		t.Errorf("warning days 7,7: %d", code)
	}
	if code := warn("60, 30,7"); code != http.StatusSeeOther {
		t.Errorf("warning days 60,30,7: %d", code)
	}
	if st, _ := env.Server.Auth.Settings(ctx); !slices.Equal(st.ExpiryWarningDays, []int{60, 30, 7}) {
		t.Errorf("warning days saved: %v", st.ExpiryWarningDays)
	}
	if _, body := root.get("/admin/users/bob"); !strings.Contains(body, `id="impersonation-disabled"`) {
		t.Error("the user page does not say impersonation is off")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// The projects list shows a project's last push: a push over HTTP moves
// it from the creation day to the push day.
func TestProjectsListShowsTheDayOfTheLastPush(t *testing.T) {
	var mu sync.Mutex
	now := time.Now().UTC().AddDate(0, 0, -3)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.Now = clock }})
	alice := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Project("alice/site", "private")
	created := clock().Format(auth.DateLayout)
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	row := regexp.MustCompile(`(?s)<tr data-project="alice/site">.*?</tr>`)
	if _, body := c.get("/"); !strings.Contains(row.FindString(body), created) {
		t.Fatalf("before a push the list shows:\n%s", row.FindString(body))
	}
	mu.Lock()
	now = now.AddDate(0, 0, 2)
	mu.Unlock()
	pushed := clock().Format(auth.DateLayout)
	token := env.Token(alice, "write_repository")
	env.MustGit(env.WorkTree(), "push", "-q", env.RepoURL("alice", token, "alice/site"), "main")
	if _, body := c.get("/"); !strings.Contains(row.FindString(body), pushed) {
		t.Fatalf("after a push on %s the list shows:\n%s", pushed, row.FindString(body))
	}
}
