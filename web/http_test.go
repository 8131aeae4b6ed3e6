package web_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// client is a browser without a browser: a cookie jar and no automatic
// redirects, for tests of status codes, headers and cookies.
type client struct {
	t    *testing.T
	base string
	c    *http.Client
	// responses are the bodies and headers of every answer so far.
	responses []string
}

func newClient(t *testing.T, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// do sends a request and returns the status and body; it records the
// whole answer (headers and body).
func (c *client) do(method, path string, form url.Values, header map[string]string) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := c.c.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var rec strings.Builder
	_ = resp.Header.Write(&rec)
	c.responses = append(c.responses, rec.String()+"\n"+string(b))
	return resp, string(b)
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	resp, body := c.do(http.MethodGet, path, nil, nil)
	return resp.StatusCode, body
}

func (c *client) post(path string, form url.Values) (*http.Response, string) {
	c.t.Helper()
	return c.do(http.MethodPost, path, form, nil)
}

var tokenField = regexp.MustCompile(`name="authenticity_token" value="([^"]+)"`)

// formToken reads the form token of a page.
func (c *client) formToken(path string) string {
	c.t.Helper()
	_, body := c.get(path)
	m := tokenField.FindStringSubmatch(body)
	if m == nil {
		c.t.Fatalf("no form token on %s", path)
	}
	return m[1]
}

// signInHTTP signs in with a password (no 2FA) and fails unless a
// session cookie came back.
func (c *client) signInHTTP(login, password string) {
	c.t.Helper()
	resp, body := c.post("/users/sign_in", url.Values{"authenticity_token": {c.formToken("/users/sign_in")},
		"user[login]": {login}, "user[password]": {password}})
	if resp.StatusCode != http.StatusSeeOther || sessionCookie(resp) == nil {
		c.t.Fatalf("sign-in as %s: %d\n%s", login, resp.StatusCode, body)
	}
}

func sessionCookie(resp *http.Response) *http.Cookie {
	for _, ck := range resp.Cookies() {
		if ck.Name == "_gitgate_session" {
			return ck
		}
	}
	return nil
}

// countTokens counts a user's personal tokens in the database.
func countTokens(t *testing.T, env *testenv.Env, u *auth.User) int {
	t.Helper()
	_, n, err := env.Server.Auth.ListTokens(context.Background(), auth.TokenFilter{UserID: u.ID})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func createForm(token, name, expires string, scopes ...string) url.Values {
	return url.Values{"authenticity_token": {token}, "personal_access_token[name]": {name},
		"personal_access_token[expires_at]": {expires}, "personal_access_token[scopes][]": scopes}
}

const tokensPath = "/-/user_settings/personal_access_tokens"

func TestFormPostsWithoutTheFormTokenOrFromAnotherSiteChangeNothing(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	good := c.formToken(tokensPath)
	expires := auth.AddDays(auth.Today(time.Now()), 10).Format(auth.DateLayout)

	for name, tc := range map[string]struct {
		token  string
		header map[string]string
	}{
		"no form token":   {"", nil},
		"wrong token":     {"forged-token", nil},
		"another visitor": {newClient(t, env.URL).formToken("/users/sign_in"), nil},
		"cross-site browser post with a good token": {good, map[string]string{
			"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}},
		"cross-origin post without fetch metadata": {good, map[string]string{"Origin": "https://evil.example"}},
	} {
		resp, body := c.do(http.MethodPost, tokensPath, createForm(tc.token, "forged", expires, "api"), tc.header)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Nothing was changed") && !strings.Contains(body, "nothing was changed") {
			t.Errorf("%s: %d\n%s", name, resp.StatusCode, body)
		}
		if n := countTokens(t, env, u); n != 0 {
			t.Fatalf("%s: %d tokens created", name, n)
		}
	}
	// Sign-out is a form too: a forged one leaves the session alone.
	c.do(http.MethodPost, "/users/sign_out", url.Values{}, nil)
	if code, _ := c.get(tokensPath); code != http.StatusOK {
		t.Fatalf("a sign-out without the form token signed out: %d", code)
	}
	// The same form with its token works.
	if resp, body := c.post(tokensPath, createForm(good, "real", expires, "api")); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("good post: %d\n%s", resp.StatusCode, body)
	}
	if n := countTokens(t, env, u); n != 1 {
		t.Fatalf("%d tokens after the good post", n)
	}
}

func TestTheNewTokenIsInOneResponseOnly(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	resp, _ := c.post(tokensPath, createForm(c.formToken(tokensPath), "ci", "", "read_repository"))
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != tokensPath {
		t.Fatalf("create: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	first := len(c.responses)
	code, page := c.get(tokensPath)
	m := regexp.MustCompile(`id="created-personal-access-token" type="text" value="([^"]+)"`).FindStringSubmatch(page)
	if code != http.StatusOK || m == nil {
		t.Fatalf("the page after creating shows no token: %d", code)
	}
	secret := m[1]
	if tk, err := env.Server.Auth.TokenBySecret(context.Background(), secret); err != nil || tk.UserID != u.ID || tk.Name != "ci" {
		t.Fatalf("the token shown is not the one created: %v %v", tk, err)
	}
	last := c.responses[len(c.responses)-1]
	if !strings.Contains(last, "Cache-Control: no-store") {
		t.Fatal("the page with the token may be cached")
	}
	// Reload, other pages, and the creating response itself: never again.
	c.get(tokensPath)
	c.get("/")
	c.get(tokensPath + "/1/revoke")
	for i, r := range c.responses {
		if i != first && strings.Contains(r, secret) {
			t.Fatalf("response %d of %d contains the token:\n%s", i+1, len(c.responses), r)
		}
	}
}

func TestADatabaseOutageIsA503PageNeverASignOutOrAWrongPassword(t *testing.T) {
	proxy := testenv.StartProxy(t)
	via := proxy.Via(testdb.URL(t, store.Postgres))
	env := testenv.Start(t, testenv.Options{Dialect: store.Postgres, Configure: func(c *server.Config) { c.DatabaseURL = via }})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	visitor := newClient(t, env.URL)
	signInToken := visitor.formToken("/users/sign_in")

	proxy.Break()
	resp, body := c.do(http.MethodGet, tokensPath, nil, nil)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "cannot reach its database") {
		t.Fatalf("page during the outage: %d\n%s", resp.StatusCode, body)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "_gitgate_session" {
			t.Fatal("the outage cleared the session cookie")
		}
	}
	resp, body = visitor.post("/users/sign_in", url.Values{"authenticity_token": {signInToken},
		"user[login]": {"alice"}, "user[password]": {"alice-password-1"}})
	if resp.StatusCode != http.StatusServiceUnavailable || strings.Contains(body, "Invalid login") {
		t.Fatalf("sign-in during the outage: %d\n%s", resp.StatusCode, body)
	}
	proxy.Restore()
	if code, _ := c.get(tokensPath); code != http.StatusOK {
		t.Fatalf("after the outage the session does not work: %d", code)
	}
}

// clock is a settable time source for the server.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSessionsEndWhenIdleTooLongOrTooOld(t *testing.T) {
	clk := &clock{now: time.Now()}
	env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) {
		c.Now = clk.Now
		c.SessionIdleTimeout = time.Hour
		c.SessionLifetime = 3 * time.Hour
	}})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})

	idle := newClient(t, env.URL)
	idle.signInHTTP("alice", "alice-password-1")
	active := newClient(t, env.URL)
	active.signInHTTP("alice", "alice-password-1")

	// Active every 50 minutes: within the idle lifetime each time.
	for i := 0; i < 3; i++ {
		clk.Add(50 * time.Minute)
		if code, _ := active.get(tokensPath); code != http.StatusOK {
			t.Fatalf("active session ended after %d×50 min: %d", i+1, code)
		}
	}
	if code, _ := idle.get(tokensPath); code != http.StatusSeeOther {
		t.Fatalf("a session idle for 150 min with a 60 min idle lifetime still works: %d", code)
	}
	clk.Add(35 * time.Minute) // 185 minutes after sign-in
	if code, _ := active.get(tokensPath); code != http.StatusSeeOther {
		t.Fatalf("a session older than its 3 h lifetime still works: %d", code)
	}
}

func TestEndOtherSessionsSignsOutEveryOtherBrowserOfTheUser(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.User("bob", testenv.UserOpts{Password: "bob-password-1"})
	here, there, bob := newClient(t, env.URL), newClient(t, env.URL), newClient(t, env.URL)
	here.signInHTTP("alice", "alice-password-1")
	there.signInHTTP("alice", "alice-password-1")
	bob.signInHTTP("bob", "bob-password-1")
	keep := ""
	base, _ := url.Parse(env.URL)
	for _, ck := range here.c.Jar.Cookies(base) {
		if ck.Name == "_gitgate_session" {
			keep = ck.Value
		}
	}
	if err := env.Server.Auth.EndOtherSessions(context.Background(), u.ID, keep); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		cl   *client
		want int
	}{"this browser": {here, 200}, "the other browser": {there, 303}, "another user": {bob, 200}} {
		if code, _ := c.cl.get(tokensPath); code != c.want {
			t.Errorf("%s: %d, want %d", name, code, c.want)
		}
	}
}

func TestCookiesAreSecureWhenTheExternalURLIsHTTPS(t *testing.T) {
	for _, external := range []string{"", "https://git.example.com"} {
		env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.ExternalURL = external }})
		env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
		c := newClient(t, env.URL)
		resp, _ := c.post("/users/sign_in", url.Values{"authenticity_token": {c.formToken("/users/sign_in")},
			"user[login]": {"alice"}, "user[password]": {"alice-password-1"}})
		ck := sessionCookie(resp)
		if ck == nil {
			t.Fatalf("%q: no session cookie", external)
		}
		if !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Secure != (external != "") {
			t.Errorf("external URL %q: HttpOnly %v SameSite %v Secure %v", external, ck.HttpOnly, ck.SameSite, ck.Secure)
		}
	}
}

func TestWrongSignInsCountTowardTheGitDoorsLockout(t *testing.T) {
	env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.AuthLockoutFailures = 3 }})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	env.Project("alice/repo", "private")
	token := env.Token(u, "read_repository")
	c := newClient(t, env.URL)
	for i := 0; i < 3; i++ {
		c.post("/users/sign_in", url.Values{"authenticity_token": {c.formToken("/users/sign_in")},
			"user[login]": {"alice"}, "user[password]": {"wrong"}})
	}
	// Banned: the right password on the page, and a good token on Git.
	resp, body := c.post("/users/sign_in", url.Values{"authenticity_token": {c.formToken("/users/sign_in")},
		"user[login]": {"alice"}, "user[password]": {"alice-password-1"}})
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "Too many failed authentication attempts") {
		t.Fatalf("sign-in from a banned address: %d", resp.StatusCode)
	}
	r := env.Git(t.TempDir(), "ls-remote", env.RepoURL("alice", token, "alice/repo"))
	if r.Err == nil || !strings.Contains(r.Stderr, "Too many failed authentication attempts") {
		t.Fatalf("git from the banned address: %v\n%s", r.Err, r.Stderr)
	}
}

func TestUnknownPagesAreThe404PageAndGitAndTheAPIStillAnswer(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	c := newClient(t, env.URL)
	code, body := c.get("/no/such/page")
	if code != http.StatusNotFound || !strings.Contains(body, "Page not found") || !strings.Contains(body, "<html") {
		t.Fatalf("unknown page: %d", code)
	}
	if code, body := c.get("/api/v4/version"); code != http.StatusUnauthorized || !strings.Contains(body, "401") {
		t.Fatalf("API: %d %s", code, body)
	}
	if code, _ := c.get("/-/health"); code != http.StatusOK {
		t.Fatalf("health: %d", code)
	}
	if code, _ := c.get("/root/none.git/info/refs?service=git-upload-pack"); code != http.StatusUnauthorized {
		t.Fatalf("Git route: %d", code)
	}
	if code, body := c.get("/"); code != http.StatusOK || !strings.Contains(body, `name="user[login]"`) {
		t.Fatalf("/ for a visitor: %d", code)
	}
}

// syncBuffer is a log destination tests can read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func TestNoPasswordTokenOrSessionReachesTheLog(t *testing.T) {
	var buf syncBuffer
	log, err := logging.New(&buf, "text", "debug")
	if err != nil {
		t.Fatal(err)
	}
	env := testenv.Start(t, testenv.Options{Log: log})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	c := newClient(t, env.URL)
	c.post("/users/sign_in", url.Values{"authenticity_token": {c.formToken("/users/sign_in")},
		"user[login]": {"alice"}, "user[password]": {"wrong-secret-password"}})
	c.signInHTTP("alice", "alice-password-1")
	c.post(tokensPath, createForm(c.formToken(tokensPath), "ci", "", "api"))
	_, page := c.get(tokensPath)
	secret := regexp.MustCompile(`value="(glpat-[^"]+)"`).FindStringSubmatch(page)
	if secret == nil {
		t.Fatal("no token shown")
	}
	c.post(tokensPath, url.Values{"personal_access_token[name]": {"no form token"}}) // a 403, logged
	base, _ := url.Parse(env.URL)
	var session string
	for _, ck := range c.c.Jar.Cookies(base) {
		if ck.Name == "_gitgate_session" {
			session = ck.Value
		}
	}
	logged := buf.String()
	if !strings.Contains(logged, "web sign-in failed") || !strings.Contains(logged, "form token") {
		t.Fatalf("the log lacks the events of the test:\n%s", logged)
	}
	for what, s := range map[string]string{"wrong password": "wrong-secret-password", "password": "alice-password-1",
		"token": secret[1], "session": session} {
		if s == "" || strings.Contains(logged, s) {
			t.Errorf("the %s (%q) is in the log", what, s)
		}
	}
}

func TestTheUsersLanguageWinsOverTheBrowsers(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	c := newClient(t, env.URL)
	c.signInHTTP("alice", "alice-password-1")
	english := map[string]string{"Accept-Language": "en-US,en;q=0.9"}
	if _, body := c.do(http.MethodGet, tokensPath, nil, english); !strings.Contains(body, `<html lang="en">`) {
		t.Fatal("not English before a choice")
	}
	if err := env.Server.Auth.SetPreferredLanguage(context.Background(), u.ID, "ja"); err != nil {
		t.Fatal(err)
	}
	resp, body := c.do(http.MethodGet, tokensPath, nil, english)
	if !strings.Contains(body, `<html lang="ja">`) || !strings.Contains(body, "パーソナルアクセストークン") || resp.Header.Get("Content-Language") != "ja" {
		t.Fatal("the user's choice of Japanese is not followed")
	}
}

// Signing in again in a browser ends the session it had: an old session
// secret copied from it (or left in another tab's memory) opens nothing.
func TestSigningInAgainEndsTheBrowsersOlderSession(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	browser := newClient(t, env.URL)
	browser.signInHTTP("alice", "alice-password-1")
	base, _ := url.Parse(env.URL)
	session := func() string {
		for _, ck := range browser.c.Jar.Cookies(base) {
			if ck.Name == "_gitgate_session" {
				return ck.Value
			}
		}
		return ""
	}
	old := session()
	// A sign-in form left open in another tab, posted while signed in.
	resp, body := browser.post("/users/sign_in", url.Values{"authenticity_token": {browser.formToken(tokensPath)},
		"user[login]": {"alice"}, "user[password]": {"alice-password-1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("signing in again: %d\n%s", resp.StatusCode, body)
	}
	if session() == old || session() == "" {
		t.Fatal("signing in again kept the same session secret")
	}
	if _, _, err := env.Server.Auth.SessionUser(context.Background(), old); err == nil {
		t.Fatal("the older session still opens after signing in again")
	}
	if code, _ := browser.get(tokensPath); code != http.StatusOK {
		t.Fatalf("the new session: %d", code)
	}
}
