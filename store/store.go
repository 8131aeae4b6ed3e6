// Package store is gitgate's database layer: it opens SQLite (embedded
// default) or PostgreSQL, applies the embedded migrations, and holds every
// SQL statement the product runs. Rules live in auth and repos; this package
// only reads and writes rows.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Dialect names the database engine behind a DB.
type Dialect string

// The two supported engines.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

var (
	// ErrNotFound is returned when a row does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a unique constraint refuses a write.
	ErrConflict = errors.New("already exists")
	// ErrUnavailable wraps failures to reach the database at all, so doors
	// can answer 503 rather than 401.
	ErrUnavailable = errors.New("database unavailable")
)

// maxOpenConns bounds a PostgreSQL pool.
const maxOpenConns = 32

// DB is a handle on the database: the pool itself, or a transaction when
// obtained inside InTx. Every query method works on both.
type DB struct {
	pool    *sqlx.DB
	q       sqlx.ExtContext
	dialect Dialect
	stmts   *stmtCache
	// url is a PostgreSQL database's URL, for connections outside the
	// pool (ListenLockouts).
	url string
}

// stmtCache holds prepared statements of hot queries, shared by a pool and
// its transactions.
type stmtCache struct {
	mu    sync.Mutex
	stmts map[string]*sqlx.Stmt
}

// Open connects to the database named by databaseURL, or to the SQLite file
// gitgate.db under dataDir when databaseURL is empty. It does not migrate.
func Open(ctx context.Context, dataDir, databaseURL string) (*DB, error) {
	var (
		db  *sqlx.DB
		err error
		d   Dialect
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://"):
		d = Postgres
		db, err = sqlx.Open("postgres", databaseURL)
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		db.SetMaxOpenConns(maxOpenConns)
		db.SetMaxIdleConns(maxOpenConns)
		db.SetConnMaxIdleTime(5 * time.Minute)
	case databaseURL == "" || strings.HasPrefix(databaseURL, "sqlite:") || strings.HasPrefix(databaseURL, "file:"):
		d = SQLite
		path := SQLitePath(dataDir, databaseURL)
		if path == filepath.Join(dataDir, "gitgate.db") {
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				return nil, fmt.Errorf("create data directory: %w", err)
			}
		}
		// The database holds password hashes and token digests: readable
		// by the server's user only (SQLite would create it 0644).
		if f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
		}
		db, err = sqlx.Open("sqlite", sqliteDSN(path))
		if err != nil {
			return nil, fmt.Errorf("open sqlite %s: %w", path, err)
		}
		// WAL allows readers beside the single writer; more connections
		// than that only queue on the busy timeout.
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	default:
		return nil, fmt.Errorf("unsupported database URL (%s): want postgres://… or sqlite:PATH", urlScheme(databaseURL))
	}
	s := &DB{pool: db, q: db, dialect: d, stmts: &stmtCache{stmts: map[string]*sqlx.Stmt{}}}
	if d == Postgres {
		s.url = databaseURL
	}
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(pingCtx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to %s database: %w", d, err)
	}
	return s, nil
}

func sqliteDSN(path string) string {
	v := url.Values{}
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "busy_timeout(10000)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Set("_time_format", "sqlite")
	v.Set("_txlock", "immediate")
	return "file:" + path + "?" + v.Encode()
}

// urlScheme names what an unusable database URL looks like without
// showing any of it: the URL may hold a password anywhere (in the user
// part, a query parameter, or a part that does not parse at all).
func urlScheme(s string) string {
	scheme, _, ok := strings.Cut(s, ":")
	if !ok || scheme == "" || strings.ContainsAny(scheme, "/@?#") {
		return "no scheme"
	}
	return "scheme " + strconv.Quote(scheme)
}

// Dialect reports which engine this handle talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the pool.
func (db *DB) Close() error {
	db.stmts.mu.Lock()
	for _, st := range db.stmts.stmts {
		st.Close()
	}
	db.stmts.mu.Unlock()
	return db.pool.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	// database/sql retries getting a connection but not the ping itself:
	// after the database came back, each idle connection it dropped
	// fails one ping (and is discarded). Background work (the mail
	// sender, the expiry check) keeps several idle, so go through them
	// rather than report a healthy database down.
	var err error
	for range 2 * maxOpenConns {
		if err = db.pool.PingContext(ctx); !errors.Is(err, driver.ErrBadConn) {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}

// InTx runs fn in one transaction: committed when fn returns nil, rolled
// back otherwise, so a failed command leaves nothing half-written.
func (db *DB) InTx(ctx context.Context, fn func(tx *DB) error) error {
	if _, ok := db.q.(*sqlx.Tx); ok {
		return fn(db)
	}
	tx, err := db.pool.BeginTxx(ctx, nil)
	if err != nil {
		return mapErr(fmt.Errorf("begin transaction: %w", err))
	}
	if err := fn(&DB{pool: db.pool, q: tx, dialect: db.dialect, stmts: db.stmts, url: db.url}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return mapErr(fmt.Errorf("commit: %w", err))
	}
	return nil
}

func (db *DB) get(ctx context.Context, dest any, query string, args ...any) error {
	return mapErr(sqlx.GetContext(ctx, db.q, dest, db.pool.Rebind(query), args...))
}

// getPrepared is get through a statement prepared once per pool.
func (db *DB) getPrepared(ctx context.Context, dest any, query string, args ...any) error {
	st, err := db.prepared(ctx, query)
	if err != nil {
		return mapErr(err)
	}
	if tx, ok := db.q.(*sqlx.Tx); ok {
		st = tx.StmtxContext(ctx, st)
	}
	return mapErr(st.GetContext(ctx, dest, args...))
}

func (db *DB) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if st, ok := db.stmts.stmts[query]; ok {
		return st, nil
	}
	st, err := db.pool.PreparexContext(ctx, db.pool.Rebind(query))
	if err != nil {
		return nil, fmt.Errorf("prepare: %w", err)
	}
	db.stmts.stmts[query] = st
	return st, nil
}

func (db *DB) selectAll(ctx context.Context, dest any, query string, args ...any) error {
	return mapErr(sqlx.SelectContext(ctx, db.q, dest, db.pool.Rebind(query), args...))
}

func (db *DB) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := db.q.ExecContext(ctx, db.pool.Rebind(query), args...)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, mapErr(err)
	}
	return n, nil
}

// insert runs an INSERT and returns the new row's id (RETURNING id works on
// both engines).
func (db *DB) insert(ctx context.Context, query string, args ...any) (int64, error) {
	var id int64
	if err := db.get(ctx, &id, query+" RETURNING id", args...); err != nil {
		return 0, err
	}
	return id, nil
}

// mapErr turns driver errors into the package's sentinel errors.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return ErrNotFound
	}
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		switch pqErr.Code {
		case "23505":
			return fmt.Errorf("%w: %s", ErrConflict, pqErr.Constraint)
		case "57P01", "57P02", "57P03", "08000", "08003", "08006", "08001", "08004":
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	var sqErr *sqlite.Error
	if errors.As(err, &sqErr) {
		switch sqErr.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", ErrConflict, err)
		case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_IOERR:
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return err
	}
	if isConnError(err) {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return err
}

func isConnError(err error) bool {
	if errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	msg := err.Error()
	for _, s := range []string{"connection refused", "bad connection", "broken pipe", "connection reset", "no such host", "i/o timeout", "EOF"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
