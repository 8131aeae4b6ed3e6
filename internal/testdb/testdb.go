// Package testdb gives tests a fresh, migrated database on each engine:
// SQLite in a temporary directory, and PostgreSQL in a private schema of
// the server named by GITGATE_TEST_POSTGRES_URL. With CI=true a missing or
// unreachable PostgreSQL fails the test; elsewhere it skips loudly.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // PostgreSQL driver for the admin connection

	"github.com/gitgate/gitgate/store"
)

// Engines lists the engines Each runs on.
var Engines = []store.Dialect{store.SQLite, store.Postgres}

// Each runs fn once per engine as a subtest.
func Each(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	t.Helper()
	for _, d := range Engines {
		t.Run(string(d), func(t *testing.T) {
			fn(t, Open(t, d))
		})
	}
}

// Open returns a fresh migrated database of one engine, closed and
// removed when the test ends.
func Open(t testing.TB, d store.Dialect) *store.DB {
	t.Helper()
	url := URL(t, d)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := store.Open(ctx, t.TempDir(), url)
	if err != nil {
		t.Fatalf("open %s: %v", d, err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.Migrate(ctx); err != nil {
		t.Fatalf("migrate %s: %v", d, err)
	}
	return db
}

// URL returns a database URL for a fresh, empty database of engine d
// ("" for SQLite means the data directory's default file).
func URL(t testing.TB, d store.Dialect) string {
	t.Helper()
	if d == store.SQLite {
		return ""
	}
	return postgresSchemaURL(t)
}

// RequirePostgres returns the admin URL or fails (CI) / skips (elsewhere).
func RequirePostgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("GITGATE_TEST_POSTGRES_URL")
	if base == "" {
		missing(t, "GITGATE_TEST_POSTGRES_URL is not set")
	}
	return base
}

func missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("PostgreSQL tests cannot run: %s (CI=true requires them; .ci/run starts PostgreSQL)", why)
	}
	t.Skipf("\n\n*** SKIPPING PostgreSQL test: %s. Run .ci/run or export GITGATE_TEST_POSTGRES_URL. ***\n\n", why)
}

func postgresSchemaURL(t testing.TB) string {
	t.Helper()
	base := RequirePostgres(t)
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		missing(t, fmt.Sprintf("bad GITGATE_TEST_POSTGRES_URL: %v", err))
	}
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := admin.PingContext(ctx); err != nil {
		missing(t, fmt.Sprintf("PostgreSQL at %s is unreachable: %v", redact(base), err))
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sqlx.Open("postgres", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	return withParam(base, "search_path", schema)
}

func withParam(raw, k, v string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
