package sshserver_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/store"
)

// Rules added and changed through the API hold from the very next push
// over SSH: the receive hook of this door reads the stored rules too.
func TestProtectedBranchRulesFromTheAPIHoldOnTheNextSSHPush(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := startSSH(t, testenv.Options{Dialect: d})
			if _, err := e.Server.Repos.CreateGroup(context.Background(), "grp", "", access.Private, 0); err != nil {
				t.Fatal(err)
			}
			e.Project("grp/proj", access.Private)
			envs := map[string][]string{}
			for name, l := range map[string]access.AccessLevel{"maintainer": access.Maintainer, "developer": access.Developer} {
				u := e.User(name, testenv.UserOpts{})
				e.Member("grp/proj", u, l)
				envs[name] = e.keyGit(e.userKey(u))
			}
			boss := e.User("boss", testenv.UserOpts{Admin: true})
			envs["boss"] = e.keyGit(e.userKey(boss))
			apiToken := e.Token(boss, auth.ScopeAPI)
			if r := e.pushNew(envs["maintainer"], e.sshURL("grp/proj"), "main:main"); r.Err != nil {
				t.Fatalf("first push: %v\n%s", r.Err, r.Stderr)
			}
			dir := filepath.Join(t.TempDir(), "clone")
			if r := e.GitEnv("", envs["developer"], "clone", "-q", e.sshURL("grp/proj"), dir); r.Err != nil {
				t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
			}
			rev := func() string { return strings.TrimSpace(e.MustGit(dir, "rev-parse", "HEAD")) }
			e.MustGit(dir, "commit", "-q", "--allow-empty", "-m", "a")
			a := rev()
			e.MustGit(dir, "commit", "-q", "--allow-empty", "-m", "b")
			b := rev()
			e.MustGit(dir, "reset", "-q", "--hard", "HEAD~2")
			e.MustGit(dir, "commit", "-q", "--allow-empty", "-m", "x")
			x := rev()

			base := e.URL + "/api/v4/projects/grp%2Fproj/protected_branches"
			rel := base + "/release%2F%2A"
			steps := []struct {
				method, url, body string
				status            int
				user, refspec     string
				want              string // "" lands; else the reason git shows
			}{
				{user: "developer", refspec: a + ":refs/heads/release/1.0"},
				{method: "POST", url: base, body: `{"name":"release/*"}`, status: 201},
				{user: "developer", refspec: b + ":refs/heads/release/1.0", want: "protected branch release/1.0: only maintainers may push"},
				{user: "developer", refspec: a + ":refs/heads/release/2.0/rc", want: "protected branch release/2.0/rc: only maintainers may push"},
				{user: "developer", refspec: a + ":refs/heads/pre-release/1"},
				{method: "PATCH", url: rel, body: `{"push_access_level":30}`, status: 200},
				{user: "developer", refspec: b + ":refs/heads/release/1.0"},
				{user: "developer", refspec: "+" + x + ":refs/heads/release/1.0", want: "protected branch release/1.0 cannot be force-pushed"},
				{method: "PATCH", url: rel, body: `{"allow_force_push":true}`, status: 200},
				{user: "developer", refspec: "+" + x + ":refs/heads/release/1.0"},
				{method: "POST", url: base, body: `{"name":"frozen-*","push_access_level":0}`, status: 201},
				{user: "maintainer", refspec: a + ":refs/heads/frozen-1", want: "protected branch frozen-1: no one may push"},
				{user: "boss", refspec: a + ":refs/heads/frozen-1", want: "protected branch frozen-1: no one may push"},
				{method: "DELETE", url: base + "/frozen-%2A", status: 204},
				{user: "maintainer", refspec: a + ":refs/heads/frozen-1"},
			}
			for i, s := range steps {
				if s.method != "" {
					if status, body := apiCall(t, s.method, s.url, apiToken, s.body); status != s.status {
						t.Fatalf("step %d: %s %s: %d %s, want %d", i, s.method, s.url, status, body, s.status)
					}
					continue
				}
				r := e.GitEnv(dir, envs[s.user], "push", e.sshURL("grp/proj"), s.refspec)
				if s.want == "" {
					if r.Err != nil {
						t.Fatalf("step %d: %s pushing %s: %v\n%s", i, s.user, s.refspec, r.Err, r.Stderr)
					}
					continue
				}
				if r.Err == nil || !strings.Contains(r.Stderr, "[remote rejected]") || !strings.Contains(r.Stderr, "("+s.want+")") {
					t.Fatalf("step %d: %s pushing %s: err=%v, stderr:\n%s\nwant the refusal (%s)", i, s.user, s.refspec, r.Err, r.Stderr, s.want)
				}
			}
			out := e.GitEnv(dir, envs["boss"], "ls-remote", e.sshURL("grp/proj"), "refs/heads/release/1.0")
			if !strings.HasPrefix(out.Stdout, x) {
				t.Fatalf("release/1.0: %q, want the force-pushed %s", out.Stdout, x)
			}
		})
	}
}

// apiCall sends one JSON API request with a token.
func apiCall(t *testing.T, method, url, token, body string) (int, string) {
	t.Helper()
	return sendHTTP(t, method, url, body, "Private-Token", token, "Content-Type", "application/json")
}

// sendHTTP sends one request with the headers given as name, value pairs
// and returns its status and body (within 60 s).
func sendHTTP(t *testing.T, method, url, body string, header ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}
