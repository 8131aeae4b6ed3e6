package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// Every door blocks through BlockUser: an admin blocks another user, and
// nobody blocks themself.
func TestBlockUserRefusesBlockingOneself(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.svc.BlockUser(ctx, f.root.ID, f.root.ID); !errors.Is(err, auth.ErrBlockSelf) {
			t.Fatalf("blocking oneself: %v", err)
		}
		if u, _ := f.svc.User(ctx, f.root.ID); u.State != auth.UserActive {
			t.Fatal("the refusal changed the account")
		}
		u, err := f.svc.BlockUser(ctx, f.root.ID, f.user.ID)
		if err != nil || u.State != auth.UserBlocked {
			t.Fatalf("blocking another user: %+v, %v", u, err)
		}
	})
}
