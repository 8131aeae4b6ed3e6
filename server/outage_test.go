package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// outageEnv is a server with alice's private repository alice/proj
// holding one commit, and alice's token.
type outageEnv struct {
	*testenv.Env
	token string
}

func newOutageEnv(t *testing.T, o testenv.Options) *outageEnv {
	t.Helper()
	env := testenv.Start(t, o)
	alice := env.User("alice", testenv.UserOpts{})
	e := &outageEnv{Env: env, token: env.Token(alice, auth.ScopeAPI, auth.ScopeWriteRepository)}
	env.Project("alice/proj", access.Private)
	env.MustGit(env.WorkTree(), "push", "-q", e.repo(), "main")
	return e
}

func (e *outageEnv) repo() string { return e.RepoURL("alice", e.token, "alice/proj") }

// get answers GET path with alice's token: the status and body.
func (e *outageEnv) get(t *testing.T, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// served checks that every door serves alice: clone, API, readiness.
func (e *outageEnv) served(t *testing.T, when string) {
	t.Helper()
	if r := e.Git("", "clone", "-q", e.repo(), filepath.Join(t.TempDir(), "c")); r.Err != nil {
		t.Fatalf("%s: clone: %v\n%s", when, r.Err, r.Stderr)
	}
	if code, body := e.get(t, "/api/v4/projects/alice%2Fproj"); code != http.StatusOK {
		t.Fatalf("%s: API: %d %s", when, code, body)
	}
	if code, _ := readiness(t, e.URL); code != http.StatusOK {
		t.Fatalf("%s: readiness %d", when, code)
	}
}

// unavailable checks that every door answers 503, never 401 or 404, and
// that health still answers.
func (e *outageEnv) unavailable(t *testing.T, what string) {
	t.Helper()
	r := e.Git("", "clone", "-q", e.repo(), filepath.Join(t.TempDir(), "c"))
	if r.Err == nil || !strings.Contains(r.Stderr, "503") {
		t.Errorf("%s: clone: %v\n%s\nwant git to report HTTP 503", what, r.Err, r.Stderr)
	}
	for _, path := range []string{"/api/v4/projects/alice%2Fproj", "/api/v4/user"} {
		if code, body := e.get(t, path); code != http.StatusServiceUnavailable {
			t.Errorf("%s: GET %s: %d %s, want 503", what, path, code, body)
		}
	}
	if code, _ := readiness(t, e.URL); code != http.StatusServiceUnavailable {
		t.Errorf("%s: readiness %d, want 503", what, code)
	}
	resp, err := http.Get(e.URL + "/-/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("%s: health %d, want 200: the process itself is fine", what, resp.StatusCode)
	}
}

func TestPostgreSQLOutageIs503OnEveryDoorAndServiceComesBackByItself(t *testing.T) {
	proxy := testenv.StartProxy(t)
	via := proxy.Via(testdb.URL(t, store.Postgres))
	e := newOutageEnv(t, testenv.Options{Dialect: store.Postgres, Configure: func(c *server.Config) { c.DatabaseURL = via }})
	e.served(t, "before the outage")
	proxy.Break()
	e.unavailable(t, "PostgreSQL unreachable")
	proxy.Restore()
	// The pool reconnects on its own: no restart. The first request
	// after the outage may still meet a connection that died with it.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := readiness(t, e.URL); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("readiness never came back after PostgreSQL did")
		}
	}
	e.served(t, "after the outage")
}

func TestUnreadableRepositoryStorageIs503NotNotFound(t *testing.T) {
	e := newOutageEnv(t, testenv.Options{})
	root := e.Server.Config().RepoRoot()
	e.served(t, "before")
	// The volume goes away (an NFS server lost, a mount gone): where the
	// storage was there is no directory any more.
	if err := os.Rename(root, root+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	r := e.Git("", "clone", "-q", e.repo(), filepath.Join(t.TempDir(), "c"))
	if r.Err == nil || !strings.Contains(r.Stderr, "503") {
		t.Errorf("clone with the storage gone: %v\n%s\nwant HTTP 503", r.Err, r.Stderr)
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v4/projects/alice%2Fproj/housekeeping", nil)
	req.Header.Set("PRIVATE-TOKEN", e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("housekeeping with the storage gone: %d, want 503", resp.StatusCode)
	}
	if code, body := readiness(t, e.URL); code != http.StatusServiceUnavailable {
		t.Errorf("readiness with the storage gone: %d %v", code, body)
	}
	// The volume comes back.
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(root+".away", root); err != nil {
		t.Fatal(err)
	}
	e.served(t, "after the storage came back")
}

// Deleting a project, or a user with their projects, while the storage is
// unreadable is refused with 503 and deletes nothing: deleting the rows
// alone would leave the repositories on disk, belonging to nobody, when
// the storage comes back.
func TestDeletingWhileTheStorageIsUnreadableIs503AndDeletesNothing(t *testing.T) {
	e := newOutageEnv(t, testenv.Options{})
	admin := e.Token(e.User("operator", testenv.UserOpts{Admin: true}), auth.ScopeAPI)
	code, body := e.get(t, "/api/v4/user")
	if code != http.StatusOK {
		t.Fatalf("GET /user: %d %s", code, body)
	}
	var alice struct{ ID int64 }
	if err := json.Unmarshal([]byte(body), &alice); err != nil || alice.ID == 0 {
		t.Fatalf("GET /user: %v %s", err, body)
	}
	root := e.Server.Config().RepoRoot()
	if err := os.Rename(root, root+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ what, token, path string }{
		{"the project", e.token, "/api/v4/projects/alice%2Fproj"},
		{"its owner", admin, fmt.Sprintf("/api/v4/users/%d", alice.ID)},
	} {
		req, _ := http.NewRequest(http.MethodDelete, e.URL+tt.path, nil)
		req.Header.Set("PRIVATE-TOKEN", tt.token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("deleting %s with the storage gone: %d %s, want 503", tt.what, resp.StatusCode, b)
		}
	}
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(root+".away", root); err != nil {
		t.Fatal(err)
	}
	e.served(t, "after the storage came back")
}

// Creating a project while the storage cannot be written is 503, like
// every other storage outage, and leaves no project row behind.
func TestCreatingAProjectWhileTheStorageIsUnwritableIs503AndCreatesNothing(t *testing.T) {
	e := newOutageEnv(t, testenv.Options{})
	root := e.Server.Config().RepoRoot()
	if err := os.Rename(root, root+".away"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v4/projects", strings.NewReader("name=fresh"))
	req.Header.Set("PRIVATE-TOKEN", e.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("creating a project with the storage gone: %d %s, want 503", resp.StatusCode, b)
	}
	if err := os.Remove(root); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(root+".away", root); err != nil {
		t.Fatal(err)
	}
	if code, body := e.get(t, "/api/v4/projects/alice%2Ffresh"); code != http.StatusNotFound {
		t.Errorf("the refused project exists: %d %s", code, body)
	}
	e.served(t, "after the storage came back")
}
