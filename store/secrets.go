package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrKeyCheckMismatch is returned by writes of encrypted columns when the
// database's key check value is not the one the writer holds: another
// process rotated the key, or this one runs with the wrong key.
var ErrKeyCheckMismatch = errors.New("the secret key check value does not match")

// keyCheckName is the instance_secrets row that identifies the secret key.
const keyCheckName = "key_check"

// SecretKeyCheck returns the stored key check value, or "" when none is
// stored yet.
func (db *DB) SecretKeyCheck(ctx context.Context) (string, error) {
	var v string
	err := db.get(ctx, &v, `SELECT value FROM instance_secrets WHERE name=?`, keyCheckName)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read secret key check: %w", err)
	}
	return v, nil
}

// InsertSecretKeyCheck stores the key check value unless one exists, and
// reports whether it stored it (false: another process was first).
func (db *DB) InsertSecretKeyCheck(ctx context.Context, value string, now time.Time) (bool, error) {
	n, err := db.exec(ctx, `INSERT INTO instance_secrets (name, value, updated_at) VALUES (?,?,?)
		ON CONFLICT (name) DO NOTHING`, keyCheckName, value, now)
	if err != nil {
		return false, fmt.Errorf("store secret key check: %w", err)
	}
	return n == 1, nil
}

// LockSecretKeyCheck reads the key check value inside a transaction and
// keeps other writers of encrypted columns waiting until the transaction
// ends (PostgreSQL: a row lock; SQLite transactions already hold the
// database's write lock). "" means none is stored.
func (db *DB) LockSecretKeyCheck(ctx context.Context) (string, error) {
	q := `SELECT value FROM instance_secrets WHERE name=?`
	if db.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	var v string
	err := db.get(ctx, &v, q, keyCheckName)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("lock secret key check: %w", err)
	}
	return v, nil
}

// UpdateSecretKeyCheck replaces the key check value (key rotation).
func (db *DB) UpdateSecretKeyCheck(ctx context.Context, value string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE instance_secrets SET value=?, updated_at=? WHERE name=?`, value, now, keyCheckName); err != nil {
		return fmt.Errorf("update secret key check: %w", err)
	}
	return nil
}

// OTPSecret is one user's stored (encrypted) TOTP secret.
type OTPSecret struct {
	UserID int64  `db:"id"`
	Value  string `db:"otp_secret"`
}

// OTPSecrets returns every non-empty stored TOTP secret, leaving out those
// starting with exceptPrefix when it is not empty.
func (db *DB) OTPSecrets(ctx context.Context, exceptPrefix string) ([]OTPSecret, error) {
	q := `SELECT id, otp_secret FROM users WHERE otp_secret <> ''`
	var args []any
	if exceptPrefix != "" {
		q += ` AND otp_secret NOT LIKE ? ESCAPE '\'`
		args = append(args, likeEscape(exceptPrefix)+"%")
	}
	var out []OTPSecret
	if err := db.selectAll(ctx, &out, q+` ORDER BY id`, args...); err != nil {
		return nil, fmt.Errorf("list two-factor secrets: %w", err)
	}
	return out, nil
}

// SetOTPSecret stores a user's encrypted TOTP secret, only while the
// database's key check value is keyCheck, so a process whose key is not
// (or no longer) the instance's never writes a value no other process can
// read. It waits for a key rotation in progress.
func (db *DB) SetOTPSecret(ctx context.Context, userID int64, value, keyCheck string, now time.Time) error {
	return db.InTx(ctx, func(tx *DB) error {
		q := `SELECT value FROM instance_secrets WHERE name=?`
		if tx.dialect == Postgres {
			q += ` FOR SHARE`
		}
		var cur string
		if err := tx.get(ctx, &cur, q, keyCheckName); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("read secret key check: %w", err)
		}
		if cur == "" || cur != keyCheck {
			return ErrKeyCheckMismatch
		}
		return tx.writeOTPSecret(ctx, userID, value, now)
	})
}

// ReplaceOTPSecret rewrites a stored TOTP secret during a key check held
// by LockSecretKeyCheck (encrypting plaintext, re-encrypting on rotation).
func (db *DB) ReplaceOTPSecret(ctx context.Context, userID int64, value string) error {
	if _, err := db.exec(ctx, `UPDATE users SET otp_secret=? WHERE id=?`, value, userID); err != nil {
		return fmt.Errorf("rewrite two-factor secret of user %d: %w", userID, err)
	}
	return nil
}

func (db *DB) writeOTPSecret(ctx context.Context, userID int64, value string, now time.Time) error {
	n, err := db.exec(ctx, `UPDATE users SET otp_secret=?, updated_at=? WHERE id=?`, value, now, userID)
	if err != nil {
		return fmt.Errorf("store two-factor secret of user %d: %w", userID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ClearOTP turns two-factor authentication off for a user and forgets its
// secret, recovery codes and last used step.
func (db *DB) ClearOTP(ctx context.Context, userID int64, now time.Time) error {
	n, err := db.exec(ctx, `UPDATE users SET otp_enabled=FALSE, otp_secret='', otp_recovery_codes='', otp_last_step=0, updated_at=?
		WHERE id=?`, now, userID)
	if err != nil {
		return fmt.Errorf("disable two-factor authentication of user %d: %w", userID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
