package api_test

//lint:file-ignore SA1019 TestDefaultBranchProtectionSettingThroughTheAPI drives the deprecated integer setting on purpose

import (
	"net/http"
	"strconv"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// protectedFixture adds a private project alice/repo whose members have
// each role, with api and read_api tokens.
type protectedFixture struct {
	*fixture
	tokens map[string]string // "<role>" → api token; "<role>-read" → read_api
	pid    string
}

func newProtectedFixture(t *testing.T, f *fixture) *protectedFixture {
	p := &protectedFixture{fixture: f, tokens: map[string]string{"owner": f.aliceToken, "admin": f.adminToken}}
	proj := f.env.Project("alice/repo", access.Private)
	p.pid = strconv.FormatInt(proj.ID, 10)
	p.tokens["owner-read"] = f.env.Token(f.alice, auth.ScopeReadAPI)
	for name, l := range map[string]access.AccessLevel{"maintainer": access.Maintainer, "developer": access.Developer,
		"reporter": access.Reporter, "guest": access.Guest, "outsider": access.NoAccess} {
		u := f.env.User(name, testenv.UserOpts{Password: name + "-password-1"})
		if l != access.NoAccess {
			f.env.Member("alice/repo", u, l)
		}
		p.tokens[name] = f.env.Token(u, auth.ScopeAPI)
		p.tokens[name+"-read"] = f.env.Token(u, auth.ScopeReadAPI)
		p.tokens[name+"-git"] = f.env.Token(u, auth.ScopeWriteRepository)
	}
	return p
}

const (
	mainRule    = `{"id":1,"name":"main","push_access_levels":[{"id":1,"access_level":40,"access_level_description":"Maintainers","user_id":null,"group_id":null}],"merge_access_levels":[{"id":1,"access_level":40,"access_level_description":"Maintainers","user_id":null,"group_id":null}],"allow_force_push":false,"unprotect_access_levels":[],"code_owner_approval_required":false}`
	releaseRule = `{"id":2,"name":"release/*","push_access_levels":[{"id":2,"access_level":30,"access_level_description":"Developers + Maintainers","user_id":null,"group_id":null}],"merge_access_levels":[{"id":2,"access_level":40,"access_level_description":"Maintainers","user_id":null,"group_id":null}],"allow_force_push":true,"unprotect_access_levels":[],"code_owner_approval_required":false}`
)

// The protected branches endpoints answer as GitLab's: reading needs
// what reading the code needs, changing needs a maintainer, a caller who
// cannot see the project gets 404, read_api reads and only api writes,
// names are URL-encoded and may hold * and /.
func TestProtectedBranchesAPIAnswersAsGitLab(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		p := newProtectedFixture(t, f)
		base := "/projects/" + p.pid + "/protected_branches"
		rel := base + "/release%2F%2A"
		steps := []struct {
			doc    string
			q      req
			status int
			body   string
		}{
			{"a new project's default branch is protected", req{path: base, token: p.tokens["owner"]}, 200, `[` + mainRule + `]`},
			{"read_api reads", req{path: base + "/main", token: p.tokens["owner-read"]}, 200, mainRule},
			{"a reporter reads", req{path: base, token: p.tokens["reporter-read"]}, 200, ""},
			{"a guest may not read the code, nor its rules", req{path: base, token: p.tokens["guest"]}, 403, `{"message":"403 Forbidden"}`},
			{"a non-member of a private project gets 404", req{path: base, token: p.tokens["outsider"]}, 404, `{"message":"404 Project Not Found"}`},
			{"anonymous gets 404 too", req{path: base}, 404, `{"message":"404 Project Not Found"}`},
			{"a Git-only token reads nothing", req{path: base, token: p.tokens["maintainer-git"]}, 403, scopeBody("api read_api")},
			{"read_api does not write", req{method: "POST", path: base, token: p.tokens["maintainer-read"], body: `{"name":"x"}`}, 403, scopeBody("api")},
			{"a developer may not protect", req{method: "POST", path: base, token: p.tokens["developer"], body: `{"name":"x"}`}, 403, `{"message":"403 Forbidden"}`},
			{"a non-member may not either, and learns nothing", req{method: "POST", path: base, token: p.tokens["outsider"], body: `{"name":"x"}`}, 404, `{"message":"404 Project Not Found"}`},
			{"name is required", req{method: "POST", path: base, token: p.tokens["maintainer"], body: `{}`}, 400, `{"error":"name is missing"}`},
			{"levels are 0, 30, 40 or 60", req{method: "POST", path: base, token: p.tokens["maintainer"], body: `{"name":"x","push_access_level":20}`}, 400, `{"error":"push_access_level does not have a valid value"}`},
			{"merge levels too", req{method: "POST", path: base, token: p.tokens["maintainer"], body: `{"name":"x","merge_access_level":50}`}, 400, `{"error":"merge_access_level does not have a valid value"}`},
			{"a name git refuses is refused", req{method: "POST", path: base, token: p.tokens["maintainer"], body: `{"name":"a..b"}`}, 400, `{"message":{"name":["protected branch name \"a..b\" is not valid: git does not accept it as a branch name"]}}`},
			{"a maintainer protects a pattern", req{method: "POST", path: base, token: p.tokens["maintainer"], body: `{"name":"release/*","push_access_level":30,"allow_force_push":true}`}, 201, releaseRule},
			{"a second rule of the same name is 409", req{method: "POST", path: base, token: p.tokens["owner"], body: `{"name":"release/*"}`}, 409, `{"message":"Protected branch 'release/*' already exists"}`},
			{"the pattern is found by its encoded name", req{path: rel, token: p.tokens["developer"]}, 200, releaseRule},
			{"not by a branch it matches", req{path: base + "/release%2F1.0", token: p.tokens["developer"]}, 404, `{"message":"404 Not found"}`},
			{"search filters by name", req{path: base + "?search=REL", token: p.tokens["maintainer"]}, 200, `[` + releaseRule + `]`},
			{"a developer may not change a rule", req{method: "PATCH", path: rel, token: p.tokens["developer"], body: `{"allow_force_push":false}`}, 403, `{"message":"403 Forbidden"}`},
			{"read_api may not change a rule", req{method: "PATCH", path: rel, token: p.tokens["owner-read"], body: `{"allow_force_push":false}`}, 403, scopeBody("api")},
			{"a bad level changes nothing", req{method: "PATCH", path: rel, token: p.tokens["maintainer"], body: `{"push_access_level":35,"allow_force_push":false}`}, 400, `{"error":"push_access_level does not have a valid value"}`},
			{"unchanged after the refusal", req{path: rel, token: p.tokens["maintainer"]}, 200, releaseRule},
			{"renaming onto another rule is 409", req{method: "PATCH", path: rel, token: p.tokens["maintainer"], body: `{"name":"main"}`}, 409, `{"message":"Protected branch 'main' already exists"}`},
			{"a maintainer changes a rule", req{method: "PATCH", path: base + "/main", token: p.tokens["maintainer"], body: `{"push_access_level":0,"allow_force_push":true}`}, 200,
				`{"id":1,"name":"main","push_access_levels":[{"id":1,"access_level":0,"access_level_description":"No one","user_id":null,"group_id":null}],"merge_access_levels":[{"id":1,"access_level":40,"access_level_description":"Maintainers","user_id":null,"group_id":null}],"allow_force_push":true,"unprotect_access_levels":[],"code_owner_approval_required":false}`},
			{"a missing rule is 404 on PATCH", req{method: "PATCH", path: base + "/nope", token: p.tokens["maintainer"], body: `{"allow_force_push":true}`}, 404, `{"message":"404 Not found"}`},
			{"a developer may not unprotect", req{method: "DELETE", path: rel, token: p.tokens["developer"]}, 403, `{"message":"403 Forbidden"}`},
			{"a maintainer unprotects", req{method: "DELETE", path: rel, token: p.tokens["maintainer"]}, 204, ""},
			{"gone", req{method: "DELETE", path: rel, token: p.tokens["maintainer"]}, 404, `{"message":"404 Not found"}`},
			{"PUT is not a method of the rule", req{method: "PUT", path: base + "/main", token: p.tokens["maintainer"], body: `{}`}, 405, `{"error":"405 Not Allowed"}`},
		}
		for _, s := range steps {
			expect(t, s.doc, f.do(s.q), s.status, s.body)
		}
	})
}

// GitLab's Go client manages protected branches unchanged.
func TestClientGoProtectedBranches(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.env.Project("alice/repo", access.Private)
		c := f.client(f.aliceToken)
		b := ans(c.ProtectedBranches.ProtectRepositoryBranches("alice/repo", &gitlab.ProtectRepositoryBranchesOptions{
			Name: gitlab.Ptr("*-stable"), PushAccessLevel: gitlab.Ptr(gitlab.NoPermissions), MergeAccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions),
		})).must(t)
		if b.Name != "*-stable" || len(b.PushAccessLevels) != 1 || b.PushAccessLevels[0].AccessLevel != gitlab.NoPermissions ||
			b.PushAccessLevels[0].AccessLevelDescription != "No one" || b.MergeAccessLevels[0].AccessLevel != gitlab.DeveloperPermissions || b.AllowForcePush {
			t.Fatalf("created %+v", b)
		}
		all := ans(c.ProtectedBranches.ListProtectedBranches("alice/repo", nil)).must(t)
		if len(all) != 2 || all[0].Name != "main" || all[1].Name != "*-stable" {
			t.Fatalf("listed %+v", all)
		}
		got := ans(c.ProtectedBranches.GetProtectedBranch("alice/repo", "*-stable")).must(t)
		if got.ID != b.ID {
			t.Fatalf("got %+v", got)
		}
		up := ans(c.ProtectedBranches.UpdateProtectedBranch("alice/repo", "*-stable", &gitlab.UpdateProtectedBranchOptions{
			Name: gitlab.Ptr("stable/*"), AllowForcePush: gitlab.Ptr(true)})).must(t)
		if up.Name != "stable/*" || !up.AllowForcePush || up.PushAccessLevels[0].AccessLevel != gitlab.NoPermissions {
			t.Fatalf("updated %+v", up)
		}
		if _, r, err := c.ProtectedBranches.ProtectRepositoryBranches("alice/repo", &gitlab.ProtectRepositoryBranchesOptions{Name: gitlab.Ptr("stable/*")}); err == nil || statusOf(t, r) != http.StatusConflict {
			t.Fatalf("duplicate: %v", err)
		}
		if _, err := c.ProtectedBranches.UnprotectRepositoryBranches("alice/repo", "stable/*"); err != nil {
			t.Fatal(err)
		}
		if _, r, err := c.ProtectedBranches.GetProtectedBranch("alice/repo", "stable/*"); err == nil || statusOf(t, r) != http.StatusNotFound {
			t.Fatalf("after unprotect: %v", err)
		}
	})
}

// default_branch_protection is read and written through the settings
// endpoint, with GitLab's values 0–4 only. (client-go marks the field
// deprecated in favour of default_branch_protection_defaults, which
// gitgate does not have; the integer is what GitLab still answers.)
func TestDefaultBranchProtectionSettingThroughTheAPI(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	admin := f.client(f.adminToken)
	if st := ans(admin.Settings.GetSettings()).must(t); st.DefaultBranchProtection != 4 {
		t.Fatalf("default_branch_protection defaults to %d, want 4", st.DefaultBranchProtection)
	}
	st := ans(admin.Settings.UpdateSettings(&gitlab.UpdateSettingsOptions{DefaultBranchProtection: gitlab.Ptr(int64(1))})).must(t)
	if st.DefaultBranchProtection != 1 {
		t.Fatalf("after update %d", st.DefaultBranchProtection)
	}
	for _, bad := range []string{`5`, `-1`, `"full"`} {
		r := f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: `{"default_branch_protection":` + bad + `}`})
		if r.status != http.StatusBadRequest {
			t.Fatalf("default_branch_protection %s: %d %s", bad, r.status, r.body)
		}
	}
	r := f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: `{"default_branch_protection":null}`})
	expect(t, "reset", r, 200, "")
	if m := r.obj(t); m["default_branch_protection"] != float64(4) {
		t.Fatalf("after reset %s", r.body)
	}
}
