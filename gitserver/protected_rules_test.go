package gitserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

// pushStep is one step of a protected-branch scenario: an API call by a
// maintainer (method set) or a push of refspec by user, which lands
// (want "") or is refused per ref with want as the reason git shows.
type pushStep struct {
	method, path, body string
	status             int
	user, refspec      string
	want               string
}

// Rules added and changed through the API hold from the very next push
// over HTTP, no waiting: wildcards with GitLab's matching, level 30 for
// developers, force pushes only where allowed, level 0 refusing everyone.
func TestProtectedBranchRulesFromTheAPIHoldOnTheNextHTTPPush(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d, nil)
			apiToken := f.Token(f.users["maintainer"], auth.ScopeAPI)
			dir, r := f.clone(t, f.url("developer", "grp/private"))
			if r.Err != nil {
				t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
			}
			a, b, x := protectedCommits(t, f.MustGit, dir)
			base := "/api/v4/projects/grp%2Fprivate/protected_branches"
			for i, s := range protectedScenario(base, a, b, x) {
				if s.method != "" {
					resp, body := f.do(t, s.method, s.path, http.Header{"Private-Token": {apiToken}, "Content-Type": {"application/json"}}, strings.NewReader(s.body))
					if resp.StatusCode != s.status {
						t.Fatalf("step %d: %s %s: %d %s, want %d", i, s.method, s.path, resp.StatusCode, body, s.status)
					}
					continue
				}
				r := f.Git(dir, "push", f.url(s.user, "grp/private"), s.refspec)
				checkPush(t, i, s, r.Err, r.Stderr)
			}
			if got := f.remoteRefs(t, "grp/private")["refs/heads/release/1.0"]; got != x {
				t.Fatalf("release/1.0 = %s, want the force-pushed %s", got, x)
			}
		})
	}
}

// protectedCommits makes a on the clone's HEAD, b on a, and x on HEAD
// beside a (so x replacing a or b is a force push).
func protectedCommits(t *testing.T, git func(dir string, args ...string) string, dir string) (a, b, x string) {
	t.Helper()
	rev := func() string { return strings.TrimSpace(git(dir, "rev-parse", "HEAD")) }
	git(dir, "commit", "-q", "--allow-empty", "-m", "a")
	a = rev()
	git(dir, "commit", "-q", "--allow-empty", "-m", "b")
	b = rev()
	git(dir, "reset", "-q", "--hard", "HEAD~2")
	git(dir, "commit", "-q", "--allow-empty", "-m", "x")
	x = rev()
	return a, b, x
}

// protectedScenario is the scenario both doors run (the SSH door's test
// has the same steps).
func protectedScenario(base, a, b, x string) []pushStep {
	rel := base + "/release%2F%2A"
	return []pushStep{
		{user: "developer", refspec: a + ":refs/heads/release/1.0"},
		{method: "POST", path: base, body: `{"name":"release/*"}`, status: 201},
		{user: "developer", refspec: b + ":refs/heads/release/1.0", want: "protected branch release/1.0: only maintainers may push"},
		{user: "developer", refspec: a + ":refs/heads/release/2.0/rc", want: "protected branch release/2.0/rc: only maintainers may push"},
		{user: "developer", refspec: a + ":refs/heads/pre-release/1"},
		{method: "PATCH", path: rel, body: `{"push_access_level":30}`, status: 200},
		{user: "developer", refspec: b + ":refs/heads/release/1.0"},
		{user: "developer", refspec: "+" + x + ":refs/heads/release/1.0", want: "protected branch release/1.0 cannot be force-pushed"},
		{method: "PATCH", path: rel, body: `{"allow_force_push":true}`, status: 200},
		{user: "developer", refspec: "+" + x + ":refs/heads/release/1.0"},
		{method: "POST", path: base, body: `{"name":"frozen-*","push_access_level":0}`, status: 201},
		{user: "maintainer", refspec: a + ":refs/heads/frozen-1", want: "protected branch frozen-1: no one may push"},
		{user: "boss", refspec: a + ":refs/heads/frozen-1", want: "protected branch frozen-1: no one may push"},
		{method: "DELETE", path: base + "/frozen-%2A", status: 204},
		{user: "maintainer", refspec: a + ":refs/heads/frozen-1"},
		{method: "POST", path: base, body: `{"name":"*-stable"}`, status: 201},
		{user: "developer", refspec: a + ":refs/heads/1-0-stable", want: "protected branch 1-0-stable: only maintainers may push"},
		{user: "maintainer", refspec: a + ":refs/heads/1-0-stable"},
	}
}

func checkPush(t *testing.T, i int, s pushStep, err error, stderr string) {
	t.Helper()
	if s.want == "" {
		if err != nil {
			t.Fatalf("step %d: %s pushing %s: %v\n%s", i, s.user, s.refspec, err, stderr)
		}
		return
	}
	if err == nil || !strings.Contains(stderr, "[remote rejected]") || !strings.Contains(stderr, "("+s.want+")") {
		t.Fatalf("step %d: %s pushing %s: err=%v, stderr:\n%s\nwant the refusal (%s)", i, s.user, s.refspec, err, stderr, s.want)
	}
}

// Each default_branch_protection value gives a new project's default
// branch GitLab's rule, and decides whether a developer may push it
// first into the empty repository.
func TestDefaultBranchProtectionDecidesANewProjectsRule(t *testing.T) {
	rows := []struct {
		value             string
		devFirst, devNext bool // a developer's first push of main; a later one
		maintainerForce   bool // a maintainer force-pushes main
		rule, doc         string
	}{
		{"0", true, true, true, "no rule", "not protected"},
		{"1", true, true, false, "push 30 merge 30", "developers push"},
		{"2", false, false, false, "push 40 merge 40", "maintainers push"},
		{"3", false, false, false, "push 40 merge 30", "maintainers push, developers merge"},
		{"4", true, false, false, "push 40 merge 40", "maintainers push after a developer's first push"},
	}
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d, nil)
			admin := http.Header{"Private-Token": {f.Token(f.users["boss"], auth.ScopeAPI)}, "Content-Type": {"application/json"}}
			for _, row := range rows {
				t.Run(row.value, func(t *testing.T) {
					if resp, body := f.do(t, "PUT", "/api/v4/application/settings", admin, strings.NewReader(`{"default_branch_protection":`+row.value+`}`)); resp.StatusCode != 200 {
						t.Fatalf("setting: %d %s", resp.StatusCode, body)
					}
					path := "grp/dbp" + row.value
					if resp, body := f.do(t, "POST", "/api/v4/projects", admin, strings.NewReader(`{"path":"dbp`+row.value+`","namespace_id":"grp","visibility":"private"}`)); resp.StatusCode != 201 {
						t.Fatalf("create project: %d %s", resp.StatusCode, body)
					}
					resp, body := f.do(t, "GET", "/api/v4/projects/grp%2Fdbp"+row.value+"/protected_branches", admin, nil)
					if resp.StatusCode != 200 {
						t.Fatalf("list: %d %s", resp.StatusCode, body)
					}
					var rules []struct {
						Name string
						Push []struct {
							AccessLevel int `json:"access_level"`
						} `json:"push_access_levels"`
						Merge []struct {
							AccessLevel int `json:"access_level"`
						} `json:"merge_access_levels"`
						Force bool `json:"allow_force_push"`
					}
					if err := json.Unmarshal([]byte(body), &rules); err != nil {
						t.Fatalf("list: %v: %s", err, body)
					}
					got := "no rule"
					if len(rules) == 1 && rules[0].Name == "main" && len(rules[0].Push) == 1 && len(rules[0].Merge) == 1 && !rules[0].Force {
						got = fmt.Sprintf("push %d merge %d", rules[0].Push[0].AccessLevel, rules[0].Merge[0].AccessLevel)
					} else if len(rules) != 0 {
						got = body
					}
					if got != row.rule {
						t.Fatalf("%s: rules %s, want %s", row.doc, got, row.rule)
					}
					wt := f.WorkTree()
					r := f.Git(wt, "push", f.url("developer", path), "main")
					if (r.Err == nil) != row.devFirst {
						t.Fatalf("%s: developer's first push: err=%v\n%s", row.doc, r.Err, r.Stderr)
					}
					if r.Err != nil {
						f.MustGit(wt, "push", "-q", f.url("maintainer", path), "main")
					}
					f.commit(t, wt, "next.txt", "next")
					r = f.Git(wt, "push", f.url("developer", path), "main")
					if (r.Err == nil) != row.devNext {
						t.Fatalf("%s: developer's next push: err=%v\n%s", row.doc, r.Err, r.Stderr)
					}
					if r.Err != nil {
						f.MustGit(wt, "push", "-q", f.url("maintainer", path), "main")
					}
					f.MustGit(wt, "commit", "-q", "--amend", "-m", "rewritten")
					r = f.Git(wt, "push", "--force", f.url("maintainer", path), "main")
					if (r.Err == nil) != row.maintainerForce {
						t.Fatalf("%s: maintainer's force push: err=%v\n%s", row.doc, r.Err, r.Stderr)
					}
				})
			}
		})
	}
}
