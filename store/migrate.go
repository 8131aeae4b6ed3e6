package store

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"strings"
	"testing/fstest"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialectTypes are the only differences between the engines' schemas.
var dialectTypes = map[Dialect]map[string]string{
	SQLite: {
		"${ID}":   "INTEGER PRIMARY KEY AUTOINCREMENT",
		"${TIME}": "DATETIME",
		"${DATE}": "DATE",
	},
	Postgres: {
		"${ID}":   "BIGSERIAL PRIMARY KEY",
		"${TIME}": "TIMESTAMPTZ",
		"${DATE}": "DATE",
	},
}

// migrationFS renders the embedded migrations for one dialect.
func migrationFS(d Dialect) (fs.FS, error) {
	out := fstest.MapFS{}
	err := fs.WalkDir(migrations, "migrations", func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := migrations.ReadFile(path)
		if err != nil {
			return err
		}
		for k, v := range dialectTypes[d] {
			b = bytes.ReplaceAll(b, []byte(k), []byte(v))
		}
		out[strings.TrimPrefix(path, "migrations/")] = &fstest.MapFile{Data: b, Mode: 0o444}
		return nil
	})
	return out, err
}

// Migrate applies every pending migration. Concurrent gitgate processes on
// one PostgreSQL serialise on an advisory lock.
func (db *DB) Migrate(ctx context.Context) error {
	fsys, err := migrationFS(db.dialect)
	if err != nil {
		return fmt.Errorf("read migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	gd := goose.DialectSQLite3
	if db.dialect == Postgres {
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return fmt.Errorf("migration lock: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(gd, db.pool.DB, fsys, opts...)
	if err != nil {
		return fmt.Errorf("prepare migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("apply migrations: %w", err)
	}
	return nil
}
