package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"
)

// advisoryKey is the 64-bit advisory lock key of a lock name. Advisory
// locks belong to the database, not to a schema, so the schema is part
// of the key: instances (or tests) in other schemas of one database never
// share a lock.
const advisoryKey = `hashtextextended(current_schema() || '/' || $1, 0)`

// AdvisoryLockKey is the key TryAdvisoryLock uses for name in this
// database's schema (tests look the lock up in pg_locks with it).
func (db *DB) AdvisoryLockKey(ctx context.Context, name string) (int64, error) {
	var key int64
	if err := db.pool.QueryRowContext(ctx, `SELECT `+advisoryKey, name).Scan(&key); err != nil {
		return 0, mapErr(fmt.Errorf("advisory lock key: %w", err))
	}
	return key, nil
}

// TryAdvisoryLock takes PostgreSQL's session advisory lock named name
// without waiting, on a connection of its own that it keeps until unlock:
// ok is false when another session holds the lock. PostgreSQL releases
// the lock when that connection ends, so a process that dies holding it
// leaves no stale lock. Only PostgreSQL has advisory locks.
func (db *DB) TryAdvisoryLock(ctx context.Context, name string) (unlock func(), ok bool, err error) {
	if db.dialect != Postgres {
		return nil, false, errors.New("advisory locks need PostgreSQL")
	}
	conn, err := db.pool.Conn(ctx)
	if err != nil {
		return nil, false, mapErr(fmt.Errorf("advisory lock: %w", err))
	}
	var key int64
	if err := conn.QueryRowContext(ctx, `SELECT `+advisoryKey, name).Scan(&key); err != nil {
		conn.Close()
		return nil, false, mapErr(fmt.Errorf("advisory lock: %w", err))
	}
	if err := conn.QueryRowContext(ctx, `SELECT pg_try_advisory_lock($1)`, key).Scan(&ok); err != nil {
		conn.Close()
		return nil, false, mapErr(fmt.Errorf("advisory lock: %w", err))
	}
	if !ok {
		conn.Close()
		return nil, false, nil
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var released bool
		if err := conn.QueryRowContext(ctx, `SELECT pg_advisory_unlock($1)`, key).Scan(&released); err != nil || !released {
			// A connection that may still hold the lock must not go
			// back to the pool: closing it is what releases the lock.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
		}
		conn.Close()
	}, true, nil
}
