package repos_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/store"
)

// What the service hands out names no storage column a caller has no use
// for: how a namespace records its ancestors, a project's foreign key
// beside its namespace, or how a membership names its project or group.
func TestCallerTypesCarryNoStorageColumns(t *testing.T) {
	storageOnly := []string{"TraversalIDs", "NamespaceID", "SourceType", "SourceID"}
	for _, v := range []any{repos.Project{}, repos.Namespace{}, repos.Member{}, repos.ProjectFilter{}} {
		typ := reflect.TypeOf(v)
		for _, name := range storageOnly {
			if _, ok := typ.FieldByName(name); ok {
				t.Errorf("repos.%s has the storage column %s", typ.Name(), name)
			}
		}
	}
	// The storage rows do have them: the check is not vacuous.
	for _, v := range []any{store.Namespace{}, store.Project{}, store.Member{}} {
		found := false
		for _, name := range storageOnly {
			if _, ok := reflect.TypeOf(v).FieldByName(name); ok {
				found = true
			}
		}
		if !found {
			t.Fatalf("store.%s has none of %v: the check proves nothing", reflect.TypeOf(v).Name(), storageOnly)
		}
	}
}

// A project is the same value whichever way it is looked up, and a
// namespace the same whether loaded alone or with its project; a group
// handed out still answers for its ancestors, so a member of the group
// above may create projects in it.
func TestEveryLookupHandsOutTheSameProjectAndNamespace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		a := auth.New(db, auth.WithClock(func() time.Time { return now }))
		t.Cleanup(func() { a.Close(context.Background()) })
		r := repos.New(db, t.TempDir(), func() time.Time { return now })
		u, err := a.CreateUser(ctx, auth.NewUser{Username: "carol", Email: "carol@example.com", Password: "password-carol"})
		if err != nil {
			t.Fatal(err)
		}
		top, err := r.CreateGroup(ctx, "top", "Top", access.Internal, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		sub, err := r.CreateGroup(ctx, "top/sub", "", access.Internal, 0)
		if err != nil {
			t.Fatal(err)
		}
		if sub.ParentID == nil || *sub.ParentID != top.ID || sub.Kind != repos.NamespaceGroup {
			t.Fatalf("subgroup = %+v, want a group below %d", sub, top.ID)
		}
		created, err := r.CreateProject(ctx, repos.NewProject{NamespacePath: "top/sub", Path: "svc", Name: "Service",
			Description: "d", Visibility: access.Internal, DefaultBranch: "trunk", CreatorID: u.ID})
		if err != nil {
			t.Fatal(err)
		}
		if created.FullPath() != "top/sub/svc" || created.CreatorID == nil || *created.CreatorID != u.ID {
			t.Fatalf("created = %+v", created)
		}
		byPath, err := r.Find(ctx, "top/sub/svc")
		if err != nil {
			t.Fatal(err)
		}
		byID, err := r.FindByID(ctx, created.ID)
		if err != nil {
			t.Fatal(err)
		}
		listed, total, err := r.List(ctx, repos.ProjectFilter{All: true})
		if err != nil || total != 1 || len(listed) != 1 {
			t.Fatalf("List = %d of %d, %v", len(listed), total, err)
		}
		for name, got := range map[string]*repos.Project{"Find": byPath, "FindByID": byID, "List": &listed[0]} {
			if !same(t, got, created) {
				t.Errorf("%s = %+v, CreateProject = %+v", name, got, created)
			}
		}
		nsByID, err := r.NamespaceByID(ctx, sub.ID)
		if err != nil {
			t.Fatal(err)
		}
		nsByPath, err := r.NamespaceByPath(ctx, "top/sub")
		if err != nil {
			t.Fatal(err)
		}
		target, err := r.ResolveTarget(ctx, "top/sub")
		if err != nil {
			t.Fatal(err)
		}
		for name, got := range map[string]*repos.Namespace{"CreateGroup": sub, "NamespaceByID": nsByID,
			"NamespaceByPath": nsByPath, "ResolveTarget": target.Group, "Project.Namespace": &byID.Namespace} {
			if !same(t, got, nsByID) {
				t.Errorf("%s = %+v, NamespaceByID = %+v", name, got, nsByID)
			}
		}
		// carol owns top (CreateGroup made her its owner), not sub: the
		// handed-out values must still know their ancestors.
		p := &auth.Principal{User: u}
		if ok, err := r.CanCreateProjectIn(ctx, p, nsByPath); err != nil || !ok {
			t.Fatalf("owner of the group above may create in top/sub: %v, %v", ok, err)
		}
		if level, err := r.AccessLevel(ctx, p, byID); err != nil || level != access.Owner {
			t.Fatalf("carol's level on top/sub/svc = %v, %v; want Owner through top", level, err)
		}
		if err := r.AddMember(ctx, repos.MemberTarget{Project: byID}, u.ID, access.Reporter); err != nil {
			t.Fatal(err)
		}
		members, err := r.Members(ctx, byID.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := []repos.Member{{UserID: u.ID, AccessLevel: access.Reporter, CreatedAt: now}}
		if !same(t, members, want) {
			t.Fatalf("Members = %+v, want %+v", members, want)
		}
	})
}

// same compares exported values as a caller sees them: pointers followed,
// times as instants (a row read back carries its own time.Location).
func same(t *testing.T, a, b any) bool {
	t.Helper()
	ja, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	jb, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(ja) == string(jb)
}
