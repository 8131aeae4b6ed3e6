package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// The repository endpoints, and which of them each caller may read.
var repoReads = []struct {
	name, path string
	files      bool // files, raw and archive: read_repository opens them
}{
	{"branches", "/repository/branches", false},
	{"branch", "/repository/branches/main", false},
	{"tags", "/repository/tags", false},
	{"tag", "/repository/tags/v1.0", false},
	{"commit", "/repository/commits/main", false},
	{"file", "/repository/files/docs%2Fguide.md?ref=main", true},
	{"raw", "/repository/files/docs%2Fguide.md/raw?ref=main", true},
	{"archive", "/repository/archive.zip", true},
}

const (
	scopeAPIOnly  = `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api"}`
	scopeWithRepo = `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api read_api read_repository"}`
	notFoundBody  = `{"message":"404 Project Not Found"}`
	forbiddenBody = `{"message":"403 Forbidden"}`
)

// TestRepositoryReadsDecideAsAGitFetch runs every repository read for
// every kind of caller: a private project's code is the members' from
// reporter up (a guest sees the project, not its code: 403), a
// non-member and an anonymous caller get 404 as for a missing project;
// read_api reads everything, read_repository only files, raw files and
// archives (GitLab's "Git-over-HTTP or the Repository Files API"), and
// read_user nothing. A public project's code is anyone's.
func TestRepositoryReadsDecideAsAGitFetch(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		seed(t, f, "alice/code", access.Private)
		guest := f.env.User("guest", testenv.UserOpts{})
		f.env.Member("alice/code", guest, access.Guest)
		reporter := f.env.User("reporter", testenv.UserOpts{})
		f.env.Member("alice/code", reporter, access.Reporter)
		stranger := f.env.User("stranger", testenv.UserOpts{})

		callers := []struct {
			name, token string
			// status and body for the API reads and the file reads; 0
			// means 200.
			api, files         int
			apiBody, filesBody string
		}{
			{"owner api", f.aliceToken, 0, 0, "", ""},
			{"owner read_api", f.env.Token(f.alice, auth.ScopeReadAPI), 0, 0, "", ""},
			{"owner read_repository", f.env.Token(f.alice, auth.ScopeReadRepository), 403, 0, scopeAPIOnly, ""},
			{"owner write_repository", f.env.Token(f.alice, auth.ScopeWriteRepository), 403, 403, scopeAPIOnly, scopeWithRepo},
			{"owner read_user", f.env.Token(f.alice, auth.ScopeReadUser), 403, 403, scopeAPIOnly, scopeWithRepo},
			{"reporter read_repository", f.env.Token(reporter, auth.ScopeReadRepository), 403, 0, scopeAPIOnly, ""},
			{"reporter read_api", f.env.Token(reporter, auth.ScopeReadAPI), 0, 0, "", ""},
			{"guest api", f.env.Token(guest, auth.ScopeAPI), 403, 403, forbiddenBody, forbiddenBody},
			{"stranger api", f.env.Token(stranger, auth.ScopeAPI), 404, 404, notFoundBody, notFoundBody},
			{"admin api", f.adminToken, 0, 0, "", ""},
			{"anonymous", "", 404, 404, notFoundBody, notFoundBody},
		}
		for _, who := range callers {
			for _, read := range repoReads {
				status, body := who.api, who.apiBody
				if read.files {
					status, body = who.files, who.filesBody
				}
				if status == 0 {
					status = http.StatusOK
				}
				r := f.do(req{path: "/projects/alice%2Fcode" + read.path, token: who.token})
				if r.status != status {
					t.Fatalf("%s reads %s: %d, want %d: %s", who.name, read.name, r.status, status, r.body)
				}
				if body != "" {
					expect(t, who.name+" reads "+read.name, r, status, body)
				}
			}
		}
		// The guest still sees the project itself.
		if r := f.do(req{path: "/projects/alice%2Fcode", token: f.env.Token(guest, auth.ScopeAPI)}); r.status != http.StatusOK {
			t.Fatalf("guest sees the project: %d", r.status)
		}

		// Public code: anyone, with or without a token, whatever its
		// scopes (a credential never has less access than none).
		f.env.Project("alice/open", access.Public)
		work := f.env.WorkTree()
		f.env.MustGit(work, "push", "-q", f.env.RepoURL("alice", "alice-password-1", "alice/open"), "main")
		for _, token := range []string{"", f.env.Token(stranger, auth.ScopeAPI)} {
			for _, path := range []string{"/repository/branches", "/repository/files/README.md/raw?ref=main", "/repository/archive"} {
				if r := f.do(req{path: "/projects/alice%2Fopen" + path, token: token}); r.status != http.StatusOK {
					t.Fatalf("public %s with token %v: %d %s", path, token != "", r.status, r.body)
				}
			}
		}
		expect(t, "anonymous creates a branch on a public project", f.do(req{method: http.MethodPost, path: "/projects/alice%2Fopen/repository/branches",
			body: `{"branch":"x","ref":"main"}`}), 401, `{"message":"401 Unauthorized"}`)
		expect(t, "a stranger creates a branch on a public project", f.do(req{method: http.MethodPost, path: "/projects/alice%2Fopen/repository/branches",
			token: f.env.Token(stranger, auth.ScopeAPI), body: `{"branch":"x","ref":"main"}`}), 403, forbiddenBody)
	})
}

// TestRepositoryFileLargerThanTheLimitIsRefused: GITGATE_API_MAX_FILE_BYTES
// bounds what the files API reads into memory, JSON and raw alike; the
// archive endpoint streams and is not bounded.
func TestRepositoryFileLargerThanTheLimitIsRefused(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, testenv.Options{Dialect: d, Configure: func(c *server.Config) { c.APIMaxFileBytes = 100 }})
			seed(t, f, "alice/code", access.Private)
			big := strings.Repeat("x", 101)
			work := t.TempDir()
			f.env.MustGit(work, "clone", "-q", f.env.RepoURL("alice", "alice-password-1", "alice/code"), ".")
			writeFile(t, work, "big.txt", big)
			writeFile(t, work, "fits.txt", big[:100])
			f.env.MustGit(work, "add", ".")
			f.env.MustGit(work, "commit", "-q", "-m", "sizes")
			f.env.MustGit(work, "push", "-q", "origin", "main")
			const tooLarge = `{"message":"413 File is too large: 101 bytes, the limit is 100 bytes; use git or the archive endpoint"}`
			expect(t, "JSON of a file over the limit", f.do(req{path: "/projects/alice%2Fcode/repository/files/big.txt?ref=main", token: f.aliceToken}), 413, tooLarge)
			expect(t, "raw file over the limit", f.do(req{path: "/projects/alice%2Fcode/repository/files/big.txt/raw", token: f.aliceToken}), 413, tooLarge)
			if r := f.do(req{path: "/projects/alice%2Fcode/repository/files/fits.txt/raw", token: f.aliceToken}); r.status != 200 || r.body != big[:100] {
				t.Fatalf("file at the limit: %d %q", r.status, r.body)
			}
			if r := f.do(req{path: "/projects/alice%2Fcode/repository/archive.tar", token: f.aliceToken}); r.status != 200 || !strings.Contains(r.body, big) {
				t.Fatalf("archive with the big file: %d", r.status)
			}
		})
	}
}

// TestRepositoryReadsStartGitThroughTheRunner: the API's git processes
// are counted in gitgate_git_processes_started_total, as every git
// gitgate starts.
func TestRepositoryReadsStartGitThroughTheRunner(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	seed(t, f, "alice/code", access.Private)
	started := func() float64 {
		var m dto.Metric
		if err := prometheus.Counter.Write(f.env.Server.Metrics.GitProcessesStarted, &m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	for _, read := range repoReads {
		before := started()
		if r := f.do(req{path: "/projects/alice%2Fcode" + read.path, token: f.aliceToken}); r.status != 200 {
			t.Fatalf("%s: %d %s", read.name, r.status, r.body)
		}
		if started() <= before {
			t.Fatalf("%s started no counted git process", read.name)
		}
	}
}
