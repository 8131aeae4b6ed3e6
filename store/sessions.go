package store

import (
	"context"
	"fmt"
	"time"
)

// Session is a row of web_sessions: a signed-in browser. Only the digest
// of the cookie's value is stored.
type Session struct {
	ID         int64     `db:"id"`
	Digest     string    `db:"digest"`
	UserID     int64     `db:"user_id"`
	CreatedAt  time.Time `db:"created_at"`
	LastSeenAt time.Time `db:"last_seen_at"`
}

const sessionColumns = `s.id, s.digest, s.user_id, s.created_at, s.last_seen_at`

// InsertSession stores s and sets its ID.
func (db *DB) InsertSession(ctx context.Context, s *Session) error {
	id, err := db.insert(ctx, `INSERT INTO web_sessions (digest, user_id, created_at, last_seen_at) VALUES (?,?,?,?)`,
		s.Digest, s.UserID, s.CreatedAt, s.LastSeenAt)
	if err != nil {
		return fmt.Errorf("insert session: %w", err)
	}
	s.ID = id
	return nil
}

// SessionAndUser is a session joined with its user: the one row a signed-in
// page needs.
type SessionAndUser struct {
	Session
	User User `db:"u"`
}

var sessionAndUserQuery = `SELECT ` + sessionColumns + `, ` + prefixed("u", userColumns) +
	` FROM web_sessions s JOIN users u ON u.id = s.user_id WHERE s.digest=?`

// SessionAndUserByDigest loads the session whose cookie value hashes to
// digest, with its user.
func (db *DB) SessionAndUserByDigest(ctx context.Context, digest string) (*SessionAndUser, error) {
	var r SessionAndUser
	if err := db.getPrepared(ctx, &r, sessionAndUserQuery, digest); err != nil {
		return nil, fmt.Errorf("session by digest: %w", err)
	}
	return &r, nil
}

// TouchSession records activity on a session.
func (db *DB) TouchSession(ctx context.Context, id int64, at time.Time) error {
	if _, err := db.exec(ctx, `UPDATE web_sessions SET last_seen_at=? WHERE id=?`, at, id); err != nil {
		return fmt.Errorf("touch session %d: %w", id, err)
	}
	return nil
}

// DeleteSession removes the session with this digest, if any.
func (db *DB) DeleteSession(ctx context.Context, digest string) error {
	if _, err := db.exec(ctx, `DELETE FROM web_sessions WHERE digest=?`, digest); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of a user except the one whose
// digest is keep (empty keeps none), and returns how many it removed.
func (db *DB) DeleteUserSessions(ctx context.Context, userID int64, keep string) (int64, error) {
	n, err := db.exec(ctx, `DELETE FROM web_sessions WHERE user_id=? AND digest<>?`, userID, keep)
	if err != nil {
		return 0, fmt.Errorf("delete sessions of user %d: %w", userID, err)
	}
	return n, nil
}

// DeleteStaleSessions removes sessions idle since before idleBefore or
// created before createdBefore.
func (db *DB) DeleteStaleSessions(ctx context.Context, idleBefore, createdBefore time.Time) (int64, error) {
	n, err := db.exec(ctx, `DELETE FROM web_sessions WHERE last_seen_at < ? OR created_at < ?`, idleBefore, createdBefore)
	if err != nil {
		return 0, fmt.Errorf("delete stale sessions: %w", err)
	}
	return n, nil
}

// SetUserLanguage stores the language a user chose for the pages (empty:
// follow the browser).
func (db *DB) SetUserLanguage(ctx context.Context, userID int64, lang string, at time.Time) error {
	n, err := db.exec(ctx, `UPDATE users SET preferred_language=?, updated_at=? WHERE id=?`, lang, at, userID)
	if err != nil {
		return fmt.Errorf("set language of user %d: %w", userID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
