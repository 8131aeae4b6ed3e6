package web_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// browserTarget is where a browser goes for a Location header: as the
// WHATWG URL parser does, it drops every tab and newline and reads a
// backslash as a slash before resolving against the page's address.
func browserTarget(t *testing.T, base, location string) *url.URL {
	t.Helper()
	cleaned := strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, location)
	b, _ := url.Parse(base)
	u, err := b.Parse(cleaned)
	if err != nil {
		t.Fatalf("Location %q: %v", location, err)
	}
	return u
}

// rawGet sends a GET with c's cookies and returns the answer as it came:
// http.Client refuses to follow a Location it cannot parse, a browser
// does not.
func rawGet(t *testing.T, c *client, path string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, ck := range c.c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func TestRedirectToNeverLeavesTheSiteEvenWithTabsOrNewlines(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	base, _ := url.Parse(env.URL)
	targets := []string{"/%09/evil.example", "/%0A/evil.example", "/%0D/evil.example", "/%09%09/evil.example/x",
		"/%5Cevil.example", "//evil.example", "https://evil.example/"}

	// A signed-in browser sent to the sign-in page goes on at once.
	signedIn := newClient(t, env.URL)
	signedIn.signInHTTP("alice", "alice-password-1")
	for _, to := range targets {
		resp := rawGet(t, signedIn, "/users/sign_in?redirect_to="+to)
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("redirect_to=%s: %d", to, resp.StatusCode)
		}
		if u := browserTarget(t, env.URL, resp.Header.Get("Location")); u.Host != base.Host {
			t.Errorf("signed in, redirect_to=%s: the browser goes to %s (Location %q)", to, u, resp.Header.Get("Location"))
		}
	}
	// The sign-in form carries redirect_to to the redirect after the password.
	for _, to := range targets {
		target, _ := url.QueryUnescape(to)
		c := newClient(t, env.URL)
		resp, _ := c.post("/users/sign_in", url.Values{"authenticity_token": {c.formToken("/users/sign_in")},
			"user[login]": {"alice"}, "user[password]": {"alice-password-1"}, "redirect_to": {target}})
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in with redirect_to=%s: %d", to, resp.StatusCode)
		}
		if u := browserTarget(t, env.URL, resp.Header.Get("Location")); u.Host != base.Host {
			t.Errorf("sign-in, redirect_to=%s: the browser goes to %s (Location %q)", to, u, resp.Header.Get("Location"))
		}
	}
	// A target on the site is kept.
	resp := rawGet(t, signedIn, "/users/sign_in?redirect_to="+url.QueryEscape("/-/profile?tab=1"))
	if resp.Header.Get("Location") != "/-/profile?tab=1" {
		t.Errorf("a local redirect_to is not followed: %q", resp.Header.Get("Location"))
	}
}

func TestTheAdminAreaIs404ForNonAdminsWhateverTheMethodAndPath(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	bob := newClient(t, env.URL)
	bob.signInHTTP("bob", "bob-password-1")
	visitor := newClient(t, env.URL)
	paths := []string{"/admin", "/admin/users", "/admin/users/new", "/admin/users/bob", "/admin/users/bob/block",
		"/admin/users/bob/admin", "/admin/users/bob/impersonation_tokens", "/admin/application_settings",
		"/admin/no/such/page"}
	methods := []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions}
	for who, c := range map[string]*client{"a signed-in user": bob, "a visitor": visitor} {
		for _, m := range methods {
			for _, p := range paths {
				// A form without its token: the answer must not depend on
				// whether the route exists.
				resp, _ := c.do(m, p, url.Values{"admin": {"1"}}, nil)
				if resp.StatusCode != http.StatusNotFound {
					t.Errorf("%s: %s %s = %d, want 404", who, m, p, resp.StatusCode)
				}
			}
		}
	}
	if u, err := env.Server.Auth.UserByUsername(t.Context(), "bob"); err != nil || u.Admin || u.State != auth.UserActive {
		t.Fatalf("bob changed: %+v %v", u, err)
	}
	// An admin still finds the area.
	root := newClient(t, env.URL)
	root.signInHTTP("root", "root-password-for-tests")
	if code, _ := root.get("/admin/users"); code != http.StatusOK {
		t.Fatalf("admin: GET /admin/users = %d", code)
	}
}

// signOut posts the layout's sign-out form.
func (c *client) signOut() {
	c.t.Helper()
	resp, body := c.post("/users/sign_out", url.Values{"authenticity_token": {c.formToken("/-/profile/two_factor_auth")}})
	if resp.StatusCode != http.StatusSeeOther {
		c.t.Fatalf("sign-out: %d\n%s", resp.StatusCode, body)
	}
}

func TestANewTokenIsNeverShownToWhoeverSignsInNextInTheSameBrowser(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	env.User("carol", testenv.UserOpts{Password: "carol-password-1", Admin: true})
	tokenValue := regexp.MustCompile(`id="created-(?:personal-access|impersonation)-token" type="text" value="([^"]+)"`)

	// alice creates a token and leaves before the page that shows it.
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	if resp, _ := c.post(tokensPath, createForm(c.formToken(tokensPath), "ci", "", "read_repository")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d", resp.StatusCode)
	}
	c.signOut()
	c.signInHTTP("bob", "bob-password-1")
	if _, page := c.get(tokensPath); tokenValue.MatchString(page) {
		t.Fatal("bob's tokens page shows the token alice created in this browser")
	}

	// root creates an impersonation token for bob; carol, another admin,
	// signs in next in the same browser.
	c = newClient(t, env.URL)
	c.signInHTTP("root", "root-password-for-tests")
	form := url.Values{"authenticity_token": {c.formToken("/admin/users/bob")}, "impersonation_token[name]": {"support"},
		"impersonation_token[scopes][]": {"read_api"}}
	if resp, body := c.post("/admin/users/bob/impersonation_tokens", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create impersonation token: %d\n%s", resp.StatusCode, body)
	}
	c.signOut()
	c.signInHTTP("carol", "carol-password-1")
	if _, page := c.get("/admin/users/bob"); tokenValue.MatchString(page) {
		t.Fatal("carol's page shows the impersonation token root created in this browser")
	}

	// The creator still sees their own token once.
	c = newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	c.post(tokensPath, createForm(c.formToken(tokensPath), "ci2", "", "read_repository"))
	if _, page := c.get(tokensPath); !tokenValue.MatchString(page) {
		t.Fatal("the creator is not shown the new token")
	}
}

func TestImpersonationTokenFormPostsGitLabsFieldNames(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	bob := env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	root := newClient(t, env.URL)
	root.signInHTTP("root", "root-password-for-tests")
	_, page := root.get("/admin/users/bob")
	for _, field := range []string{`name="impersonation_token[name]"`, `name="impersonation_token[expires_at]"`,
		`name="impersonation_token[scopes][]" value="read_api"`} {
		if !strings.Contains(page, field) {
			t.Errorf("the form has no %s", field)
		}
	}
	tok := root.formToken("/admin/users/bob")
	post := func(expires string, scopes ...string) (*http.Response, string) {
		return root.post("/admin/users/bob/impersonation_tokens", url.Values{"authenticity_token": {tok},
			"impersonation_token[name]": {"support"}, "impersonation_token[expires_at]": {expires},
			"impersonation_token[scopes][]": scopes})
	}
	// A refusal comes back next to GitLab's field.
	resp, body := post("", "no_such_scope")
	if resp.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, `id="impersonation_token_scopes-error"`) {
		t.Fatalf("bad scope: %d\n%s", resp.StatusCode, body)
	}
	if n := countTokens(t, env, bob); n != 0 {
		t.Fatalf("%d tokens after a refused form", n)
	}
	expires := auth.AddDays(auth.Today(time.Now()), 10)
	if resp, body := post(expires.Format(auth.DateLayout), "read_api", "read_repository"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%s", resp.StatusCode, body)
	}
	yes := true
	list, _, err := env.Server.Auth.ListTokens(t.Context(), auth.TokenFilter{UserID: bob.ID, Impersonation: &yes})
	if err != nil || len(list) != 1 {
		t.Fatalf("impersonation tokens: %v %v", list, err)
	}
	if tk := list[0]; tk.Name != "support" || !slices.Equal(tk.Scopes, []string{"read_api", "read_repository"}) ||
		tk.ExpiresAt == nil || !tk.ExpiresAt.Equal(expires) {
		t.Fatalf("the token is not the form's: %+v", tk)
	}
}
