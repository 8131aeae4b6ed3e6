package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

func TestMigrateTwiceIsANoop(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
	})
}

func TestUserRoundTripKeepsTimesAndFlags(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 13, 14, 15, 123_000_000, time.UTC)
		u := &store.User{Username: "Alice", Email: "a@example.com", State: store.UserActive, Admin: true, CreatedAt: now, UpdatedAt: now}
		if err := db.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		got, err := db.UserByUsername(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		if !got.Admin || got.Bot || got.Username != "Alice" || !got.CreatedAt.Equal(now) {
			t.Fatalf("round trip changed the user: %+v", got)
		}
		dup := &store.User{Username: "ALICE", Email: "b@example.com", State: store.UserActive, CreatedAt: now, UpdatedAt: now}
		if err := db.InsertUser(ctx, dup); !errors.Is(err, store.ErrConflict) {
			t.Fatalf("case-insensitive duplicate username: got %v, want ErrConflict", err)
		}
	})
}

func TestTokenDatesCompareAcrossEngines(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 25, 13, 0, 0, 0, time.UTC)
		u := &store.User{Username: "bob", Email: "b@example.com", State: store.UserActive, CreatedAt: now, UpdatedAt: now}
		if err := db.InsertUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		day := func(d int) *time.Time { x := time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC); return &x }
		for i, exp := range []*time.Time{day(25), day(26), nil} {
			tok := &store.Token{UserID: u.ID, Name: "t", Digest: string(rune('a' + i)), ScopeList: "api", ExpiresAt: exp, CreatedAt: now}
			if err := db.InsertToken(ctx, tok); err != nil {
				t.Fatal(err)
			}
		}
		active, n, err := db.ListTokens(ctx, store.TokenFilter{State: "active", Today: now})
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 || len(active) != 2 {
			t.Fatalf("active tokens on 2026-11-25: got %d, want 2 (the one expiring today is inactive)", n)
		}
		got, err := db.TokenByID(ctx, active[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ExpiresAt == nil || !got.ExpiresAt.Equal(*day(26)) {
			t.Fatalf("expires_at round trip: got %v, want 2026-11-26", got.ExpiresAt)
		}
		capped, err := db.CapTokenExpiry(ctx, *day(26))
		if err != nil {
			t.Fatal(err)
		}
		if capped != 1 {
			t.Fatalf("cap to 2026-11-26 changed %d tokens, want 1 (only the one without expiry)", capped)
		}
	})
}

func TestSQLiteDatabaseFileIsPrivate(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(context.Background(), dir, "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "gitgate.db"))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Fatalf("gitgate.db has mode %o, want 600", perm)
	}
}

// An unusable database URL is refused without repeating any of it: a
// password can sit in the user part, a query or a part that does not
// parse.
func TestUnsupportedDatabaseURLIsRefusedWithoutShowingIt(t *testing.T) {
	for _, u := range []string{
		"mysql://gitgate:s3cret-pw@db/gitgate",
		"mysql://db/gitgate?password=s3cret-pw",
		"mysql://gitgate:s3cret-pw@db:badport/x%zz",
		"s3cret-pw@db",
	} {
		_, err := store.Open(context.Background(), t.TempDir(), u)
		if err == nil {
			t.Fatalf("%q accepted", u)
		}
		if strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "want postgres://") {
			t.Errorf("%q: %v", u, err)
		}
	}
}
