package api_test

import (
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// DELETE /users/:id applies repos.DeleteUser as GitLab does: the user's
// personal projects go with them (repositories on disk too), the only
// owner of a group is 409 unless hard_delete, and only admins may.
func TestDeleteUserRemovesTheirProjectsAndRefusesAGroupsOnlyOwner(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		bob := f.env.User("bob", testenv.UserOpts{})
		bobToken := f.env.Token(bob, auth.ScopeAPI)
		proj := f.env.Project("bob/tool", access.Private)
		dir := f.env.Server.Repos.DiskPath(proj.ID)
		f.group(t, "crew", access.Private)
		f.env.Member("crew", bob, access.Owner)
		path := "/users/" + strconv.FormatInt(bob.ID, 10)

		expect(t, "non-admin", f.do(req{method: "DELETE", path: path, token: f.aliceToken}), 403, "")
		expect(t, "sole owner", f.do(req{method: "DELETE", path: path, token: f.adminToken}), 409,
			`{"message":"User cannot be removed while is the sole-owner of a group"}`)
		expect(t, "still there", f.do(req{path: path, token: f.adminToken}), 200, "")
		expect(t, "self", f.do(req{method: "DELETE", path: "/users/" + strconv.FormatInt(f.admin.ID, 10), token: f.adminToken}), 403, "")
		expect(t, "missing", f.do(req{method: "DELETE", path: "/users/424242", token: f.adminToken}), 404, `{"message":"404 User Not Found"}`)

		expect(t, "hard delete", f.do(req{method: "DELETE", path: path + "?hard_delete=true", token: f.adminToken}), 204, "")
		expect(t, "gone", f.do(req{path: path, token: f.adminToken}), 404, `{"message":"404 User Not Found"}`)
		expect(t, "their project", f.do(req{path: "/projects/bob%2Ftool", token: f.adminToken}), 404, "")
		expect(t, "their group", f.do(req{path: "/groups/crew", token: f.adminToken}), 404, `{"message":"404 Group Not Found"}`)
		expect(t, "their token", f.do(req{path: "/user", token: bobToken}), 401, "")
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("the deleted user's repository is still on disk: %v", err)
		}
	})
}

// PUT /projects/:id renames within the namespace and changes visibility
// with repos.UpdateProject's rules; path and visibility need an owner.
func TestUpdateProjectRenamesAndChangesVisibilityWithinTheRules(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.group(t, "team", access.Internal)
		p := f.env.Project("team/app", access.Private)
		f.env.Project("team/taken", access.Private)
		f.env.Member("team/app", f.alice, access.Maintainer)
		path := "/projects/" + strconv.FormatInt(p.ID, 10)
		rows := []struct {
			name, token, body string
			status            int
			want              string
		}{
			{"maintainer renames the name", f.aliceToken, `{"name":"App"}`, 200, ""},
			{"maintainer may not move the path", f.aliceToken, `{"path":"web"}`, 403, ""},
			{"maintainer may not change visibility", f.aliceToken, `{"visibility":"internal"}`, 403, ""},
			{"above the group", f.adminToken, `{"visibility":"public"}`, 400, `{"message":{"visibility_level":["public is not allowed in a internal group."]}}`},
			{"unknown visibility", f.adminToken, `{"visibility":"secret"}`, 400, `{"error":"visibility does not have a valid value"}`},
			{"path taken", f.adminToken, `{"path":"taken"}`, 400, `{"message":{"path":["has already been taken"]}}`},
			{"owner renames the path", f.adminToken, `{"path":"web","visibility":"internal"}`, 200, ""},
		}
		for _, r := range rows {
			expect(t, r.name, f.do(req{method: "PUT", path: path, token: r.token, body: r.body}), r.status, r.want)
		}
		got := f.do(req{path: "/projects/team%2Fweb", token: f.adminToken}).obj(t)
		if got["id"] != float64(p.ID) || got["name"] != "App" || got["visibility"] != "internal" || got["http_url_to_repo"] != f.env.URL+"/team/web.git" {
			t.Errorf("after the updates: %v", got)
		}
		if _, err := os.Stat(f.env.Server.Repos.DiskPath(p.ID)); err != nil {
			t.Errorf("a rename moved the repository on disk: %v", err)
		}
	})
}

// GET /groups and /groups/:id show only what the caller may see.
func TestGroupsAreListedAsTheCallerMaySeeThem(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.group(t, "open", access.Public)
		f.group(t, "open/inner", access.Public)
		f.group(t, "hidden", access.Private)
		names := func(token string) []string {
			var out []string
			for _, g := range f.do(req{path: "/groups", token: token}).json(t).([]any) {
				out = append(out, fmt.Sprint(g.(map[string]any)["full_path"]))
			}
			return out
		}
		// By name, GitLab's default order ("inner" before "open").
		if got := fmt.Sprint(names(f.adminToken)); got != "[hidden open/inner open]" {
			t.Errorf("admin sees %s", got)
		}
		if got := fmt.Sprint(names(f.aliceToken)); got != "[open/inner open]" {
			t.Errorf("alice sees %s", got)
		}
		inner := f.do(req{path: "/groups/open%2Finner", token: ""}).obj(t)
		if inner["full_name"] != "open / inner" || inner["web_url"] != f.env.URL+"/groups/open/inner" || inner["parent_id"] == nil {
			t.Errorf("open/inner: %v", inner)
		}
		expect(t, "hidden to alice", f.do(req{path: "/groups/hidden", token: f.aliceToken}), 404, `{"message":"404 Group Not Found"}`)
		expect(t, "a user's namespace", f.do(req{path: "/groups/alice", token: f.adminToken}), 404, `{"message":"404 Group Not Found"}`)
	})
}
