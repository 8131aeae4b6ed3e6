package sshserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
)

// unreachableEnv is a public repository alice/proj whose main has two
// commits, and whose branch "gone" was pushed and deleted: gone is a
// commit no ref reaches, reachable (main~1) one that main reaches but
// that is no ref's tip.
type unreachableEnv struct {
	*sshEnv
	keyEnv          []string
	apiToken        string
	gone, reachable string
}

func newUnreachableEnv(t *testing.T, configure func(*server.Config)) *unreachableEnv {
	t.Helper()
	t.Parallel()
	e := startSSH(t, testenv.Options{Configure: configure})
	alice := e.User("alice", testenv.UserOpts{})
	u := &unreachableEnv{sshEnv: e, keyEnv: e.keyGit(e.userKey(alice)), apiToken: e.Token(alice, auth.ScopeAPI)}
	e.Project("alice/proj", access.Public)
	wt := e.WorkTree()
	e.MustGit(wt, "commit", "-q", "--allow-empty", "-m", "second")
	push := func(refspec string) {
		if r := e.GitEnv(wt, u.keyEnv, "push", "-q", e.sshURL("alice/proj"), refspec); r.Err != nil {
			t.Fatalf("push %s: %v\n%s", refspec, r.Err, r.Stderr)
		}
	}
	push("main")
	u.reachable = strings.TrimSpace(e.MustGit(wt, "rev-parse", "HEAD~1"))
	e.MustGit(wt, "checkout", "-q", "-b", "gone")
	e.MustGit(wt, "commit", "-q", "--allow-empty", "-m", "secret that was pushed by mistake")
	u.gone = strings.TrimSpace(e.MustGit(wt, "rev-parse", "HEAD"))
	push("gone")
	push(":gone")
	return u
}

// doors are the two ways in: anonymous HTTP and SSH with alice's key.
func (u *unreachableEnv) doors() map[string]struct {
	url string
	env []string
} {
	return map[string]struct {
		url string
		env []string
	}{
		"http": {u.RepoURL("", "", "alice/proj"), nil},
		"ssh":  {u.sshURL("alice/proj"), u.keyEnv},
	}
}

// fetchByID fetches one object id into a new repository with the client
// asking for protocol version v.
func (u *unreachableEnv) fetchByID(t *testing.T, door, id, v string) testenv.Result {
	t.Helper()
	d := u.doors()[door]
	dir := filepath.Join(t.TempDir(), "c")
	u.MustGit("", "init", "-q", dir)
	return u.GitEnv(dir, d.env, "-c", "protocol.version="+v, "fetch", "-q", d.url, id)
}

func (u *unreachableEnv) api(t *testing.T, method, path, token string, form url.Values) (int, string) {
	t.Helper()
	return sendHTTP(t, method, u.URL+"/api/v4"+path, form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "PRIVATE-TOKEN", token)
}

func TestDeletedBranchIsFetchableBySHAOverV2UntilPruned(t *testing.T) {
	// No grace, so that the objects of the branch deleted a moment ago
	// are old enough to go.
	u := newUnreachableEnv(t, func(c *server.Config) { c.PruneGrace = -1 })
	for door := range u.doors() {
		// What git does by itself: protocol v2's fetch serves any object
		// the repository holds (docs/repositories.md says so).
		if r := u.fetchByID(t, door, u.gone, "2"); r.Err != nil {
			t.Fatalf("%s: before prune, fetch of the deleted branch's commit failed: %v\n%s", door, r.Err, r.Stderr)
		}
	}
	code, body := u.api(t, "POST", "/projects/alice%2Fproj/housekeeping", u.apiToken, url.Values{"task": {"prune"}})
	if code != http.StatusCreated {
		t.Fatalf("housekeeping prune: %d %s, want 201", code, body)
	}
	for door := range u.doors() {
		for _, v := range []string{"2", "0"} {
			if r := u.fetchByID(t, door, u.gone, v); r.Err == nil {
				t.Errorf("%s v%s: the deleted branch's commit is still fetchable after prune", door, v)
			}
		}
		if r := u.fetchByID(t, door, u.reachable, "2"); r.Err != nil {
			t.Errorf("%s: fetch of a reachable commit by id after prune: %v\n%s", door, r.Err, r.Stderr)
		}
		d := u.doors()[door]
		if r := u.GitEnv("", d.env, "clone", "-q", d.url, filepath.Join(t.TempDir(), "c")); r.Err != nil {
			t.Errorf("%s: clone after prune: %v\n%s", door, r.Err, r.Stderr)
		}
	}
}

func TestPruneKeepsUnreachableObjectsYoungerThanTheGrace(t *testing.T) {
	u := newUnreachableEnv(t, nil) // the default grace: ten minutes
	code, body := u.api(t, "POST", "/projects/alice%2Fproj/housekeeping", u.apiToken, url.Values{"task": {"prune"}})
	if code != http.StatusCreated {
		t.Fatalf("housekeeping prune: %d %s, want 201", code, body)
	}
	// Objects that became unreachable a moment ago — like those of a push
	// between quarantine and ref update — survive the prune.
	if r := u.fetchByID(t, "http", u.gone, "2"); r.Err != nil {
		t.Fatalf("a just-deleted branch's commit was pruned despite the grace: %v\n%s", r.Err, r.Stderr)
	}
}

func TestReachableOnlySettingRefusesUnreachableWantsOverBothDoors(t *testing.T) {
	u := newUnreachableEnv(t, nil)
	root, err := u.Server.Auth.UserByUsername(t.Context(), "root")
	if err != nil {
		t.Fatal(err)
	}
	code, body := u.api(t, "PUT", "/application/settings", u.Token(root, auth.ScopeAPI), url.Values{"git_fetch_reachable_only": {"true"}})
	var st struct {
		On bool `json:"git_fetch_reachable_only"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &st) != nil || !st.On {
		t.Fatalf("PUT /application/settings: %d %s", code, body)
	}
	for door, d := range u.doors() {
		for _, v := range []string{"2", "0"} {
			r := u.fetchByID(t, door, u.gone, v)
			if r.Err == nil {
				t.Errorf("%s v%s: the deleted branch's commit was served with git_fetch_reachable_only on", door, v)
			} else if !strings.Contains(r.Stderr, "not our ref") {
				t.Errorf("%s v%s: refusal %q, want upload-pack's \"not our ref\"", door, v, r.Stderr)
			}
			if r := u.fetchByID(t, door, u.reachable, v); r.Err != nil {
				t.Errorf("%s v%s: fetch of a reachable commit by id: %v\n%s", door, v, r.Err, r.Stderr)
			}
		}
		// The client asked for v2 and was answered in v0.
		r := u.GitEnv("", append(d.env, "GIT_TRACE_PACKET=1"), "-c", "protocol.version=2", "ls-remote", d.url)
		if r.Err != nil || strings.Contains(r.Stderr, "< version 2") || !strings.Contains(r.Stdout, "refs/heads/main") {
			t.Errorf("%s: ls-remote with the setting on: %v, stdout %q\n%s", door, r.Err, r.Stdout, r.Stderr)
		}
		// Clone, partial clone (with its on-demand fetches), fetch and
		// push all still work.
		dir := filepath.Join(t.TempDir(), "c")
		u.mustGitEnv(t, "", d.env, "clone", "-q", d.url, dir)
		partial := filepath.Join(t.TempDir(), "p")
		u.mustGitEnv(t, "", d.env, "clone", "-q", "--filter=blob:none", d.url, partial)
		u.mustGitEnv(t, partial, d.env, "log", "-p", "-q")
		u.mustGitEnv(t, dir, d.env, "fetch", "-q", "origin")
		u.mustGitEnv(t, dir, d.env, "commit", "-q", "--allow-empty", "-m", "via "+door)
		u.mustGitEnv(t, dir, u.keyEnv, "push", "-q", u.sshURL("alice/proj"), "HEAD:refs/heads/"+door)
	}
}

func (u *unreachableEnv) mustGitEnv(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	if r := u.GitEnv(dir, env, args...); r.Err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), r.Err, r.Stderr)
	}
}
