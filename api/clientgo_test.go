package api_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"
	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// These tests drive the API with GitLab's own Go client: if it decodes
// our answers into its types and sees the fields it expects, unchanged
// GitLab tooling works against gitgate.

func statusOf(t *testing.T, r *gitlab.Response) int {
	t.Helper()
	if r == nil {
		t.Fatal("no response")
	}
	return r.StatusCode
}

// res is a client-go answer, so a call reads ans(c.X()).must(t).
type res[T any] struct {
	v   T
	r   *gitlab.Response
	err error
}

func ans[T any](v T, r *gitlab.Response, err error) res[T] { return res[T]{v, r, err} }

func (x res[T]) must(t *testing.T) T {
	t.Helper()
	if x.err != nil {
		t.Fatalf("client-go: %v", x.err)
	}
	return x.v
}

func TestClientGoUsers(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin, alice := f.client(f.adminToken), f.client(f.aliceToken)

		me := ans(alice.Users.CurrentUser()).must(t)
		if me.Username != "alice" || me.Email != "alice@example.com" || me.State != "active" || me.IsAdmin ||
			me.CreatedAt == nil || !strings.HasSuffix(me.WebURL, "/alice") {
			t.Fatalf("current user %+v", me)
		}
		if boss := ans(admin.Users.CurrentUser()).must(t); !boss.IsAdmin {
			t.Fatal("admin not shown as admin")
		}

		created, resp, err := admin.Users.CreateUser(&gitlab.CreateUserOptions{
			Email: gitlab.Ptr("dave@example.com"), Name: gitlab.Ptr("Dave"), Username: gitlab.Ptr("dave"),
			Password: gitlab.Ptr("dave-password-1"), SkipConfirmation: gitlab.Ptr(true),
		})
		if err != nil || statusOf(t, resp) != http.StatusCreated {
			t.Fatalf("create user: %v", err)
		}
		if created.Username != "dave" || created.Name != "Dave" || created.IsAdmin {
			t.Fatalf("created %+v", created)
		}
		_, resp, err = admin.Users.CreateUser(&gitlab.CreateUserOptions{
			Email: gitlab.Ptr("other@example.com"), Name: gitlab.Ptr("x"), Username: gitlab.Ptr("dave"), ForceRandomPassword: gitlab.Ptr(true),
		})
		if err == nil || statusOf(t, resp) != http.StatusConflict || !strings.Contains(err.Error(), "Username has already been taken") {
			t.Fatalf("duplicate username: %v", err)
		}

		got := ans(alice.Users.GetUser(created.ID, gitlab.GetUsersOptions{})).must(t)
		if got.Username != "dave" || got.Email != "" {
			t.Fatalf("non-admin view of a user %+v", got)
		}
		if got := ans(admin.Users.GetUser(created.ID, gitlab.GetUsersOptions{})).must(t); got.Email != "dave@example.com" {
			t.Fatalf("admin view of a user %+v", got)
		}
		if _, resp, err := alice.Users.GetUser(424242, gitlab.GetUsersOptions{}); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("missing user: %v", err)
		}

		mod := ans(admin.Users.ModifyUser(created.ID, &gitlab.ModifyUserOptions{Name: gitlab.Ptr("David"), Admin: gitlab.Ptr(true)})).must(t)
		if mod.Name != "David" || !mod.IsAdmin {
			t.Fatalf("modified %+v", mod)
		}

		list := ans(alice.Users.ListUsers(&gitlab.ListUsersOptions{Username: gitlab.Ptr("dave")})).must(t)
		if len(list) != 1 || list[0].ID != created.ID {
			t.Fatalf("list by username %+v", list)
		}
		if list := ans(alice.Users.ListUsers(&gitlab.ListUsersOptions{Search: gitlab.Ptr("davi")})).must(t); len(list) != 1 {
			t.Fatalf("search by name found %d", len(list))
		}

		if err := admin.Users.BlockUser(created.ID); err != nil {
			t.Fatalf("block: %v", err)
		}
		blocked := ans(admin.Users.ListUsers(&gitlab.ListUsersOptions{Blocked: gitlab.Ptr(true)})).must(t)
		if len(blocked) != 1 || blocked[0].State != "blocked" {
			t.Fatalf("blocked list %+v", blocked)
		}
		active := ans(admin.Users.ListUsers(&gitlab.ListUsersOptions{Active: gitlab.Ptr(true)})).must(t)
		for _, u := range active {
			if u.ID == created.ID {
				t.Fatal("blocked user listed as active")
			}
		}
		if err := admin.Users.BlockUser(f.admin.ID); err == nil {
			t.Fatal("an admin blocked themselves through the API")
		}
		if err := admin.Users.UnblockUser(created.ID); err != nil {
			t.Fatalf("unblock: %v", err)
		}
		if u := ans(admin.Users.GetUser(created.ID, gitlab.GetUsersOptions{})).must(t); u.State != "active" {
			t.Fatalf("after unblock: %s", u.State)
		}
		if err := admin.Users.UnblockUser(424242); !errors.Is(err, gitlab.ErrUserNotFound) {
			t.Fatalf("unblock missing user: %v", err)
		}
	})
}

func TestClientGoPersonalAccessTokens(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin, alice := f.client(f.adminToken), f.client(f.aliceToken)
		now := f.env.Server.Auth.Now()
		exp := auth.AddDays(auth.Today(now), 10)

		// Admin creates a token for alice.
		pat, resp, err := admin.Users.CreatePersonalAccessToken(f.alice.ID, &gitlab.CreatePersonalAccessTokenOptions{
			Name: gitlab.Ptr("deploy"), Scopes: &[]string{"read_api", "read_user"}, ExpiresAt: gitlab.Ptr(gitlab.ISOTime(exp)),
			Description: gitlab.Ptr("for the deploy job"),
		})
		if err != nil || statusOf(t, resp) != http.StatusCreated {
			t.Fatalf("create: %v", err)
		}
		if pat.Name != "deploy" || pat.UserID != f.alice.ID || !pat.Active || pat.Revoked || !strings.HasPrefix(pat.Token, "glpat-") ||
			pat.Description != "for the deploy job" || time.Time(*pat.ExpiresAt).Format("2006-01-02") != exp.Format("2006-01-02") ||
			!slices.Equal(pat.Scopes, []string{"read_api", "read_user"}) || pat.CreatedAt == nil {
			t.Fatalf("created %+v", pat)
		}
		deploy := f.client(pat.Token)

		// Self.
		self := ans(deploy.PersonalAccessTokens.GetSinglePersonalAccessToken()).must(t)
		if self.ID != pat.ID || self.Token != "" {
			t.Fatalf("self %+v", self)
		}
		// By id, own and as admin.
		if got := ans(alice.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(pat.ID)).must(t); got.Name != "deploy" {
			t.Fatalf("by id %+v", got)
		}
		if got := ans(admin.PersonalAccessTokens.GetSinglePersonalAccessTokenByID(pat.ID)).must(t); got.UserID != f.alice.ID {
			t.Fatalf("admin by id %+v", got)
		}

		// Lists: own for alice; everyone's, or filtered, for the admin.
		own := ans(alice.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{})).must(t)
		for _, tk := range own {
			if tk.UserID != f.alice.ID {
				t.Fatalf("alice sees %+v", tk)
			}
		}
		if len(own) != 2 {
			t.Fatalf("alice has %d tokens", len(own))
		}
		all := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{})).must(t)
		if len(all) != 3 {
			t.Fatalf("admin sees %d tokens", len(all))
		}
		byUser := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{UserID: gitlab.Ptr(f.alice.ID)})).must(t)
		if len(byUser) != 2 {
			t.Fatalf("admin filtered by user sees %d", len(byUser))
		}
		search := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{Search: gitlab.Ptr("depl")})).must(t)
		if len(search) != 1 || search[0].ID != pat.ID {
			t.Fatalf("search %+v", search)
		}
		soon := gitlab.ISOTime(auth.AddDays(auth.Today(now), 15))
		if l := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{ExpiresBefore: &soon})).must(t); len(l) != 1 {
			t.Fatalf("expires_before found %d", len(l))
		}
		if l := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{ExpiresAfter: &soon})).must(t); len(l) != 2 {
			t.Fatalf("expires_after found %d", len(l))
		}
		yesterday := gitlab.ISOTime(auth.AddDays(auth.Today(now), -1))
		if l := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{CreatedAfter: &yesterday})).must(t); len(l) != 3 {
			t.Fatalf("created_after found %d", len(l))
		}
		if l := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{CreatedBefore: &yesterday})).must(t); len(l) != 0 {
			t.Fatalf("created_before found %d", len(l))
		}

		// Rotate by id and self; the old one is revoked at once.
		rot, resp, err := alice.PersonalAccessTokens.RotatePersonalAccessToken(pat.ID, &gitlab.RotatePersonalAccessTokenOptions{})
		if err != nil || statusOf(t, resp) != http.StatusOK || rot.Token == "" || rot.ID == pat.ID || rot.Name != "deploy" {
			t.Fatalf("rotate: %v %+v", err, rot)
		}
		if _, _, err := deploy.Users.CurrentUser(); err == nil {
			t.Fatal("rotated token still works")
		}
		rotClient := f.client(rot.Token)
		if _, _, err := rotClient.PersonalAccessTokens.RotatePersonalAccessTokenSelf(&gitlab.RotatePersonalAccessTokenOptions{}); err == nil {
			t.Fatal("a read_api token rotated itself (needs api)")
		}
		apiTok := f.client(f.env.Token(f.alice, auth.ScopeAPI))
		rot2 := ans(apiTok.PersonalAccessTokens.RotatePersonalAccessTokenSelf(&gitlab.RotatePersonalAccessTokenOptions{
			ExpiresAt: gitlab.Ptr(gitlab.ISOTime(auth.AddDays(auth.Today(now), 2)))})).must(t)
		if rot2.Token == "" || time.Time(*rot2.ExpiresAt).Format("2006-01-02") != auth.AddDays(auth.Today(now), 2).Format("2006-01-02") {
			t.Fatalf("self rotation %+v", rot2)
		}

		// state and revoked filters.
		inactive := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
			UserID: gitlab.Ptr(f.alice.ID), State: gitlab.Ptr("inactive")})).must(t)
		if len(inactive) != 2 {
			t.Fatalf("inactive %d", len(inactive))
		}
		revoked := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
			UserID: gitlab.Ptr(f.alice.ID), Revoked: gitlab.Ptr(true)})).must(t)
		for _, tk := range revoked {
			if !tk.Revoked || tk.Active {
				t.Fatalf("revoked filter returned %+v", tk)
			}
		}
		activeList := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{
			UserID: gitlab.Ptr(f.alice.ID), State: gitlab.Ptr("active")})).must(t)
		if len(activeList) != 3 {
			t.Fatalf("active %d", len(activeList))
		}

		// last_used_at is recorded off the request path.
		deadline := time.Now().Add(5 * time.Second)
		for {
			tk := ans(rotClient.PersonalAccessTokens.GetSinglePersonalAccessToken()).must(t)
			if tk.LastUsedAt != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("last_used_at never recorded")
			}
			time.Sleep(50 * time.Millisecond)
		}
		usedSince := gitlab.ISOTime(auth.Today(now))
		if l := ans(admin.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{LastUsedAfter: &usedSince})).must(t); len(l) == 0 {
			t.Fatal("last_used_after found nothing")
		}

		// Revoke by id and self.
		resp, err = admin.PersonalAccessTokens.RevokePersonalAccessTokenByID(rot.ID)
		if err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("revoke: %v", err)
		}
		if _, _, err := rotClient.Users.CurrentUser(); err == nil {
			t.Fatal("revoked token still works")
		}
		selfClient := f.client(rot2.Token)
		resp, err = selfClient.PersonalAccessTokens.RevokePersonalAccessTokenSelf()
		if err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("revoke self: %v", err)
		}
		if _, resp, err := selfClient.Users.CurrentUser(); err == nil || statusOf(t, resp) != 401 {
			t.Fatal("self-revoked token still works")
		}
	})
}

func TestClientGoImpersonationTokens(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	admin := f.client(f.adminToken)
	imp, resp, err := admin.Users.CreateImpersonationToken(f.alice.ID, &gitlab.CreateImpersonationTokenOptions{
		Name: gitlab.Ptr("support"), Scopes: &[]string{"api"}, ExpiresAt: gitlab.Ptr(auth.AddDays(auth.Today(time.Now()), 5)),
	})
	if err != nil || statusOf(t, resp) != http.StatusCreated || imp.Token == "" || !imp.Active {
		t.Fatalf("create: %v %+v", err, imp)
	}
	if u := ans(f.client(imp.Token).Users.CurrentUser()).must(t); u.Username != "alice" {
		t.Fatalf("impersonation acts as %s", u.Username)
	}
	// Impersonation tokens are not in the user's own list.
	for _, tk := range ans(f.client(f.aliceToken).PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{})).must(t) {
		if tk.ID == imp.ID {
			t.Fatal("impersonation token shown to the user")
		}
	}
	list := ans(admin.Users.GetAllImpersonationTokens(f.alice.ID, &gitlab.GetAllImpersonationTokensOptions{State: gitlab.Ptr("active")})).must(t)
	if len(list) != 1 || list[0].ID != imp.ID || list[0].Token != "" {
		t.Fatalf("list %+v", list)
	}
	if got := ans(admin.Users.GetImpersonationToken(f.alice.ID, imp.ID)).must(t); got.Name != "support" {
		t.Fatalf("get %+v", got)
	}
	if resp, err := admin.Users.RevokeImpersonationToken(f.alice.ID, imp.ID); err != nil || statusOf(t, resp) != http.StatusNoContent {
		t.Fatalf("revoke: %v", err)
	}
	if inactive := ans(admin.Users.GetAllImpersonationTokens(f.alice.ID, &gitlab.GetAllImpersonationTokensOptions{State: gitlab.Ptr("inactive")})).must(t); len(inactive) != 1 || !inactive[0].Revoked {
		t.Fatalf("inactive %+v", inactive)
	}
	if _, _, err := f.client(imp.Token).Users.CurrentUser(); err == nil {
		t.Fatal("revoked impersonation token works")
	}
}

func TestClientGoSSHKeys(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		alice, admin := f.client(f.aliceToken), f.client(f.adminToken)
		text := newKey(t)
		k, resp, err := alice.Users.AddSSHKey(&gitlab.AddSSHKeyOptions{Title: gitlab.Ptr("laptop"), Key: gitlab.Ptr(text)})
		if err != nil || statusOf(t, resp) != http.StatusCreated || k.Title != "laptop" || !strings.HasPrefix(k.Key, text) || k.CreatedAt == nil {
			t.Fatalf("add: %v %+v", err, k)
		}
		if _, resp, err := alice.Users.AddSSHKey(&gitlab.AddSSHKeyOptions{Title: gitlab.Ptr("again"), Key: gitlab.Ptr(text)}); err == nil || statusOf(t, resp) != 400 {
			t.Fatalf("duplicate key: %v", err)
		}
		if _, resp, err := alice.Users.AddSSHKey(&gitlab.AddSSHKeyOptions{Title: gitlab.Ptr("bad"), Key: gitlab.Ptr("ssh-rsa AAAA")}); err == nil || statusOf(t, resp) != 400 {
			t.Fatalf("bad key: %v", err)
		}
		if keys := ans(alice.Users.ListSSHKeys(&gitlab.ListSSHKeysOptions{})).must(t); len(keys) != 1 || keys[0].ID != k.ID {
			t.Fatalf("list %+v", keys)
		}
		if got := ans(alice.Users.GetSSHKey(k.ID)).must(t); got.Title != "laptop" {
			t.Fatalf("get %+v", got)
		}
		for _, uid := range []any{f.alice.ID, "alice"} {
			if keys := ans(admin.Users.ListSSHKeysForUser(uid, &gitlab.ListSSHKeysForUserOptions{})).must(t); len(keys) != 1 {
				t.Fatalf("keys of %v: %+v", uid, keys)
			}
		}
		if _, resp, err := admin.Users.ListSSHKeysForUser("nobody", &gitlab.ListSSHKeysForUserOptions{}); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("keys of nobody: %v", err)
		}
		// Someone else's key cannot be deleted through /user/keys.
		if resp, err := admin.Users.DeleteSSHKey(k.ID); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("admin deleted alice's key via /user/keys: %v", err)
		}
		if resp, err := alice.Users.DeleteSSHKey(k.ID); err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("delete: %v", err)
		}
		if keys := ans(alice.Users.ListSSHKeys(&gitlab.ListSSHKeysOptions{})).must(t); len(keys) != 0 {
			t.Fatalf("after delete %+v", keys)
		}
	})
}

func TestClientGoProjectsAndMembers(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		alice, admin := f.client(f.aliceToken), f.client(f.adminToken)
		bob := f.env.User("bob", testenv.UserOpts{})
		bobClient := f.client(f.env.Token(bob, auth.ScopeAPI))

		p, resp, err := alice.Projects.CreateProject(&gitlab.CreateProjectOptions{
			Name: gitlab.Ptr("My Tool"), Visibility: gitlab.Ptr(gitlab.PrivateVisibility), DefaultBranch: gitlab.Ptr("trunk"),
			Description: gitlab.Ptr("a tool"),
		})
		if err != nil || statusOf(t, resp) != http.StatusCreated {
			t.Fatalf("create: %v", err)
		}
		if p.Path != "my-tool" || p.PathWithNamespace != "alice/my-tool" || p.DefaultBranch != "trunk" || p.Visibility != gitlab.PrivateVisibility ||
			p.Namespace == nil || p.Namespace.Kind != "user" || p.Owner == nil || p.Owner.Username != "alice" ||
			!strings.HasSuffix(p.HTTPURLToRepo, "/alice/my-tool.git") || p.Description != "a tool" || p.CreatedAt == nil {
			t.Fatalf("created %+v", p)
		}
		if _, resp, err := alice.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("my-tool")}); err == nil || statusOf(t, resp) != 400 {
			t.Fatalf("duplicate project: %v", err)
		}

		// A group where bob is a developer: he may create there, alice not.
		if _, err := f.env.Server.Repos.CreateGroup(f.ctx(), "team", "Team", "private", 0); err != nil {
			t.Fatal(err)
		}
		f.env.Member("team", bob, access.Developer)
		ns, err := f.env.Server.Repos.NamespaceByPath(f.ctx(), "team")
		if err != nil {
			t.Fatal(err)
		}
		gp := ans(bobClient.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("svc"), NamespaceID: gitlab.Ptr(ns.ID)})).must(t)
		if gp.PathWithNamespace != "team/svc" || gp.Namespace.Kind != "group" {
			t.Fatalf("group project %+v", gp)
		}
		// Alice cannot see the private group: it is as missing to her.
		if _, resp, err := alice.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("x"), NamespaceID: gitlab.Ptr(ns.ID)}); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("alice created in team: %v", err)
		}

		// GET by id and by URL-encoded path; invisible is 404.
		for _, pid := range []any{p.ID, "alice/my-tool"} {
			got := ans(alice.Projects.GetProject(pid, &gitlab.GetProjectOptions{})).must(t)
			if got.ID != p.ID || got.Permissions == nil || got.Permissions.ProjectAccess == nil || got.Permissions.ProjectAccess.AccessLevel != gitlab.OwnerPermissions {
				t.Fatalf("get %v: %+v", pid, got)
			}
		}
		if _, resp, err := bobClient.Projects.GetProject("alice/my-tool", nil); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("bob sees alice's private project: %v", err)
		}
		if got := ans(bobClient.Projects.GetProject("team/svc", nil)).must(t); got.ID != gp.ID {
			t.Fatalf("group project by path %+v", got)
		}

		// Lists.
		f.env.Project("alice/open", "public")
		mine := ans(alice.Projects.ListProjects(&gitlab.ListProjectsOptions{Owned: gitlab.Ptr(true)})).must(t)
		if len(mine) != 2 {
			t.Fatalf("owned %d", len(mine))
		}
		bobs := ans(bobClient.Projects.ListProjects(&gitlab.ListProjectsOptions{})).must(t)
		if names := projectPaths(bobs); !slices.Equal(names, []string{"alice/open", "team/svc"}) {
			t.Fatalf("bob sees %v", names)
		}
		if m := ans(bobClient.Projects.ListProjects(&gitlab.ListProjectsOptions{Membership: gitlab.Ptr(true)})).must(t); len(m) != 1 {
			t.Fatalf("bob's memberships %v", projectPaths(m))
		}
		if s := ans(admin.Projects.ListProjects(&gitlab.ListProjectsOptions{Search: gitlab.Ptr("tool")})).must(t); len(s) != 1 {
			t.Fatalf("search %v", projectPaths(s))
		}
		if s := ans(admin.Projects.ListProjects(&gitlab.ListProjectsOptions{Visibility: gitlab.Ptr(gitlab.PublicVisibility)})).must(t); len(s) != 1 {
			t.Fatalf("visibility %v", projectPaths(s))
		}
		anon := f.client("")
		if s := ans(anon.Projects.ListProjects(&gitlab.ListProjectsOptions{})).must(t); len(s) != 1 || s[0].PathWithNamespace != "alice/open" {
			t.Fatalf("anonymous sees %v", projectPaths(s))
		}

		// Members.
		mem, resp, err := alice.ProjectMembers.AddProjectMember(p.ID, &gitlab.AddProjectMemberOptions{UserID: bob.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)})
		if err != nil || statusOf(t, resp) != http.StatusCreated || mem.Username != "bob" || mem.AccessLevel != gitlab.DeveloperPermissions {
			t.Fatalf("add member: %v %+v", err, mem)
		}
		if _, resp, err := alice.ProjectMembers.AddProjectMember(p.ID, &gitlab.AddProjectMemberOptions{UserID: bob.ID, AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}); err == nil || statusOf(t, resp) != 409 {
			t.Fatalf("duplicate member: %v", err)
		}
		members := ans(bobClient.ProjectMembers.ListProjectMembers("alice/my-tool", &gitlab.ListProjectMembersOptions{})).must(t)
		if len(members) != 2 || members[0].Username != "alice" || members[0].AccessLevel != gitlab.OwnerPermissions || members[1].Username != "bob" {
			t.Fatalf("members %+v", members)
		}
		// A developer cannot manage members or delete the project.
		if _, resp, err := bobClient.ProjectMembers.AddProjectMember(p.ID, &gitlab.AddProjectMemberOptions{UserID: f.admin.ID, AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("developer added a member: %v", err)
		}
		if resp, err := bobClient.Projects.DeleteProject(p.ID, nil); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("developer deleted the project: %v", err)
		}
		if resp, err := alice.ProjectMembers.DeleteProjectMember(p.ID, bob.ID); err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("remove member: %v", err)
		}
		if resp, err := alice.ProjectMembers.DeleteProjectMember(p.ID, bob.ID); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("remove non-member: %v", err)
		}
		if _, resp, err := bobClient.Projects.GetProject(p.ID, nil); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("removed member still sees the project: %v", err)
		}

		// Delete.
		if resp, err := alice.Projects.DeleteProject("alice/my-tool", nil); err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("delete: %v", err)
		}
		if _, resp, err := alice.Projects.GetProject(p.ID, nil); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("deleted project still there: %v", err)
		}
	})
}

func projectPaths(ps []*gitlab.Project) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.PathWithNamespace)
	}
	slices.Sort(out)
	return out
}

func TestClientGoSettingsAndVersion(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin := f.client(f.adminToken)
		st := ans(admin.Settings.GetSettings()).must(t)
		if !st.RequirePersonalAccessTokenExpiry || st.PersonalAccessTokenPrefix != "glpat-" || !st.PasswordAuthenticationEnabledForGit || st.MaxPersonalAccessTokenLifetime != 0 {
			t.Fatalf("defaults %+v", st)
		}
		st = ans(admin.Settings.UpdateSettings(&gitlab.UpdateSettingsOptions{
			MaxPersonalAccessTokenLifetime: gitlab.Ptr(int64(5)), PersonalAccessTokenPrefix: gitlab.Ptr("corp-"),
			PasswordAuthenticationEnabledForGit: gitlab.Ptr(false),
		})).must(t)
		if st.MaxPersonalAccessTokenLifetime != 5 || st.PersonalAccessTokenPrefix != "corp-" || st.PasswordAuthenticationEnabledForGit {
			t.Fatalf("updated %+v", st)
		}
		// The settings apply: the lifetime cut the admin's own token and
		// new tokens take the prefix.
		self := ans(admin.PersonalAccessTokens.GetSinglePersonalAccessToken()).must(t)
		limit := auth.AddDays(auth.Today(f.env.Server.Auth.Now()), 5).Format("2006-01-02")
		if time.Time(*self.ExpiresAt).Format("2006-01-02") != limit {
			t.Fatalf("token expiry %v, want %s", self.ExpiresAt, limit)
		}
		pat := ans(admin.Users.CreatePersonalAccessToken(f.alice.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("p"), Scopes: &[]string{"api"}})).must(t)
		if !strings.HasPrefix(pat.Token, "corp-") {
			t.Fatalf("token %q lacks the new prefix", pat.Token)
		}
		tooLate := gitlab.ISOTime(auth.AddDays(auth.Today(f.env.Server.Auth.Now()), 6))
		if _, resp, err := admin.Users.CreatePersonalAccessToken(f.alice.ID, &gitlab.CreatePersonalAccessTokenOptions{Name: gitlab.Ptr("p"), Scopes: &[]string{"api"}, ExpiresAt: &tooLate}); err == nil || statusOf(t, resp) != 422 {
			t.Fatalf("token beyond the limit: %v", err)
		}
		r := f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: `{"personal_access_token_prefix":"bad prefix!"}`})
		expect(t, "bad prefix", r, 400, "")
		r = f.do(req{method: "PUT", path: "/application/settings", token: f.adminToken, body: `{"max_personal_access_token_lifetime":null,"personal_access_token_prefix":""}`})
		expect(t, "reset", r, 200, "")
		if m := r.obj(t); m["max_personal_access_token_lifetime"] != nil || m["personal_access_token_prefix"] != "glpat-" {
			t.Fatalf("after reset %s", r.body)
		}

		v := ans(f.client(f.aliceToken).Version.GetVersion()).must(t)
		if !strings.HasSuffix(v.Version, "-gitgate") || v.Revision == "" {
			t.Fatalf("version %+v", v)
		}
	})
}

// Walking every page with client-go's NextPage visits each item once.
func TestClientGoWalksPages(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		for i := 0; i < 47; i++ {
			f.tokenFor(f.alice, auth.NewToken{Name: "bulk", Scopes: []string{auth.ScopeReadAPI}})
		}
		alice := f.client(f.aliceToken)
		seen := map[int64]bool{}
		opt := &gitlab.ListPersonalAccessTokensOptions{ListOptions: gitlab.ListOptions{PerPage: 20}}
		pages := 0
		for {
			list, resp, err := alice.PersonalAccessTokens.ListPersonalAccessTokens(opt)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			if resp.TotalItems != 48 || resp.TotalPages != 3 || resp.ItemsPerPage != 20 || resp.CurrentPage != int64(pages) {
				t.Fatalf("page %d headers: total %d pages %d per %d current %d", pages, resp.TotalItems, resp.TotalPages, resp.ItemsPerPage, resp.CurrentPage)
			}
			for _, tk := range list {
				if seen[tk.ID] {
					t.Fatalf("token %d seen twice", tk.ID)
				}
				seen[tk.ID] = true
			}
			if resp.NextPage == 0 {
				break
			}
			opt.Page = resp.NextPage
		}
		if pages != 3 || len(seen) != 48 {
			t.Fatalf("walked %d pages, %d tokens", pages, len(seen))
		}
		// The Link header works for clients that follow it (keyset-style).
		_, resp, err := alice.PersonalAccessTokens.ListPersonalAccessTokens(&gitlab.ListPersonalAccessTokensOptions{ListOptions: gitlab.ListOptions{PerPage: 20}})
		if err != nil || resp.NextLink == "" && !strings.Contains(resp.Header.Get("Link"), `rel="next"`) {
			t.Fatalf("no next link: %v %q", err, resp.Header.Get("Link"))
		}
	})
}

// sshSigner makes a fresh ed25519 client key: its signer and its
// authorized_keys line.
func sshSigner(t *testing.T) (gossh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return s, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(s.PublicKey())))
}

// sshLogin reports whether the SSH door accepts signer.
func sshLogin(t *testing.T, f *fixture, s gossh.Signer) bool {
	t.Helper()
	c, err := gossh.Dial("tcp", f.env.Server.SSHAddr(), &gossh.ClientConfig{User: "git", Auth: []gossh.AuthMethod{gossh.PublicKeys(s)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// An admin provisions a bot's key (python-gitlab's user.keys.create), the
// SSH door accepts it, anyone finds its owner by id or fingerprint (an
// admin only), and the admin's delete closes the door again.
func TestClientGoAdminManagesAnotherUsersSSHKeys(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin, alice := f.client(f.adminToken), f.client(f.aliceToken)
		bot := f.env.User("ci-bot", testenv.UserOpts{Bot: true})
		signer, text := sshSigner(t)
		if sshLogin(t, f, signer) {
			t.Fatal("the SSH door accepted a key nobody registered")
		}
		k, resp, err := admin.Users.AddSSHKeyForUser(bot.ID, &gitlab.AddSSHKeyOptions{Title: gitlab.Ptr("deploy"), Key: gitlab.Ptr(text)})
		if err != nil || statusOf(t, resp) != http.StatusCreated || k.Title != "deploy" || !strings.HasPrefix(k.Key, text) {
			t.Fatalf("admin adds a key for the bot: %v %+v", err, k)
		}
		if !sshLogin(t, f, signer) {
			t.Fatal("the SSH door refuses the key the admin added")
		}
		if _, resp, err := alice.Users.AddSSHKeyForUser(bot.ID, &gitlab.AddSSHKeyOptions{Title: gitlab.Ptr("x"), Key: gitlab.Ptr(newKey(t))}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("a user added a key for someone else: %v", err)
		}
		if _, resp, err := admin.Users.AddSSHKeyForUser(f.alice.ID, &gitlab.AddSSHKeyOptions{Title: gitlab.Ptr("again"), Key: gitlab.Ptr(text)}); err == nil || statusOf(t, resp) != 400 {
			t.Fatalf("one key for two users: %v", err)
		}
		if got := ans(alice.Users.GetSSHKeyForUser(bot.ID, k.ID)).must(t); got.ID != k.ID || got.Title != "deploy" {
			t.Fatalf("get a user's key %+v", got)
		}
		if _, resp, err := alice.Users.GetSSHKeyForUser(f.alice.ID, k.ID); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("the bot's key under alice: %v", err)
		}

		withUser := ans(admin.Keys.GetKeyWithUser(k.ID)).must(t)
		if withUser.User.Username != "ci-bot" || withUser.User.ID != bot.ID || withUser.Title != "deploy" {
			t.Fatalf("key with user %+v", withUser)
		}
		pub, _, _, _, err := gossh.ParseAuthorizedKey([]byte(text))
		if err != nil {
			t.Fatal(err)
		}
		for _, fp := range []string{gossh.FingerprintSHA256(pub), gossh.FingerprintLegacyMD5(pub)} {
			got := ans(admin.Keys.GetKeyByFingerprint(&gitlab.GetKeyByFingerprintOptions{Fingerprint: fp})).must(t)
			if got.ID != k.ID || got.User.Username != "ci-bot" {
				t.Fatalf("by fingerprint %s: %+v", fp, got)
			}
		}
		if _, resp, err := alice.Keys.GetKeyWithUser(k.ID); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("a user looked a key up by id: %v", err)
		}

		if resp, err := admin.Users.DeleteSSHKeyForUser(bot.ID, k.ID); err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("delete: %v", err)
		}
		if sshLogin(t, f, signer) {
			t.Fatal("the SSH door still accepts a deleted key")
		}
		if _, resp, err := admin.Users.GetSSHKeyForUser(bot.ID, k.ID); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("deleted key: %v", err)
		}
	})
}

// A group's life through the API: an admin creates it, a maintainer of it
// a subgroup (within its visibility) and a project there, the owner
// renames it (the project's clone URL follows, its repository stays) and
// manages its members, and deleting it takes its repositories.
func TestClientGoGroupsSubgroupsAndMembers(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin, alice := f.client(f.adminToken), f.client(f.aliceToken)
		bob := f.env.User("bob", testenv.UserOpts{})
		bobClient := f.client(f.env.Token(bob, auth.ScopeAPI))

		g, resp, err := admin.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Platform"), Path: gitlab.Ptr("platform"),
			Description: gitlab.Ptr("the platform team"), Visibility: gitlab.Ptr(gitlab.InternalVisibility)})
		if err != nil || statusOf(t, resp) != http.StatusCreated {
			t.Fatalf("create group: %v", err)
		}
		if g.FullPath != "platform" || g.Name != "Platform" || g.Description != "the platform team" || g.Visibility != gitlab.InternalVisibility ||
			g.ParentID != 0 || g.FullName != "Platform" || !strings.HasSuffix(g.WebURL, "/groups/platform") {
			t.Fatalf("created %+v", g)
		}
		if _, resp, err := alice.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Mine"), Path: gitlab.Ptr("mine")}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("a user created a top-level group: %v", err)
		}
		// The creator is the owner.
		owners := ans(admin.Groups.ListGroupMembers(g.ID, &gitlab.ListGroupMembersOptions{})).must(t)
		if len(owners) != 1 || owners[0].Username != "boss" || owners[0].AccessLevel != gitlab.OwnerPermissions {
			t.Fatalf("members of a new group %+v", owners)
		}
		m, resp, err := admin.GroupMembers.AddGroupMember(g.ID, &gitlab.AddGroupMemberOptions{UserID: gitlab.Ptr(f.alice.ID), AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)})
		if err != nil || statusOf(t, resp) != http.StatusCreated || m.Username != "alice" || m.AccessLevel != gitlab.MaintainerPermissions {
			t.Fatalf("add group member: %v %+v", err, m)
		}

		// A maintainer creates a subgroup, never above its parent.
		if _, resp, err := alice.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Tools"), Path: gitlab.Ptr("tools"),
			ParentID: gitlab.Ptr(g.ID), Visibility: gitlab.Ptr(gitlab.PublicVisibility)}); err == nil || statusOf(t, resp) != 400 {
			t.Fatalf("public subgroup of an internal group: %v", err)
		}
		sub, resp, err := alice.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("Tools"), Path: gitlab.Ptr("tools"), ParentID: gitlab.Ptr(g.ID)})
		if err != nil || statusOf(t, resp) != http.StatusCreated || sub.FullPath != "platform/tools" || sub.ParentID != g.ID ||
			sub.FullName != "Platform / Tools" || sub.Visibility != gitlab.PrivateVisibility {
			t.Fatalf("subgroup: %v %+v", err, sub)
		}
		if _, resp, err := bobClient.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("X"), Path: gitlab.Ptr("x"), ParentID: gitlab.Ptr(g.ID)}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("a non-member created a subgroup of an internal group: %v", err)
		}
		if _, resp, err := bobClient.Groups.CreateGroup(&gitlab.CreateGroupOptions{Name: gitlab.Ptr("X"), Path: gitlab.Ptr("x"), ParentID: gitlab.Ptr(sub.ID)}); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("a non-member learned of a private subgroup: %v", err)
		}
		subs := ans(bobClient.Groups.ListSubGroups(g.ID, &gitlab.ListSubGroupsOptions{})).must(t)
		if len(subs) != 0 {
			t.Fatalf("bob sees private subgroups %+v", subs)
		}
		subs = ans(alice.Groups.ListSubGroups("platform", &gitlab.ListSubGroupsOptions{})).must(t)
		if len(subs) != 1 || subs[0].ID != sub.ID {
			t.Fatalf("subgroups %+v", subs)
		}

		p := ans(alice.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("svc"), NamespaceID: gitlab.Ptr(sub.ID)})).must(t)
		if n := ans(alice.Groups.ListGroupProjects(g.ID, &gitlab.ListGroupProjectsOptions{})).must(t); len(n) != 0 {
			t.Fatalf("projects directly in platform %v", projectPaths(n))
		}
		in := ans(alice.Groups.ListGroupProjects(g.ID, &gitlab.ListGroupProjectsOptions{IncludeSubGroups: gitlab.Ptr(true)})).must(t)
		if paths := projectPaths(in); !slices.Equal(paths, []string{"platform/tools/svc"}) {
			t.Fatalf("projects within platform %v", paths)
		}
		if detail := ans(alice.Groups.GetGroup("platform/tools", &gitlab.GetGroupOptions{})).must(t); detail.ID != sub.ID {
			t.Fatalf("group by path %+v", detail)
		}
		// GroupDetail embeds the projects (client-go deprecates reading
		// them, so they are checked as JSON).
		embedded := f.do(req{path: "/groups/platform%2Ftools", token: f.aliceToken}).obj(t)["projects"].([]any)
		if len(embedded) != 1 || embedded[0].(map[string]any)["path_with_namespace"] != "platform/tools/svc" {
			t.Fatalf("group detail projects %v", embedded)
		}

		// Renaming is the owner's; the project follows, its repository
		// stays where it is.
		if _, resp, err := alice.Groups.UpdateGroup(g.ID, &gitlab.UpdateGroupOptions{Path: gitlab.Ptr("plat")}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("a maintainer renamed the group: %v", err)
		}
		up := ans(admin.Groups.UpdateGroup(g.ID, &gitlab.UpdateGroupOptions{Path: gitlab.Ptr("plat"), Name: gitlab.Ptr("Plat"),
			Description: gitlab.Ptr("renamed")})).must(t)
		if up.FullPath != "plat" || up.Name != "Plat" || up.Description != "renamed" {
			t.Fatalf("updated %+v", up)
		}
		moved := ans(alice.Projects.GetProject(p.ID, nil)).must(t)
		if moved.PathWithNamespace != "plat/tools/svc" || !strings.HasSuffix(moved.HTTPURLToRepo, "/plat/tools/svc.git") {
			t.Fatalf("project after the rename %+v", moved)
		}
		if r := f.env.Git(t.TempDir(), "ls-remote", f.env.RepoURL("alice", "alice-password-1", "plat/tools/svc")); r.Err != nil {
			t.Fatalf("clone URL after the rename: %v %s", r.Err, r.Stderr)
		}
		if _, resp, err := alice.Groups.GetGroup("platform", nil); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("the old path still answers: %v", err)
		}

		// Members: change a level, refuse to orphan the group.
		em := ans(admin.GroupMembers.EditGroupMember(g.ID, f.alice.ID, &gitlab.EditGroupMemberOptions{AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)})).must(t)
		if em.AccessLevel != gitlab.DeveloperPermissions {
			t.Fatalf("edited member %+v", em)
		}
		if _, resp, err := admin.GroupMembers.EditGroupMember(g.ID, f.admin.ID, &gitlab.EditGroupMemberOptions{AccessLevel: gitlab.Ptr(gitlab.DeveloperPermissions)}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("demoted the last owner: %v", err)
		}
		if resp, err := admin.GroupMembers.RemoveGroupMember(g.ID, f.admin.ID, nil); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("removed the last owner: %v", err)
		}
		if resp, err := admin.GroupMembers.RemoveGroupMember(g.ID, f.alice.ID, nil); err != nil || statusOf(t, resp) != http.StatusNoContent {
			t.Fatalf("remove member: %v", err)
		}
		if resp, err := admin.GroupMembers.RemoveGroupMember(g.ID, f.alice.ID, nil); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("remove a non-member: %v", err)
		}

		// Deleting the group takes its subgroups, projects and repositories.
		dir := f.env.Server.Repos.DiskPath(p.ID)
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("repository before the delete: %v", err)
		}
		if resp, err := admin.Groups.DeleteGroup(g.ID, nil); err != nil || statusOf(t, resp) != http.StatusAccepted {
			t.Fatalf("delete group: %v", err)
		}
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("repository after the delete: %v", err)
		}
		for _, id := range []any{g.ID, sub.ID} {
			if _, resp, err := admin.Groups.GetGroup(id, nil); err == nil || statusOf(t, resp) != 404 {
				t.Fatalf("group %v after the delete: %v", id, err)
			}
		}
	})
}

// GET /namespaces lists a user's own namespace and their groups (every
// namespace for an admin); GET /namespaces/:id shows only what the caller
// may see.
func TestClientGoNamespaces(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin, alice := f.client(f.adminToken), f.client(f.aliceToken)
		team := f.group(t, "team", access.Private)
		f.group(t, "team/sub", access.Private)
		f.group(t, "other", access.Private)
		f.env.Member("team", f.alice, access.Owner)
		f.env.User("bob", testenv.UserOpts{})

		paths := func(ns []*gitlab.Namespace) []string {
			var out []string
			for _, n := range ns {
				out = append(out, n.Kind+":"+n.FullPath)
			}
			return out
		}
		if got := paths(ans(alice.Namespaces.ListNamespaces(&gitlab.ListNamespacesOptions{})).must(t)); !slices.Equal(got, []string{"user:alice", "group:team"}) {
			t.Fatalf("alice's namespaces %v", got)
		}
		if got := paths(ans(alice.Namespaces.ListNamespaces(&gitlab.ListNamespacesOptions{Search: gitlab.Ptr("tea")})).must(t)); !slices.Equal(got, []string{"group:team"}) {
			t.Fatalf("search %v", got)
		}
		if got := ans(admin.Namespaces.ListNamespaces(&gitlab.ListNamespacesOptions{})).must(t); len(got) != 7 {
			t.Fatalf("admin sees %v", paths(got))
		}
		if got := paths(ans(admin.Namespaces.ListNamespaces(&gitlab.ListNamespacesOptions{TopLevelOnly: gitlab.Ptr(true), Search: gitlab.Ptr("team")})).must(t)); !slices.Equal(got, []string{"group:team"}) {
			t.Fatalf("top level %v", got)
		}
		for _, id := range []any{team, "team", "alice", "team/sub"} {
			n := ans(alice.Namespaces.GetNamespace(id)).must(t)
			if n.FullPath == "" || n.WebURL == "" {
				t.Fatalf("namespace %v: %+v", id, n)
			}
		}
		for _, id := range []any{"other", "bob", "nosuch", 424242} {
			if _, resp, err := alice.Namespaces.GetNamespace(id); err == nil || statusOf(t, resp) != 404 {
				t.Fatalf("namespace %v: %v", id, err)
			}
		}
		if n := ans(admin.Namespaces.GetNamespace("bob")).must(t); n.Kind != "user" {
			t.Fatalf("admin's view of bob %+v", n)
		}
	})
}

// PUT /projects/:id moves the default branch (HEAD follows) only to an
// existing branch once the repository has one; a member's level changes
// with PUT …/members/:user_id; members/all shows group members too, with
// their highest level; /users/:id/projects and the list filters answer
// as GitLab's.
func TestClientGoProjectEditsMembersAndFilters(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		admin, alice := f.client(f.adminToken), f.client(f.aliceToken)
		bob := f.env.User("bob", testenv.UserOpts{})
		bobClient := f.client(f.env.Token(bob, auth.ScopeAPI))

		p := ans(alice.Projects.CreateProject(&gitlab.CreateProjectOptions{Path: gitlab.Ptr("tool")})).must(t)
		// An empty repository takes any valid name.
		if got := ans(alice.Projects.EditProject(p.ID, &gitlab.EditProjectOptions{DefaultBranch: gitlab.Ptr("develop")})).must(t); got.DefaultBranch != "develop" {
			t.Fatalf("default branch of an empty repository %+v", got)
		}
		wt := f.env.WorkTree()
		f.env.MustGit(wt, "push", "-q", f.env.Server.Repos.DiskPath(p.ID), "main", "main:release")
		if _, resp, err := alice.Projects.EditProject(p.ID, &gitlab.EditProjectOptions{DefaultBranch: gitlab.Ptr("nope")}); err == nil || statusOf(t, resp) != 400 ||
			!strings.Contains(err.Error(), "Could not set the default branch") {
			t.Fatalf("a default branch that does not exist: %v", err)
		}
		if got := ans(alice.Projects.EditProject(p.ID, &gitlab.EditProjectOptions{DefaultBranch: gitlab.Ptr("release")})).must(t); got.DefaultBranch != "release" {
			t.Fatalf("default branch %+v", got)
		}
		head := f.env.MustGit(wt, "ls-remote", "--symref", f.env.RepoURL("alice", "alice-password-1", "alice/tool"), "HEAD")
		if !strings.Contains(head, "ref: refs/heads/release\tHEAD") {
			t.Fatalf("HEAD over HTTP after the change: %q", head)
		}

		// Renaming the path: the new URL answers Git (this package's tests
		// run no pack hooks, so they list refs rather than clone).
		if got := ans(alice.Projects.EditProject(p.ID, &gitlab.EditProjectOptions{Path: gitlab.Ptr("tool2"), Name: gitlab.Ptr("Tool 2")})).must(t); got.PathWithNamespace != "alice/tool2" {
			t.Fatalf("renamed %+v", got)
		}
		refs := f.env.MustGit(wt, "ls-remote", f.env.RepoURL("alice", "alice-password-1", "alice/tool2"))
		if !strings.Contains(refs, "refs/heads/release") {
			t.Fatalf("refs after the rename: %q", refs)
		}
		if r := f.env.Git(wt, "ls-remote", f.env.RepoURL("alice", "alice-password-1", "alice/tool")); r.Err == nil {
			t.Fatal("the old path still answers Git")
		}

		// Member levels.
		ans(alice.ProjectMembers.AddProjectMember(p.ID, &gitlab.AddProjectMemberOptions{UserID: bob.ID, AccessLevel: gitlab.Ptr(gitlab.ReporterPermissions)})).must(t)
		em := ans(alice.ProjectMembers.EditProjectMember(p.ID, bob.ID, &gitlab.EditProjectMemberOptions{AccessLevel: gitlab.Ptr(gitlab.MaintainerPermissions)})).must(t)
		if em.AccessLevel != gitlab.MaintainerPermissions || em.Username != "bob" {
			t.Fatalf("edited %+v", em)
		}
		if _, resp, err := bobClient.ProjectMembers.EditProjectMember(p.ID, bob.ID, &gitlab.EditProjectMemberOptions{AccessLevel: gitlab.Ptr(gitlab.OwnerPermissions)}); err == nil || statusOf(t, resp) != 403 {
			t.Fatalf("a maintainer raised himself to owner: %v", err)
		}
		if _, resp, err := alice.ProjectMembers.EditProjectMember(p.ID, f.admin.ID, &gitlab.EditProjectMemberOptions{AccessLevel: gitlab.Ptr(gitlab.GuestPermissions)}); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("edit a non-member: %v", err)
		}

		// Inherited members: bob is a developer of the group and a
		// maintainer of its project; carol only of the group.
		f.group(t, "team", access.Private)
		gp := f.env.Project("team/app", access.Private)
		carol := f.env.User("carol", testenv.UserOpts{})
		f.env.Member("team", bob, access.Developer)
		f.env.Member("team", carol, access.Reporter)
		f.env.Member("team/app", bob, access.Maintainer)
		all := ans(bobClient.ProjectMembers.ListAllProjectMembers(gp.ID, &gitlab.ListProjectMembersOptions{})).must(t)
		levels := map[string]gitlab.AccessLevelValue{}
		for _, m := range all {
			levels[m.Username] = m.AccessLevel
		}
		if len(all) != 2 || levels["bob"] != gitlab.MaintainerPermissions || levels["carol"] != gitlab.ReporterPermissions {
			t.Fatalf("members/all %+v", levels)
		}
		if direct := ans(bobClient.ProjectMembers.ListProjectMembers(gp.ID, &gitlab.ListProjectMembersOptions{})).must(t); len(direct) != 1 {
			t.Fatalf("direct members %d", len(direct))
		}

		// A user's projects, as the caller may see them.
		f.env.Project("alice/open", access.Public)
		if got := projectPaths(ans(admin.Projects.ListUserProjects(f.alice.ID, &gitlab.ListProjectsOptions{})).must(t)); !slices.Equal(got, []string{"alice/open", "alice/tool2"}) {
			t.Fatalf("admin: alice's projects %v", got)
		}
		carolClient := f.client(f.env.Token(carol, auth.ScopeAPI))
		if got := projectPaths(ans(carolClient.Projects.ListUserProjects("alice", &gitlab.ListProjectsOptions{})).must(t)); !slices.Equal(got, []string{"alice/open"}) {
			t.Fatalf("carol: alice's projects %v", got)
		}
		if _, resp, err := carolClient.Projects.ListUserProjects("nobody", nil); err == nil || statusOf(t, resp) != 404 {
			t.Fatalf("projects of nobody: %v", err)
		}

		// Order and sort.
		ordered := func(opt *gitlab.ListProjectsOptions) []string {
			var out []string
			for _, p := range ans(admin.Projects.ListProjects(opt)).must(t) {
				out = append(out, p.PathWithNamespace)
			}
			return out
		}
		byName := ordered(&gitlab.ListProjectsOptions{OrderBy: gitlab.Ptr("path"), Sort: gitlab.Ptr("asc")})
		if !slices.Equal(byName, []string{"team/app", "alice/open", "alice/tool2"}) {
			t.Fatalf("by path ascending %v", byName)
		}
		newest := ordered(&gitlab.ListProjectsOptions{})
		if !slices.Equal(newest, []string{"alice/open", "team/app", "alice/tool2"}) {
			t.Fatalf("default order (newest first) %v", newest)
		}
		if oldest := ordered(&gitlab.ListProjectsOptions{OrderBy: gitlab.Ptr("created_at"), Sort: gitlab.Ptr("asc")}); !slices.Equal(oldest, []string{"alice/tool2", "team/app", "alice/open"}) {
			t.Fatalf("oldest first %v", oldest)
		}
	})
}
