package store

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/jmoiron/sqlx"
)

// What `gitgate backup` and `gitgate restore` need of the database
// (docs/operations.md#backup-and-restore): a consistent snapshot, the
// projects that snapshot holds, and whether a restore target is empty.

// SQLitePath is the file of the SQLite database named by databaseURL
// ("", "sqlite:PATH" or "file:PATH"), gitgate.db in dataDir by default.
func SQLitePath(dataDir, databaseURL string) string {
	path := strings.TrimPrefix(strings.TrimPrefix(databaseURL, "sqlite:"), "file:")
	path = strings.TrimPrefix(path, "//")
	if path == "" {
		return filepath.Join(dataDir, "gitgate.db")
	}
	return path
}

// VacuumInto writes a consistent copy of a SQLite database to path, which
// must not exist: SQLite builds it from one read transaction, so writers
// carry on meanwhile and the copy holds no half-done write.
func (db *DB) VacuumInto(ctx context.Context, path string) error {
	if db.dialect != SQLite {
		return fmt.Errorf("VACUUM INTO is SQLite's; this database is %s", db.dialect)
	}
	if _, err := db.pool.ExecContext(ctx, `VACUUM INTO ?`, path); err != nil {
		return mapErr(fmt.Errorf("copy the SQLite database: %w", err))
	}
	return nil
}

// ProjectIDs lists the id of every project, in order.
func (db *DB) ProjectIDs(ctx context.Context) ([]int64, error) {
	var ids []int64
	if err := db.selectAll(ctx, &ids, `SELECT id FROM projects ORDER BY id`); err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return ids, nil
}

// ExportSnapshot opens a read-only repeatable-read transaction on
// PostgreSQL, exports its snapshot and calls fn with the snapshot's name
// (for `pg_dump --snapshot`), the schema the connection works in and the
// projects that snapshot holds. The snapshot stays valid until fn
// returns, so the dump and the project list see the same instant.
func (db *DB) ExportSnapshot(ctx context.Context, fn func(snapshot, schema string, projectIDs []int64) error) error {
	if db.dialect != Postgres {
		return fmt.Errorf("exported snapshots are PostgreSQL's; this database is %s", db.dialect)
	}
	tx, err := db.pool.BeginTxx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return mapErr(fmt.Errorf("begin snapshot: %w", err))
	}
	defer func() { _ = tx.Rollback() }()
	var snapshot string
	var schema sql.NullString
	if err := tx.QueryRowxContext(ctx, `SELECT pg_export_snapshot(), current_schema()`).Scan(&snapshot, &schema); err != nil {
		return mapErr(fmt.Errorf("export snapshot: %w", err))
	}
	if !schema.Valid {
		return fmt.Errorf("the database connection has no current schema: the search_path names no existing schema")
	}
	var ids []int64
	if err := sqlx.SelectContext(ctx, tx, &ids, `SELECT id FROM projects ORDER BY id`); err != nil {
		return mapErr(fmt.Errorf("list projects: %w", err))
	}
	return fn(snapshot, schema.String, ids)
}

// SchemaState says whether a PostgreSQL schema exists and how many
// tables, sequences and views it holds: a restore needs none.
func (db *DB) SchemaState(ctx context.Context, schema string) (exists bool, relations int, err error) {
	if db.dialect != Postgres {
		return false, 0, fmt.Errorf("schemas are PostgreSQL's; this database is %s", db.dialect)
	}
	if err := db.get(ctx, &exists, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)`, schema); err != nil {
		return false, 0, fmt.Errorf("look up schema %s: %w", schema, err)
	}
	if err := db.get(ctx, &relations, `SELECT COUNT(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')`, schema); err != nil {
		return false, 0, fmt.Errorf("count the tables of schema %s: %w", schema, err)
	}
	return exists, relations, nil
}
