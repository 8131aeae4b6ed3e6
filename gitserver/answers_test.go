package gitserver_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitserver"
	"github.com/gitgate/gitgate/store"
)

// tokenFor creates a token for user with the given scopes (and optional
// expiry date, possibly in the past).
func (f *fixture) tokenFor(t *testing.T, user string, expires *time.Time, scopes ...string) string {
	t.Helper()
	c, err := f.Server.Auth.CreateToken(context.Background(), auth.NewToken{UserID: f.users[user].ID, Name: "t",
		Scopes: scopes, ExpiresAt: expires, AllowPastExpiry: expires != nil})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	return c.Secret
}

func yesterday() *time.Time {
	d := auth.AddDays(auth.Today(time.Now()), -1)
	return &d
}

func basic(user, secret string) http.Header {
	r, _ := http.NewRequest("GET", "/", nil)
	r.SetBasicAuth(user, secret)
	return http.Header{"Authorization": r.Header["Authorization"]}
}

const (
	fetch = "git-upload-pack"
	push  = "git-receive-pack"
)

// answer is what a door says: a status code and the one line git prints.
type answer struct {
	code int
	line string
}

var (
	ok            = answer{200, ""}
	challenge     = answer{401, access.ErrUnauthenticated.Error()}
	denied        = answer{401, gitserver.MsgAccessDenied}
	notFound      = answer{404, access.MsgNotFound}
	noPush        = answer{403, access.MsgNoPush}
	noDownload    = answer{403, access.MsgNoDownload}
	needReadRepo  = answer{403, "Your token lacks the read_repository scope, which is required to download code from this project."}
	needWriteRepo = answer{403, "Your token lacks the write_repository scope, which is required to push code to this project."}
)

// TestAnswersFollowTheSpec drives info/refs (the request where git
// learns whether it may go on) for every class of caller of
// docs/permissions.md#git-over-http, and checks status, challenge and the
// text/plain line.
func TestAnswersFollowTheSpec(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	scoped := map[string]string{}
	for _, s := range []string{auth.ScopeReadRepository, auth.ScopeWriteRepository, auth.ScopeReadAPI, auth.ScopeReadUser, auth.ScopeAPI} {
		scoped["developer/"+s] = f.tokenFor(t, "developer", nil, s)
		scoped["outsider/"+s] = f.tokenFor(t, "outsider", nil, s)
	}
	expired := f.tokenFor(t, "developer", yesterday(), auth.ScopeWriteRepository)
	revoked := f.tokenFor(t, "developer", nil, auth.ScopeWriteRepository)
	if _, err := f.Server.Auth.RevokeTokenBySecret(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	tok := func(user string) http.Header { return basic("anything", f.tokens[user]) }
	sc := func(user, scope string) http.Header { return basic("x", scoped[user+"/"+scope]) }
	type row struct {
		who     string
		cred    http.Header
		repo    string
		service string
		want    answer
	}
	var rows []row
	add := func(who string, cred http.Header, service string, pub, internal, private answer) {
		rows = append(rows, row{who, cred, "grp/public", service, pub}, row{who, cred, "grp/internal", service, internal},
			row{who, cred, "grp/private", service, private})
	}
	add("anonymous", nil, fetch, ok, challenge, challenge)
	add("anonymous", nil, push, challenge, challenge, challenge)
	rows = append(rows, row{"anonymous", nil, "grp/missing", fetch, challenge})
	rows = append(rows, row{"outsider token", tok("outsider"), "grp/missing", fetch, notFound})
	add("guest", tok("guest"), fetch, ok, ok, noDownload)
	add("guest", tok("guest"), push, noPush, noPush, noPush)
	add("reporter", tok("reporter"), fetch, ok, ok, ok)
	add("reporter", tok("reporter"), push, noPush, noPush, noPush)
	add("developer", tok("developer"), push, ok, ok, ok)
	add("maintainer", tok("maintainer"), push, ok, ok, ok)
	add("owner", tok("owner"), push, ok, ok, ok)
	add("admin", tok("boss"), push, ok, ok, ok)
	add("outsider", tok("outsider"), fetch, ok, ok, notFound)
	add("outsider", tok("outsider"), push, noPush, noPush, notFound)
	add("developer read_repository", sc("developer", auth.ScopeReadRepository), fetch, ok, ok, ok)
	add("developer read_repository", sc("developer", auth.ScopeReadRepository), push, needWriteRepo, needWriteRepo, needWriteRepo)
	add("developer write_repository", sc("developer", auth.ScopeWriteRepository), push, ok, ok, ok)
	add("developer read_api", sc("developer", auth.ScopeReadAPI), fetch, ok, ok, ok)
	add("developer read_api", sc("developer", auth.ScopeReadAPI), push, needWriteRepo, needWriteRepo, needWriteRepo)
	add("developer read_user", sc("developer", auth.ScopeReadUser), fetch, ok, needReadRepo, needReadRepo)
	add("developer read_user", sc("developer", auth.ScopeReadUser), push, needWriteRepo, needWriteRepo, needWriteRepo)
	add("developer api", sc("developer", auth.ScopeAPI), push, ok, ok, ok)
	add("outsider read_user", sc("outsider", auth.ScopeReadUser), fetch, ok, needReadRepo, notFound)
	add("outsider read_repository", sc("outsider", auth.ScopeReadRepository), push, needWriteRepo, needWriteRepo, notFound)
	add("expired token", basic("x", expired), fetch, denied, denied, denied)
	add("revoked token", basic("x", revoked), fetch, denied, denied, denied)
	add("blocked owner's token", tok("blocked"), fetch, denied, denied, denied)
	add("blocked user's password", basic("blocked", password), fetch, denied, denied, denied)
	add("wrong token", basic("x", "glpat-thisisnotarealtokenatall1"), fetch, denied, denied, denied)
	add("wrong password", basic("developer", "wrong-password"), fetch, denied, denied, denied)
	add("developer password", basic("developer", password), push, ok, ok, ok)
	add("password of an unknown user", basic("nosuchuser", password), fetch, denied, denied, denied)
	add("2FA user's password", basic("twofa", password), fetch, denied, denied, denied)
	add("2FA user's token", tok("twofa"), push, ok, ok, ok)
	add("bot token", tok("bot"), push, ok, ok, ok)
	add("bot password", basic("bot", password), fetch, denied, denied, denied)
	add("Bearer token", http.Header{"Authorization": {"Bearer " + f.tokens["developer"]}}, push, ok, ok, ok)
	add("Bearer wrong token", http.Header{"Authorization": {"Bearer glpat-thisisnotarealtokenatall1"}}, fetch, denied, denied, denied)
	add("unknown scheme", http.Header{"Authorization": {"Negotiate abc"}}, fetch, denied, denied, denied)

	for _, r := range rows {
		t.Run(fmt.Sprintf("%s %s %s", r.who, r.service, r.repo), func(t *testing.T) {
			checkAnswer(t, f, r.repo, r.service, r.cred, r.want)
		})
	}

	t.Run("expired token works while enforcement is off", func(t *testing.T) {
		if _, err := f.Server.Auth.UpdateSettings(ctx, map[string]string{"enforce_personal_access_token_expiration": "false"}); err != nil {
			t.Fatal(err)
		}
		defer f.Server.Auth.UpdateSettings(ctx, map[string]string{"enforce_personal_access_token_expiration": "true"})
		waitFor(t, "the setting to take effect", func() bool {
			resp, _ := f.do(t, "GET", "/grp/private.git/info/refs?service="+push, basic("x", expired), nil)
			return resp.StatusCode == 200
		})
		// Revoked tokens never come back.
		checkAnswer(t, f, "grp/private", fetch, basic("x", revoked), denied)
	})
	t.Run("no password works for Git while password authentication is off", func(t *testing.T) {
		if _, err := f.Server.Auth.UpdateSettings(ctx, map[string]string{"password_authentication_enabled_for_git": "false"}); err != nil {
			t.Fatal(err)
		}
		defer f.Server.Auth.UpdateSettings(ctx, map[string]string{"password_authentication_enabled_for_git": "true"})
		waitFor(t, "the setting to take effect", func() bool {
			resp, _ := f.do(t, "GET", "/grp/private.git/info/refs?service="+fetch, basic("developer", password), nil)
			return resp.StatusCode == 401
		})
		checkAnswer(t, f, "grp/private", fetch, basic("developer", password), denied)
		checkAnswer(t, f, "grp/private", push, tok("developer"), ok)
	})
}

func checkAnswer(t *testing.T, f *fixture, repo, service string, cred http.Header, want answer) {
	t.Helper()
	resp, body := f.do(t, "GET", "/"+repo+".git/info/refs?service="+service, cred, nil)
	if resp.StatusCode != want.code {
		t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, want.code)
	}
	if want.code == 200 {
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-"+service+"-advertisement" {
			t.Errorf("Content-Type %q", ct)
		}
		return
	}
	if got := strings.TrimSuffix(body, "\n"); got != want.line {
		t.Errorf("body %q, want %q", got, want.line)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("Content-Type %q, want text/plain so git shows it", ct)
	}
	gotChallenge := resp.Header.Get("WWW-Authenticate")
	if wantChallenge := want.code == 401; (gotChallenge == `Basic realm="gitgate"`) != wantChallenge {
		t.Errorf("WWW-Authenticate %q (want a challenge: %v)", gotChallenge, wantChallenge)
	}
}

// TestGitShowsTheSpecLines runs the real git client and checks the exact
// lines a person sees for each refusal.
func TestGitShowsTheSpecLines(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	expired := f.tokenFor(t, "developer", yesterday(), auth.ScopeWriteRepository)
	revoked := f.tokenFor(t, "developer", nil, auth.ScopeWriteRepository)
	if _, err := f.Server.Auth.RevokeTokenBySecret(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	readOnly := f.tokenFor(t, "developer", nil, auth.ScopeReadRepository)
	accessDenied := "remote: " + gitserver.MsgAccessDenied
	tests := []struct {
		name  string
		url   string
		push  bool
		lines []string
	}{
		{"2FA user with password", f.RepoURL("twofa", password, "grp/private"), false,
			[]string{accessDenied, "fatal: Authentication failed for"}},
		{"2FA user with a token", f.url("twofa", "grp/private"), true, nil},
		{"expired token", f.RepoURL("developer", expired, "grp/private"), false,
			[]string{accessDenied, "fatal: Authentication failed for"}},
		{"revoked token", f.RepoURL("developer", revoked, "grp/private"), false,
			[]string{accessDenied, "fatal: Authentication failed for"}},
		{"read-only token pushing", f.RepoURL("developer", readOnly, "grp/private"), true,
			[]string{"remote: Your token lacks the write_repository scope, which is required to push code to this project.",
				"The requested URL returned error: 403"}},
		{"no access", f.url("outsider", "grp/private"), false,
			[]string{"remote: " + access.MsgNotFound, "fatal: repository '"}},
		{"guest", f.url("guest", "grp/private"), false,
			[]string{"remote: " + access.MsgNoDownload, "The requested URL returned error: 403"}},
		{"reporter pushing", f.url("reporter", "grp/private"), true,
			[]string{"remote: " + access.MsgNoPush, "The requested URL returned error: 403"}},
		{"blocked user", f.url("blocked", "grp/private"), false,
			[]string{accessDenied, "fatal: Authentication failed for"}},
		{"anonymous on a private repository", f.url("", "grp/private"), false,
			[]string{"could not read Username"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r = f.Git("", "clone", "-q", tt.url, t.TempDir()+"/c")
			if tt.push {
				wt := f.WorkTree()
				r = f.Git(wt, "push", tt.url, "main:refs/heads/"+strings.ReplaceAll(tt.name, " ", "-"))
			}
			if tt.lines == nil {
				if r.Err != nil {
					t.Fatalf("failed: %v\n%s", r.Err, r.Stderr)
				}
				return
			}
			if r.Err == nil {
				t.Fatalf("succeeded, want a refusal")
			}
			for _, l := range tt.lines {
				if !strings.Contains(r.Stderr, l) {
					t.Errorf("git shows:\n%s\nwant a line containing %q", r.Stderr, l)
				}
			}
		})
	}
}
