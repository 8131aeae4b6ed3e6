package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Outbox states (docs/mail.md#outbox).
const (
	OutboxPending = "pending"
	OutboxSent    = "sent"
	OutboxFailed  = "failed"
)

// OutboxMessage is a row of the outbox: one mail to one recipient, kept
// after delivery for the record.
type OutboxMessage struct {
	ID     int64  `db:"id"`
	Kind   string `db:"kind"`
	UserID *int64 `db:"user_id"`
	// Recipient is one address; MessageID is the Message-ID header,
	// fixed at queueing so a resend carries the same one.
	Recipient     string     `db:"recipient"`
	Subject       string     `db:"subject"`
	MessageID     string     `db:"message_id"`
	BodyText      string     `db:"body_text"`
	BodyHTML      string     `db:"body_html"`
	State         string     `db:"state"`
	Attempts      int        `db:"attempts"`
	LastError     string     `db:"last_error"`
	CreatedAt     time.Time  `db:"created_at"`
	NextAttemptAt time.Time  `db:"next_attempt_at"`
	ClaimedBy     string     `db:"claimed_by"`
	ClaimedUntil  *time.Time `db:"claimed_until"`
	SentAt        *time.Time `db:"sent_at"`
}

const outboxColumns = `id, kind, user_id, recipient, subject, message_id, body_text, body_html, state, attempts,
	last_error, created_at, next_attempt_at, claimed_by, claimed_until, sent_at`

// InsertOutbox queues m as pending, due at once, and sets its ID.
func (db *DB) InsertOutbox(ctx context.Context, m *OutboxMessage) error {
	m.State = OutboxPending
	id, err := db.insert(ctx, `INSERT INTO outbox (kind, user_id, recipient, subject, message_id, body_text, body_html,
		state, attempts, last_error, created_at, next_attempt_at) VALUES (?,?,?,?,?,?,?,?,0,'',?,?)`,
		m.Kind, m.UserID, m.Recipient, m.Subject, m.MessageID, m.BodyText, m.BodyHTML, m.State, m.CreatedAt, m.NextAttemptAt)
	if err != nil {
		return fmt.Errorf("queue mail: %w", err)
	}
	m.ID = id
	return nil
}

// OutboxByID loads one message.
func (db *DB) OutboxByID(ctx context.Context, id int64) (*OutboxMessage, error) {
	var m OutboxMessage
	if err := db.get(ctx, &m, `SELECT `+outboxColumns+` FROM outbox WHERE id=?`, id); err != nil {
		return nil, fmt.Errorf("mail %d: %w", id, err)
	}
	return &m, nil
}

// ListOutbox lists messages, newest first, in one state or all ("").
func (db *DB) ListOutbox(ctx context.Context, state string, limit int) ([]OutboxMessage, error) {
	q := `SELECT ` + outboxColumns + ` FROM outbox`
	var args []any
	if state != "" {
		q += ` WHERE state=?`
		args = append(args, state)
	}
	q += ` ORDER BY id DESC` + limitClause(0, limit)
	var out []OutboxMessage
	if err := db.selectAll(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("list mail: %w", err)
	}
	return out, nil
}

// CountOutbox counts the messages in one state.
func (db *DB) CountOutbox(ctx context.Context, state string) (int, error) {
	var n int
	if err := db.get(ctx, &n, `SELECT COUNT(*) FROM outbox WHERE state=?`, state); err != nil {
		return 0, fmt.Errorf("count mail: %w", err)
	}
	return n, nil
}

// ClaimOutbox claims up to limit pending messages that are due at now and
// not claimed by a live holder (only those of ids, when given), for
// holder until leaseUntil, and returns them. It runs in one write
// transaction: on PostgreSQL the rows are locked (others skip them), on
// SQLite the transaction begins IMMEDIATE and so excludes every other
// writer, separate processes on the same file included; on both the
// conditional UPDATE is what finally decides, so a row is claimed by one
// holder only.
func (db *DB) ClaimOutbox(ctx context.Context, holder string, now, leaseUntil time.Time, ids []int64, limit int) ([]OutboxMessage, error) {
	q := `SELECT id FROM outbox WHERE state='pending' AND next_attempt_at <= ? AND (claimed_until IS NULL OR claimed_until < ?)`
	args := []any{now, now}
	if len(ids) > 0 {
		q += ` AND id IN (?` + strings.Repeat(",?", len(ids)-1) + `)`
		for _, id := range ids {
			args = append(args, id)
		}
	}
	q += ` ORDER BY id` + limitClause(0, limit)
	// A read first: a sender polls twice a second, and on SQLite the
	// write transaction below would take the database's write lock each
	// time even when there is nothing to send.
	var seen []int64
	if err := db.selectAll(ctx, &seen, q, args...); err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	if len(seen) == 0 {
		return nil, nil
	}
	var out []OutboxMessage
	err := db.InTx(ctx, func(tx *DB) error {
		out = nil
		locked := q
		if tx.dialect == Postgres {
			locked += ` FOR UPDATE SKIP LOCKED`
		}
		var due []int64
		if err := tx.selectAll(ctx, &due, locked, args...); err != nil {
			return err
		}
		for _, id := range due {
			n, err := tx.exec(ctx, `UPDATE outbox SET claimed_by=?, claimed_until=? WHERE id=? AND state='pending'
				AND (claimed_until IS NULL OR claimed_until < ?)`, holder, leaseUntil, id, now)
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			var m OutboxMessage
			if err := tx.get(ctx, &m, `SELECT `+outboxColumns+` FROM outbox WHERE id=?`, id); err != nil {
				return err
			}
			out = append(out, m)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return out, nil
}

// MarkOutboxSent records a delivery by holder. It reports false when the
// claim was lost (another process took the row over after the lease).
func (db *DB) MarkOutboxSent(ctx context.Context, id int64, holder string, now time.Time) (bool, error) {
	n, err := db.exec(ctx, `UPDATE outbox SET state='sent', sent_at=?, attempts=attempts+1, last_error='',
		claimed_by='', claimed_until=NULL WHERE id=? AND claimed_by=?`, now, id, holder)
	if err != nil {
		return false, fmt.Errorf("mark mail %d sent: %w", id, err)
	}
	return n == 1, nil
}

// MarkOutboxAttemptFailed records a failed attempt by holder: the message
// becomes state (pending again, due at next, or failed for good) with
// lastError.
func (db *DB) MarkOutboxAttemptFailed(ctx context.Context, id int64, holder, state, lastError string, next time.Time) (bool, error) {
	n, err := db.exec(ctx, `UPDATE outbox SET state=?, attempts=attempts+1, last_error=?, next_attempt_at=?,
		claimed_by='', claimed_until=NULL WHERE id=? AND claimed_by=?`, state, lastError, next, id, holder)
	if err != nil {
		return false, fmt.Errorf("record failed mail %d: %w", id, err)
	}
	return n == 1, nil
}

// RequeueOutbox makes a failed or pending message due at now. It reports
// false when the message is neither (sent).
func (db *DB) RequeueOutbox(ctx context.Context, id int64, now time.Time) (bool, error) {
	n, err := db.exec(ctx, `UPDATE outbox SET state='pending', next_attempt_at=? WHERE id=? AND state IN ('pending','failed')`, now, id)
	if err != nil {
		return false, fmt.Errorf("requeue mail %d: %w", id, err)
	}
	return n == 1, nil
}
