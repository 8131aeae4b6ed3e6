package refsnap_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/refsnap"
	"github.com/gitgate/gitgate/store"
)

func refOID(t *testing.T, s *refsnap.Snapshot, name string) string {
	t.Helper()
	for _, r := range s.Refs {
		if r.Name == name {
			return r.OID
		}
	}
	t.Fatalf("no %s in the snapshot", name)
	return ""
}

// A change the stat check cannot see (as on NFS, whose attribute cache
// keeps old mtimes) reaches the other replica through PostgreSQL NOTIFY.
func TestInvalidationReachesOtherReplicasThroughPostgres(t *testing.T) {
	url := testdb.URL(t, store.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	open := func() *store.DB {
		db, err := store.Open(ctx, t.TempDir(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return db
	}
	dbA, dbB := open(), open()
	dir := fixtures(t, false)["typical"]
	root := filepath.Dir(dir)
	// Old mtimes everywhere, so that the snapshot is not too recent to
	// keep (racy).
	age(t, dir)

	a := &refsnap.Cache{Root: root, Notify: dbA.NotifyRefs}
	b := &refsnap.Cache{Root: root}
	listening := make(chan struct{}, 1)
	go b.Follow(ctx, func(ctx context.Context, onRepo func(string), onConnect func()) error {
		return dbB.ListenRefs(ctx, onRepo, func() {
			onConnect()
			listening <- struct{}{}
		})
	})
	<-listening

	s, err := b.Snapshot(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	before := refOID(t, s, "refs/heads/loose")
	newOID := git(t, dir, "rev-parse", "main~2")
	if newOID == before {
		t.Fatal("the fixture's ref already points there")
	}
	// Rewritten in place: same inode, same directory mtime.
	if err := os.WriteFile(filepath.Join(dir, "refs/heads/loose"), []byte(newOID+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err = b.Snapshot(ctx, dir); err != nil || refOID(t, s, "refs/heads/loose") != before {
		t.Fatalf("the stat check saw an in-place rewrite (err %v): this test proves nothing", err)
	}

	a.Invalidate(ctx, dir)
	for {
		s, err := b.Snapshot(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		if refOID(t, s, "refs/heads/loose") == newOID {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("replica B never dropped its snapshot after A's notice")
		case <-time.After(20 * time.Millisecond):
		}
	}
}
