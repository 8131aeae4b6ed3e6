package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

func TestProjectHousekeepingAnswersAsGitLabDoes(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	// An empty repository: housekeeping has nothing to pack and still
	// succeeds (the Git doors' tests prune real history).
	p := f.env.Project("alice/proj", access.Private)

	// GitLab's own client: POST /projects/:id/housekeeping, 201.
	res, err := f.client(f.aliceToken).Projects.StartHousekeepingProject("alice/proj")
	if err != nil || res.StatusCode != http.StatusCreated {
		t.Fatalf("StartHousekeepingProject: %v %v", res, err)
	}
	path := "/projects/" + strconv.FormatInt(p.ID, 10) + "/housekeeping"
	for _, task := range []string{"eager", "prune"} {
		if r := f.do(req{method: "POST", path: path, token: f.aliceToken, body: `{"task":"` + task + `"}`}); r.status != http.StatusCreated {
			t.Errorf("task %s: %d %s, want 201", task, r.status, r.body)
		}
	}
	if r := f.do(req{method: "POST", path: path, token: f.aliceToken, body: `{"task":"gc"}`}); r.status != http.StatusBadRequest ||
		r.obj(t)["error"] != "task does not have a valid value" {
		t.Errorf("task gc: %d %s, want Grape's 400", r.status, r.body)
	}
	// GitLab's admin_project: maintainers and above; a developer may
	// not, someone without access does not see the project.
	dev := f.env.User("dev", testenv.UserOpts{})
	f.env.Member("alice/proj", dev, access.Developer)
	if r := f.do(req{method: "POST", path: path, token: f.env.Token(dev, auth.ScopeAPI)}); r.status != http.StatusForbidden {
		t.Errorf("developer: %d %s, want 403", r.status, r.body)
	}
	maint := f.env.User("maint", testenv.UserOpts{})
	f.env.Member("alice/proj", maint, access.Maintainer)
	if r := f.do(req{method: "POST", path: path, token: f.env.Token(maint, auth.ScopeAPI)}); r.status != http.StatusCreated {
		t.Errorf("maintainer: %d %s, want 201", r.status, r.body)
	}
	stranger := f.env.User("stranger", testenv.UserOpts{})
	if r := f.do(req{method: "POST", path: path, token: f.env.Token(stranger, auth.ScopeAPI)}); r.status != http.StatusNotFound {
		t.Errorf("stranger: %d %s, want 404", r.status, r.body)
	}
	if r := f.do(req{method: "POST", path: path}); r.status != http.StatusUnauthorized {
		t.Errorf("anonymous: %d %s, want 401", r.status, r.body)
	}
	if r := f.do(req{method: "POST", path: path, token: f.adminToken, body: `{"task":"prune"}`}); r.status != http.StatusCreated {
		t.Errorf("admin: %d %s, want 201", r.status, r.body)
	}
}

// Another process maintaining the repository (a replica, `gitgate repo
// prune`) holds its lock: a task asked for here is GitLab's 409, and
// runs once the other is done.
func TestProjectHousekeepingWhileAnotherProcessHoldsTheRepositoryIs409(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		p := f.env.Project("alice/proj", access.Private)
		// The other process: on SQLite a file lock in the repository, on
		// PostgreSQL an advisory lock taken through a pool of its own.
		other := f.env.Server.DB
		if f.env.Dialect == store.Postgres {
			db, err := store.Open(f.ctx(), t.TempDir(), f.env.Server.Config().DatabaseURL)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			other = db
		}
		unlock, err := server.HousekeepingLocker(other).TryLock(f.ctx(), f.env.Server.Repos.DiskPath(p.ID))
		if err != nil {
			t.Fatal(err)
		}
		path := "/projects/" + strconv.FormatInt(p.ID, 10) + "/housekeeping"
		expect(t, "while locked", f.do(req{method: "POST", path: path, token: f.aliceToken}), http.StatusConflict,
			`{"message":"Somebody already triggered housekeeping for this project; it is still running"}`)
		unlock()
		if r := f.do(req{method: "POST", path: path, token: f.aliceToken}); r.status != http.StatusCreated {
			t.Fatalf("after the other process let go: %d %s, want 201", r.status, r.body)
		}
	})
}
