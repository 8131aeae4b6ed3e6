package repos_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/store"
)

// manageFixture is a fresh instance: alice owns alice/proj and is the
// only owner of the group team (which holds team/app and team/sub); bob
// is a member of both projects.
type manageFixture struct {
	ctx        context.Context
	auth       *auth.Service
	repos      *repos.Service
	alice, bob *auth.User
}

func newManageFixture(t *testing.T, db *store.DB) *manageFixture {
	t.Helper()
	ctx := context.Background()
	f := &manageFixture{ctx: ctx, auth: auth.New(db), repos: repos.New(db, t.TempDir(), nil)}
	t.Cleanup(func() { f.auth.Close(ctx) })
	var err error
	if f.alice, err = f.auth.CreateUser(ctx, auth.NewUser{Username: "alice", Email: "alice@example.com"}); err != nil {
		t.Fatal(err)
	}
	if f.bob, err = f.auth.CreateUser(ctx, auth.NewUser{Username: "bob", Email: "bob@example.com"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.repos.CreateGroup(ctx, "team", "", access.Private, f.alice.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.repos.CreateGroup(ctx, "team/sub", "", access.Private, 0); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"alice/proj", "team/app"} {
		ns, name, _ := repos.SplitPath(path)
		p, err := f.repos.CreateProject(ctx, repos.NewProject{NamespacePath: ns, Path: name})
		if err != nil {
			t.Fatal(err)
		}
		if err := f.repos.AddMember(ctx, repos.MemberTarget{Project: p}, f.bob.ID, access.Developer); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *manageFixture) project(t *testing.T, path string) *repos.Project {
	t.Helper()
	p, err := f.repos.Find(f.ctx, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return p
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

func TestDeleteUserIsRefusedWhileTheyOwnProjectsOrAreAGroupsOnlyOwner(t *testing.T) {
	{
		rows := []struct {
			name     string
			opts     repos.DeleteUserOptions
			refused  string
			projects []string
			groups   []string
		}{
			{"plain", repos.DeleteUserOptions{}, "only owner of group team", nil, nil},
			{"with projects only", repos.DeleteUserOptions{WithProjects: true}, "only owner of group team", nil, nil},
			{"hard delete only", repos.DeleteUserOptions{HardDelete: true}, "alice owns 1 project", nil, nil},
			{"both", repos.DeleteUserOptions{WithProjects: true, HardDelete: true}, "", []string{"team/app", "alice/proj"}, []string{"team"}},
		}
		for _, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				testdb.Each(t, func(t *testing.T, db *store.DB) {
					f := newManageFixture(t, db)
					mine, team := f.project(t, "alice/proj"), f.project(t, "team/app")
					dirs := []string{f.repos.DiskPath(mine.ID), f.repos.DiskPath(team.ID)}
					got, err := f.repos.DeleteUser(f.ctx, f.alice.ID, r.opts)
					if r.refused != "" {
						var conflict *repos.ConflictError
						if !errors.As(err, &conflict) || !strings.Contains(err.Error(), r.refused) {
							t.Fatalf("DeleteUser(%+v) = %v, want a conflict %q", r.opts, err, r.refused)
						}
						if _, err := f.auth.User(f.ctx, f.alice.ID); err != nil {
							t.Errorf("a refused deletion removed the user: %v", err)
						}
						for _, d := range dirs {
							if !exists(d) {
								t.Errorf("a refused deletion removed %s", d)
							}
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got.Projects, r.projects) || !slices.Equal(got.Groups, r.groups) {
						t.Errorf("deleted %v and %v, want %v and %v", got.Projects, got.Groups, r.projects, r.groups)
					}
					if _, err := f.auth.User(f.ctx, f.alice.ID); !errors.Is(err, auth.ErrNotFound) {
						t.Errorf("the user is still there: %v", err)
					}
					for _, d := range dirs {
						if exists(d) {
							t.Errorf("the repository %s is still on disk", d)
						}
					}
					for _, path := range []string{"alice/proj", "team/app"} {
						if _, err := f.repos.Find(f.ctx, path); !errors.Is(err, access.ErrNotFound) {
							t.Errorf("%s survived its owner: %v", path, err)
						}
					}
					if _, err := f.repos.Namespace(f.ctx, "team/sub"); err == nil {
						t.Error("the subgroup of a deleted group survived")
					}
					// bob's memberships of the deleted projects are gone, so a
					// project that later takes a deleted one's id does not
					// inherit them.
					left, _, err := f.repos.List(f.ctx, repos.ProjectFilter{MemberOf: f.bob.ID, VisibleTo: f.bob.ID, SignedIn: true})
					if err != nil || len(left) != 0 {
						t.Errorf("bob still has projects %v (%v)", left, err)
					}
				})
			})
		}
	}
}

func TestDeleteUserWithoutProjectsOrGroupsNeedsNoOption(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newManageFixture(t, db)
		k, err := f.auth.CreateToken(f.ctx, auth.NewToken{UserID: f.bob.ID, Name: "t", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.repos.DeleteUser(f.ctx, f.bob.ID, repos.DeleteUserOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.auth.Token(f.ctx, k.Token.ID); !errors.Is(err, auth.ErrNotFound) {
			t.Errorf("a deleted user's token is still there: %v", err)
		}
		if _, err := f.auth.Authenticate(f.ctx, auth.Credential{Kind: auth.CredToken, Secret: k.Secret}); err == nil {
			t.Error("a deleted user's token still authenticates")
		}
		members, err := f.repos.MembersOf(f.ctx, repos.MemberTarget{Project: f.project(t, "alice/proj")})
		if err != nil || len(members) != 1 || members[0].UserID != f.alice.ID {
			t.Errorf("members after deleting bob: %+v %v", members, err)
		}
		if _, err := f.repos.DeleteUser(f.ctx, f.bob.ID, repos.DeleteUserOptions{}); !errors.Is(err, access.ErrNotFound) {
			t.Errorf("deleting a deleted user: %v", err)
		}
	})
}

func TestDeleteGroupIsRefusedWhileItHoldsSomethingUnlessWithProjects(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newManageFixture(t, db)
		app := f.project(t, "team/app")
		dir := f.repos.DiskPath(app.ID)
		rows := []struct {
			path    string
			with    bool
			refused string
		}{
			{"team", false, "group team holds 1 project"},
			{"alice", true, "is a user's namespace"},
			{"nowhere", true, "does not exist"},
		}
		for _, r := range rows {
			if _, err := f.repos.DeleteGroup(f.ctx, r.path, r.with); err == nil || !strings.Contains(err.Error(), r.refused) {
				t.Errorf("DeleteGroup(%s, %v) = %v, want %q", r.path, r.with, err, r.refused)
			}
		}
		if !exists(dir) {
			t.Fatal("a refused deletion removed the repository")
		}
		// An empty subgroup goes without the option; a group with a
		// subgroup does not.
		if _, err := f.repos.CreateGroup(f.ctx, "empty", "", access.Private, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.repos.CreateGroup(f.ctx, "empty/inner", "", access.Private, 0); err != nil {
			t.Fatal(err)
		}
		if _, err := f.repos.DeleteGroup(f.ctx, "empty", false); err == nil || !strings.Contains(err.Error(), "holds the subgroup empty/inner") {
			t.Errorf("deleting a group with a subgroup: %v", err)
		}
		if _, err := f.repos.DeleteGroup(f.ctx, "empty/inner", false); err != nil {
			t.Fatal(err)
		}
		paths, err := f.repos.DeleteGroup(f.ctx, "team", true)
		if err != nil || !slices.Equal(paths, []string{"team/app"}) {
			t.Fatalf("DeleteGroup(team, with projects) = %v, %v", paths, err)
		}
		if exists(dir) {
			t.Error("the deleted group's repository is still on disk")
		}
		groups, err := f.repos.Groups(f.ctx)
		if err != nil || len(groups) != 1 || groups[0].FullPath != "empty" {
			t.Errorf("groups left: %+v %v", groups, err)
		}
	})
}

func TestUpdateProjectRenamesWithinItsNamespaceAndKeepsVisibilityUnderItsGroup(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newManageFixture(t, db)
		app := f.project(t, "team/app")
		if _, err := f.repos.CreateProject(f.ctx, repos.NewProject{NamespacePath: "team", Path: "taken"}); err != nil {
			t.Fatal(err)
		}
		str := func(s string) *string { return &s }
		rows := []struct {
			name string
			c    repos.ProjectChanges
			want string // error text; "" succeeds
		}{
			{"public in a private group", repos.ProjectChanges{Visibility: str(access.Public)}, "public is not allowed in a private group."},
			{"unknown visibility", repos.ProjectChanges{Visibility: str("secret")}, "must be private, internal or public"},
			{"path taken", repos.ProjectChanges{Path: str("TAKEN")}, "project team/TAKEN already exists"},
			{"path with ..", repos.ProjectChanges{Path: str("a..b")}, "may not contain '..'"},
			{"empty name", repos.ProjectChanges{Name: str("")}, "name must be"},
			{"rename", repos.ProjectChanges{Path: str("web"), Name: str("Web")}, ""},
		}
		for _, r := range rows {
			_, err := f.repos.UpdateProject(f.ctx, app.ID, r.c)
			if r.want == "" {
				if err != nil {
					t.Errorf("%s: %v", r.name, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Errorf("%s: %v, want %q", r.name, err, r.want)
			}
		}
		p := f.project(t, "team/web")
		if p.ID != app.ID || p.Name != "Web" || !exists(f.repos.DiskPath(p.ID)) {
			t.Errorf("after the rename: %+v", p)
		}
		if _, err := f.repos.Find(f.ctx, "team/app"); !errors.Is(err, access.ErrNotFound) {
			t.Errorf("the old path still resolves: %v", err)
		}
		if _, err := f.repos.UpdateProject(f.ctx, 9999, repos.ProjectChanges{Name: str("x")}); !errors.Is(err, access.ErrNotFound) {
			t.Errorf("updating a missing project: %v", err)
		}
	})
}

func TestRemoveMemberKeepsAGroupsLastOwner(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newManageFixture(t, db)
		team, err := f.repos.ResolveTarget(f.ctx, "team")
		if err != nil {
			t.Fatal(err)
		}
		var conflict *repos.ConflictError
		if err := f.repos.RemoveMember(f.ctx, team, f.alice.ID); !errors.As(err, &conflict) {
			t.Fatalf("removing the last owner: %v", err)
		}
		if err := f.repos.AddMember(f.ctx, team, f.bob.ID, access.Owner); err != nil {
			t.Fatal(err)
		}
		if err := f.repos.RemoveMember(f.ctx, team, f.alice.ID); err != nil {
			t.Fatalf("removing one of two owners: %v", err)
		}
		if err := f.repos.RemoveMember(f.ctx, team, f.alice.ID); !errors.Is(err, access.ErrNotFound) {
			t.Errorf("removing a non-member: %v", err)
		}
		// A personal project's owner is listed but is no direct member.
		proj := repos.MemberTarget{Project: f.project(t, "alice/proj")}
		ms, err := f.repos.MembersOf(f.ctx, proj)
		if err != nil || len(ms) != 2 || ms[0].UserID != f.alice.ID || ms[0].AccessLevel != access.Owner || ms[1].UserID != f.bob.ID {
			t.Fatalf("members of alice/proj: %+v %v", ms, err)
		}
		if err := f.repos.RemoveMember(f.ctx, proj, f.alice.ID); !errors.Is(err, access.ErrNotFound) {
			t.Errorf("removing a personal project's owner: %v", err)
		}
	})
}

// A group's rows go only together with the repositories that were set
// aside for them: when a project was created in the group after its
// projects were listed, the deletion changes nothing (store.ErrChanged)
// rather than leave that project's repository on disk without a row.
func TestDeletingANamespaceWhoseProjectsChangedMeanwhileDeletesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newManageFixture(t, db)
		ns, err := db.NamespaceByPath(f.ctx, "team")
		if err != nil {
			t.Fatal(err)
		}
		listed, err := db.ProjectIDsWithin(f.ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		late, err := f.repos.CreateProject(f.ctx, repos.NewProject{NamespacePath: "team/sub", Path: "late"})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteNamespace(f.ctx, ns, listed); !errors.Is(err, store.ErrChanged) {
			t.Fatalf("DeleteNamespace with a stale project list: %v, want ErrChanged", err)
		}
		for _, path := range []string{"team/app", "team/sub/late"} {
			if _, err := f.repos.Find(f.ctx, path); err != nil {
				t.Errorf("%s after the refused deletion: %v", path, err)
			}
		}
		if !exists(f.repos.DiskPath(late.ID)) {
			t.Error("the late project's repository is gone")
		}
		// With the list as it is now, the group goes.
		now, err := db.ProjectIDsWithin(f.ctx, ns)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.DeleteNamespace(f.ctx, ns, now); err != nil {
			t.Fatal(err)
		}
	})
}
