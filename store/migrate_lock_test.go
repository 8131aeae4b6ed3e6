package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// Replicas started together on a new PostgreSQL database (or after an
// upgrade) all migrate at start; the advisory lock makes one of them
// apply each migration and the others find it done (docs/operations.md).
func TestReplicasMigratingAtOnceApplyEachMigrationOnce(t *testing.T) {
	url := testdb.URL(t, store.Postgres)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const replicas = 3
	errs := make(chan error, replicas)
	var wg sync.WaitGroup
	for i := 0; i < replicas; i++ {
		db, err := store.Open(ctx, t.TempDir(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- db.Migrate(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a replica's migration failed: %v", err)
		}
	}
	raw, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var applied, twice int
	if err := raw.Get(&applied, `SELECT COUNT(DISTINCT version_id) FROM goose_db_version WHERE version_id > 0`); err != nil {
		t.Fatal(err)
	}
	if err := raw.Get(&twice, `SELECT COUNT(*) FROM (SELECT version_id FROM goose_db_version GROUP BY version_id HAVING COUNT(*) > 1) d`); err != nil {
		t.Fatal(err)
	}
	if applied == 0 || twice != 0 {
		t.Fatalf("%d migrations applied, %d of them more than once", applied, twice)
	}
}
