package repos_test

import (
	"context"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/store"
)

// The New project form offers exactly the namespaces CanCreateProjectIn
// allows: one's own, groups (and their subgroups) where one is at least
// a developer, every group for an admin; never a reporter's group or
// another user's namespace.
func TestCreatableNamespacesAreThoseCanCreateProjectInAllows(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		a := auth.New(db, auth.WithClock(func() time.Time { return now }))
		t.Cleanup(func() { a.Close(context.Background()) })
		r := repos.New(db, t.TempDir(), func() time.Time { return now })
		user := func(name string, admin bool) *auth.User {
			u, err := a.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com", Admin: admin})
			if err != nil {
				t.Fatal(err)
			}
			return u
		}
		dave, erin, root := user("dave", false), user("erin", false), user("admin1", true)
		group := func(path string) *repos.Namespace {
			g, err := r.CreateGroup(ctx, path, "", access.Private, 0)
			if err != nil {
				t.Fatal(err)
			}
			return g
		}
		dev, devSub, rep, other := group("dev"), group("dev/sub"), group("rep"), group("other")
		member := func(g *repos.Namespace, u *auth.User, l access.AccessLevel) {
			if err := r.AddMember(ctx, repos.MemberTarget{Group: g}, u.ID, l); err != nil {
				t.Fatal(err)
			}
		}
		member(dev, dave, access.Developer)
		member(rep, dave, access.Reporter)
		member(other, erin, access.Owner)
		_ = devSub
		paths := func(u *auth.User) []string {
			nss, err := r.CreatableNamespaces(ctx, &auth.Principal{User: u})
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, n := range nss {
				out = append(out, n.FullPath)
			}
			return out
		}
		for _, c := range []struct {
			u    *auth.User
			want []string
		}{
			{dave, []string{"dave", "dev", "dev/sub"}},
			{erin, []string{"erin", "other"}},
			{root, []string{"admin1", "dev", "dev/sub", "other", "rep"}},
		} {
			if got := paths(c.u); !equal(got, c.want) {
				t.Errorf("%s may create in %v, want %v", c.u.Username, got, c.want)
			}
		}
		if nss, err := r.CreatableNamespaces(ctx, nil); err != nil || len(nss) != 0 {
			t.Errorf("anonymous: %v, %v", nss, err)
		}
	})
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
