package gitserver_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// fixture is a server with the people and repositories of
// docs/permissions.md#access-levels:
// group "grp" holds one project of each visibility, each with a commit on
// main; each user has the role their name says on the group.
type fixture struct {
	*testenv.Env
	users  map[string]*auth.User
	tokens map[string]string // "<user>" → write_repository token
}

const password = "correct-horse-battery-staple-42"

// noLockout allow-lists loopback so that tests producing many failures
// do not ban themselves.
func noLockout(c *server.Config) { c.AuthLockoutAllowList = []string{"127.0.0.0/8", "::1"} }

func newFixture(t *testing.T, d store.Dialect, configure func(*server.Config)) *fixture {
	t.Helper()
	// Every fixture is its own server, data directory and database:
	// tests using one can run side by side.
	t.Parallel()
	if configure == nil {
		configure = noLockout
	}
	env := testenv.Start(t, testenv.Options{Dialect: d, Configure: configure})
	f := &fixture{Env: env, users: map[string]*auth.User{}, tokens: map[string]string{}}
	ctx := context.Background()
	if _, err := env.Server.Repos.CreateGroup(ctx, "grp", "", access.Public, 0); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"boss", "owner", "maintainer", "developer", "reporter", "guest", "outsider", "twofa", "bot", "blocked"} {
		o := testenv.UserOpts{Password: password, Admin: name == "boss", TwoFA: name == "twofa", Bot: name == "bot"}
		if name == "bot" {
			o.Password = ""
		}
		f.users[name] = env.User(name, o)
		f.tokens[name] = env.Token(f.users[name], auth.ScopeWriteRepository)
	}
	levels := map[string]access.AccessLevel{"owner": access.Owner, "maintainer": access.Maintainer, "developer": access.Developer,
		"reporter": access.Reporter, "guest": access.Guest, "twofa": access.Developer, "bot": access.Developer, "blocked": access.Developer}
	for name, l := range levels {
		env.Member("grp", f.users[name], l)
	}
	for _, vis := range []string{access.Public, access.Internal, access.Private} {
		env.Project("grp/"+vis, vis)
		wt := env.WorkTree()
		env.MustGit(wt, "push", "-q", f.url("boss", "grp/"+vis), "main")
	}
	if _, err := env.Server.Auth.SetBlocked(ctx, f.users["blocked"].ID, true); err != nil {
		t.Fatal(err)
	}
	return f
}

// url is the clone URL of path with user's write_repository token.
func (f *fixture) url(user, path string) string {
	if user == "" {
		return f.RepoURL("", "", path)
	}
	return f.RepoURL(user, f.tokens[user], path)
}

// clone clones path into a new directory and returns it.
func (f *fixture) clone(t *testing.T, url string, args ...string) (string, testenv.Result) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "clone")
	r := f.Git("", append(append([]string{"clone", "-q"}, args...), url, dir)...)
	return dir, r
}

// commit adds a commit to the work tree dir.
func (f *fixture) commit(t *testing.T, dir, file, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	f.MustGit(dir, "add", file)
	f.MustGit(dir, "commit", "-q", "-m", "change "+file)
}

// remoteRefs lists the refs of path as an admin sees them.
func (f *fixture) remoteRefs(t *testing.T, path string) map[string]string {
	t.Helper()
	out := f.MustGit("", "ls-remote", f.url("boss", path))
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, ref, ok := strings.Cut(line, "\t"); ok {
			refs[ref] = id
		}
	}
	return refs
}

// get sends a request with optional Basic credentials and returns the
// status, headers and body.
func (f *fixture) do(t *testing.T, method, path string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, f.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// waitFor polls cond until it holds, failing after a generous deadline
// (a liveness bound, not a timing assertion).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
