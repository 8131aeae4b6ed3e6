package store

import (
	"context"
	"fmt"
	"time"
)

// SSHKey is a registered public key.
type SSHKey struct {
	ID          int64      `db:"id"`
	UserID      int64      `db:"user_id"`
	Title       string     `db:"title"`
	Key         string     `db:"key_text"`
	Fingerprint string     `db:"fingerprint"`
	KeyType     string     `db:"key_type"`
	CreatedAt   time.Time  `db:"created_at"`
	ExpiresAt   *time.Time `db:"expires_at"`
	LastUsedAt  *time.Time `db:"last_used_at"`
}

const keyColumns = `k.id, k.user_id, k.title, k.key_text, k.fingerprint, k.key_type, k.created_at, k.expires_at, k.last_used_at`

// InsertKey stores k and sets its ID.
func (db *DB) InsertKey(ctx context.Context, k *SSHKey) error {
	id, err := db.insert(ctx, `INSERT INTO ssh_keys (user_id, title, key_text, fingerprint, key_type, created_at, expires_at)
		VALUES (?,?,?,?,?,?,?)`, k.UserID, k.Title, k.Key, k.Fingerprint, k.KeyType, k.CreatedAt, k.ExpiresAt)
	if err != nil {
		return fmt.Errorf("insert key: %w", err)
	}
	k.ID = id
	return nil
}

// KeyAndUser is a key joined with its owner.
type KeyAndUser struct {
	SSHKey
	User User `db:"u"`
}

// KeyAndUserByFingerprint loads a key and its owner in one round trip.
func (db *DB) KeyAndUserByFingerprint(ctx context.Context, fingerprint string) (*KeyAndUser, error) {
	var r KeyAndUser
	if err := db.get(ctx, &r, `SELECT `+keyColumns+`, `+prefixed("u", userColumns)+`
		FROM ssh_keys k JOIN users u ON u.id = k.user_id WHERE k.fingerprint=?`, fingerprint); err != nil {
		return nil, fmt.Errorf("key %s: %w", fingerprint, err)
	}
	return &r, nil
}

// KeyByID loads one key.
func (db *DB) KeyByID(ctx context.Context, id int64) (*SSHKey, error) {
	var k SSHKey
	if err := db.get(ctx, &k, `SELECT `+keyColumns+` FROM ssh_keys k WHERE k.id=?`, id); err != nil {
		return nil, fmt.Errorf("key %d: %w", id, err)
	}
	return &k, nil
}

// KeysByUser lists a user's keys ordered by id.
func (db *DB) KeysByUser(ctx context.Context, userID int64) ([]SSHKey, error) {
	var out []SSHKey
	if err := db.selectAll(ctx, &out, `SELECT `+keyColumns+` FROM ssh_keys k WHERE k.user_id=? ORDER BY k.id`, userID); err != nil {
		return nil, fmt.Errorf("keys of user %d: %w", userID, err)
	}
	return out, nil
}

// DeleteKey removes a key of a user.
func (db *DB) DeleteKey(ctx context.Context, userID, id int64) error {
	n, err := db.exec(ctx, `DELETE FROM ssh_keys WHERE id=? AND user_id=?`, id, userID)
	if err != nil {
		return fmt.Errorf("delete key %d: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// TouchKey records a key's use at most once per period (see TouchToken).
func (db *DB) TouchKey(ctx context.Context, id int64, now, notBefore time.Time) error {
	_, err := db.exec(ctx, `UPDATE ssh_keys SET last_used_at=? WHERE id=? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, id, notBefore)
	if err != nil {
		return fmt.Errorf("record key use: %w", err)
	}
	return nil
}

// AllKeys lists every registered key ordered by id.
func (db *DB) AllKeys(ctx context.Context) ([]SSHKey, error) {
	var out []SSHKey
	if err := db.selectAll(ctx, &out, `SELECT `+keyColumns+` FROM ssh_keys k ORDER BY k.id`); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	return out, nil
}
