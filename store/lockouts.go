package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// LockoutChannel is the PostgreSQL notification channel on which every
// change of an auth_lockouts row is announced, as a lockoutNote in JSON.
const LockoutChannel = "gitgate_auth_lockouts"

// lockoutNote is an announcement. Channels belong to the database, not to
// a schema, so it names the schema of the table it changed: instances
// (or tests) in other schemas of one database ignore it.
type lockoutNote struct {
	Schema string     `json:"schema"`
	Row    LockoutRow `json:"row"`
}

// LockoutRow is one address's state in one failed-authentication lockout.
type LockoutRow struct {
	Scope       string     `db:"scope" json:"scope"`
	Addr        string     `db:"addr" json:"addr"`
	WindowStart time.Time  `db:"window_start" json:"window_start"`
	Failures    int        `db:"failures" json:"failures"`
	BannedUntil *time.Time `db:"banned_until" json:"banned_until,omitempty"`
}

// UpdateLockout reads an address's row (a fresh one when there is none)
// under a row lock, lets fn change it, writes it back and announces it on
// LockoutChannel, in one transaction: failures counted at once by several
// processes are all counted. PostgreSQL only.
func (db *DB) UpdateLockout(ctx context.Context, scope, addr string, fn func(*LockoutRow)) (LockoutRow, error) {
	if db.dialect != Postgres {
		return LockoutRow{}, errors.New("shared lockout counts need PostgreSQL")
	}
	var row LockoutRow
	err := db.InTx(ctx, func(tx *DB) error {
		if _, err := tx.exec(ctx, `INSERT INTO auth_lockouts (scope, addr, window_start, failures) VALUES (?, ?, ?, 0)
			ON CONFLICT (scope, addr) DO NOTHING`, scope, addr, time.Time{}); err != nil {
			return err
		}
		if err := tx.get(ctx, &row, `SELECT scope, addr, window_start, failures, banned_until FROM auth_lockouts
			WHERE scope = ? AND addr = ? FOR UPDATE`, scope, addr); err != nil {
			return err
		}
		fn(&row)
		if _, err := tx.exec(ctx, `UPDATE auth_lockouts SET window_start = ?, failures = ?, banned_until = ? WHERE scope = ? AND addr = ?`,
			row.WindowStart, row.Failures, row.BannedUntil, scope, addr); err != nil {
			return err
		}
		return tx.notifyLockout(ctx, row)
	})
	if err != nil {
		return LockoutRow{}, fmt.Errorf("count failed authentication: %w", err)
	}
	return row, nil
}

// ResetLockout forgets the failures of an address that is not banned at
// now, and announces it (a row with no failures and no ban). PostgreSQL
// only.
func (db *DB) ResetLockout(ctx context.Context, scope, addr string, now time.Time) error {
	if db.dialect != Postgres {
		return errors.New("shared lockout counts need PostgreSQL")
	}
	err := db.InTx(ctx, func(tx *DB) error {
		n, err := tx.exec(ctx, `DELETE FROM auth_lockouts WHERE scope = ? AND addr = ? AND (banned_until IS NULL OR banned_until <= ?)`,
			scope, addr, now)
		if err != nil || n == 0 {
			return err
		}
		return tx.notifyLockout(ctx, LockoutRow{Scope: scope, Addr: addr, WindowStart: now})
	})
	if err != nil {
		return fmt.Errorf("reset failed authentications: %w", err)
	}
	return nil
}

func (db *DB) notifyLockout(ctx context.Context, row LockoutRow) error {
	b, err := json.Marshal(row)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `SELECT pg_notify(?, json_build_object('schema', current_schema(), 'row', ?::json)::text)`,
		LockoutChannel, string(b))
	return err
}

// ActiveLockouts returns the rows that still matter at now: bans in force
// and failures counted since now-window. It deletes the rows that no
// longer do, so the table follows the recent failure rate. PostgreSQL
// only.
func (db *DB) ActiveLockouts(ctx context.Context, now time.Time, window time.Duration) ([]LockoutRow, error) {
	if db.dialect != Postgres {
		return nil, errors.New("shared lockout counts need PostgreSQL")
	}
	since := now.Add(-window)
	if _, err := db.exec(ctx, `DELETE FROM auth_lockouts WHERE (banned_until IS NULL OR banned_until <= ?) AND window_start <= ?`,
		now, since); err != nil {
		return nil, fmt.Errorf("forget old failed authentications: %w", err)
	}
	var rows []LockoutRow
	if err := db.selectAll(ctx, &rows, `SELECT scope, addr, window_start, failures, banned_until FROM auth_lockouts
		WHERE banned_until > ? OR window_start > ?`, now, since); err != nil {
		return nil, fmt.Errorf("read failed authentications: %w", err)
	}
	return rows, nil
}

// ListenLockouts calls onRow with every row announced on LockoutChannel
// until ctx ends, on a connection of its own that it re-opens when it
// breaks. onConnect runs whenever the connection is (re)established:
// announcements made while it was down are lost, so the caller re-reads
// ActiveLockouts there. PostgreSQL only.
func (db *DB) ListenLockouts(ctx context.Context, onRow func(LockoutRow), onConnect func()) error {
	if db.dialect != Postgres {
		return errors.New("lockout announcements need PostgreSQL")
	}
	var schema string
	if err := db.get(ctx, &schema, `SELECT current_schema()`); err != nil {
		return fmt.Errorf("listen for lockout changes: %w", err)
	}
	events := make(chan pq.ListenerEventType, 4)
	l := pq.NewListener(db.url, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, _ error) {
		select {
		case events <- ev:
		default:
		}
	})
	defer l.Close()
	// Listen waits for a connection, however long PostgreSQL is away;
	// closing the listener is what ends that wait.
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if err := l.Listen(LockoutChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen for lockout changes: %w", err)
	}
	onConnect()
	// pq notices a dead connection only when it next uses it.
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			if n == nil {
				// Reconnected; the event says so too.
				continue
			}
			var note lockoutNote
			if err := json.Unmarshal([]byte(n.Extra), &note); err == nil && note.Schema == schema {
				onRow(note.Row)
			}
		case ev := <-events:
			if ev == pq.ListenerEventReconnected {
				onConnect()
			}
		case <-ping.C:
			go l.Ping()
		}
	}
}
