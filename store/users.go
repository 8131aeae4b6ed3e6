package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// User is a row of the users table.
type User struct {
	ID               int64     `db:"id"`
	Username         string    `db:"username"`
	UsernameLower    string    `db:"username_lower"`
	Email            string    `db:"email"`
	EmailLower       string    `db:"email_lower"`
	Name             string    `db:"name"`
	PasswordHash     string    `db:"password_hash"`
	Admin            bool      `db:"admin"`
	Bot              bool      `db:"bot"`
	State            string    `db:"state"`
	OTPSecret        string    `db:"otp_secret"` // sealed by package secrets ("v1:…"), never plaintext
	OTPEnabled       bool      `db:"otp_enabled"`
	OTPRecoveryCodes string    `db:"otp_recovery_codes"`
	OTPLastStep      int64     `db:"otp_last_step"`
	CreatedAt        time.Time `db:"created_at"`
	UpdatedAt        time.Time `db:"updated_at"`
	// FailedAttempts counts wrong passwords since the last success, and
	// LockedAt is when they locked the account. Only the lockout
	// statements below write them (UpdateUser leaves them alone), so
	// concurrent sign-ins on several replicas count correctly.
	FailedAttempts int        `db:"failed_attempts"`
	LockedAt       *time.Time `db:"locked_at"`
	// PreferredLanguage is the pages' language the user chose; empty
	// follows the browser. Only SetUserLanguage writes it.
	PreferredLanguage string `db:"preferred_language"`
}

// User states.
const (
	UserActive  = "active"
	UserBlocked = "blocked"
)

const userColumns = `id, username, username_lower, email, email_lower, name, password_hash, admin, bot, state,
	otp_secret, otp_enabled, otp_recovery_codes, otp_last_step, created_at, updated_at, failed_attempts, locked_at, preferred_language`

// InsertUser stores u and sets its ID.
func (db *DB) InsertUser(ctx context.Context, u *User) error {
	u.UsernameLower = strings.ToLower(u.Username)
	u.EmailLower = strings.ToLower(u.Email)
	id, err := db.insert(ctx, `INSERT INTO users (username, username_lower, email, email_lower, name, password_hash,
		admin, bot, state, otp_secret, otp_enabled, otp_recovery_codes, otp_last_step, created_at, updated_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.Username, u.UsernameLower, u.Email, u.EmailLower, u.Name, u.PasswordHash, u.Admin, u.Bot, u.State,
		u.OTPSecret, u.OTPEnabled, u.OTPRecoveryCodes, u.OTPLastStep, u.CreatedAt, u.UpdatedAt)
	if err != nil {
		return fmt.Errorf("insert user %q: %w", u.Username, err)
	}
	u.ID = id
	return nil
}

// UpdateUser writes every mutable field of u except the TOTP secret,
// which only SetOTPSecret and ClearOTP write: a whole-row update from a
// copy read before a key rotation must not put back a value encrypted
// under the old key.
func (db *DB) UpdateUser(ctx context.Context, u *User) error {
	u.UsernameLower = strings.ToLower(u.Username)
	u.EmailLower = strings.ToLower(u.Email)
	n, err := db.exec(ctx, `UPDATE users SET username=?, username_lower=?, email=?, email_lower=?, name=?, password_hash=?,
		admin=?, bot=?, state=?, otp_enabled=?, otp_recovery_codes=?, otp_last_step=?, updated_at=?
		WHERE id=?`,
		u.Username, u.UsernameLower, u.Email, u.EmailLower, u.Name, u.PasswordHash, u.Admin, u.Bot, u.State,
		u.OTPEnabled, u.OTPRecoveryCodes, u.OTPLastStep, u.UpdatedAt, u.ID)
	if err != nil {
		return fmt.Errorf("update user %d: %w", u.ID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// AdvanceOTPStep records step as the last used TOTP step of a user, only
// if it is newer than the one stored; it reports whether it was, so a code
// can never be used twice even by two processes at once.
func (db *DB) AdvanceOTPStep(ctx context.Context, userID, step int64) (bool, error) {
	n, err := db.exec(ctx, `UPDATE users SET otp_last_step=? WHERE id=? AND otp_last_step < ?`, step, userID, step)
	if err != nil {
		return false, fmt.Errorf("record otp step: %w", err)
	}
	return n == 1, nil
}

// UseRecoveryCode replaces a user's remaining recovery-code digests with
// remaining, only if they are still was: of two requests spending the
// same code at once, exactly one gets true.
func (db *DB) UseRecoveryCode(ctx context.Context, userID int64, was, remaining string, now time.Time) (bool, error) {
	n, err := db.exec(ctx, `UPDATE users SET otp_recovery_codes=?, updated_at=? WHERE id=? AND otp_enabled AND otp_recovery_codes=?`,
		remaining, now, userID, was)
	if err != nil {
		return false, fmt.Errorf("use recovery code of user %d: %w", userID, err)
	}
	return n == 1, nil
}

// RecordFailedLogin counts one wrong password for a user in one statement
// (the database serialises concurrent ones, across replicas) and locks the
// account at now when the count reaches maxAttempts. A lock in force is
// not moved. It returns the new count and the lock time, if any. The time
// is cut to microseconds, which PostgreSQL keeps (it would round, and a
// lock could then end a fraction later than it should).
func (db *DB) RecordFailedLogin(ctx context.Context, userID int64, maxAttempts int, now time.Time) (int, *time.Time, error) {
	var r struct {
		FailedAttempts int        `db:"failed_attempts"`
		LockedAt       *time.Time `db:"locked_at"`
	}
	err := db.get(ctx, &r, `UPDATE users SET failed_attempts = failed_attempts + 1,
		locked_at = CASE WHEN locked_at IS NULL AND failed_attempts + 1 >= ? THEN ? ELSE locked_at END
		WHERE id = ? RETURNING failed_attempts, locked_at`, maxAttempts, now.Truncate(time.Microsecond), userID)
	if err != nil {
		return 0, nil, fmt.Errorf("record failed sign-in of user %d: %w", userID, err)
	}
	return r.FailedAttempts, r.LockedAt, nil
}

// ExpireLoginLock lifts a user's lock and failure count if the lock was
// set at or before lockedBefore; a newer lock (another replica may just
// have set one) stays.
func (db *DB) ExpireLoginLock(ctx context.Context, userID int64, lockedBefore time.Time) error {
	if _, err := db.exec(ctx, `UPDATE users SET failed_attempts = 0, locked_at = NULL WHERE id = ? AND locked_at <= ?`,
		userID, lockedBefore); err != nil {
		return fmt.Errorf("expire lock of user %d: %w", userID, err)
	}
	return nil
}

// ResetFailedLogins forgets a user's wrong passwords after a successful
// sign-in. A lock set meanwhile stays.
func (db *DB) ResetFailedLogins(ctx context.Context, userID int64) error {
	if _, err := db.exec(ctx, `UPDATE users SET failed_attempts = 0 WHERE id = ? AND locked_at IS NULL`, userID); err != nil {
		return fmt.Errorf("reset failed sign-ins of user %d: %w", userID, err)
	}
	return nil
}

// UnlockUser lifts a user's lock and forgets their wrong passwords.
func (db *DB) UnlockUser(ctx context.Context, userID int64) error {
	n, err := db.exec(ctx, `UPDATE users SET failed_attempts = 0, locked_at = NULL WHERE id = ?`, userID)
	if err != nil {
		return fmt.Errorf("unlock user %d: %w", userID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UserByID loads one user.
func (db *DB) UserByID(ctx context.Context, id int64) (*User, error) {
	var u User
	if err := db.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE id=?`, id); err != nil {
		return nil, fmt.Errorf("user %d: %w", id, err)
	}
	return &u, nil
}

// UserByUsername loads one user by name, case-insensitively.
func (db *DB) UserByUsername(ctx context.Context, username string) (*User, error) {
	var u User
	if err := db.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE username_lower=?`, strings.ToLower(username)); err != nil {
		return nil, fmt.Errorf("user %q: %w", username, err)
	}
	return &u, nil
}

// UserByEmail loads one user by email, case-insensitively.
func (db *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	var u User
	if err := db.get(ctx, &u, `SELECT `+userColumns+` FROM users WHERE email_lower=?`, strings.ToLower(email)); err != nil {
		return nil, fmt.Errorf("user by email: %w", err)
	}
	return &u, nil
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Username string // exact, case-insensitive
	Search   string // substring of username, name or email
	// SearchWithoutEmail leaves e-mail out of Search (non-admin callers).
	SearchWithoutEmail bool
	Blocked            *bool
	Admins             bool
	Offset             int
	Limit              int
}

func (f UserFilter) where() (string, []any) {
	var conds []string
	var args []any
	if f.Username != "" {
		conds = append(conds, "username_lower = ?")
		args = append(args, strings.ToLower(f.Username))
	}
	if f.Search != "" && f.SearchWithoutEmail {
		conds = append(conds, "(username_lower LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\')")
		s := "%" + likeEscape(strings.ToLower(f.Search)) + "%"
		args = append(args, s, s)
	} else if f.Search != "" {
		conds = append(conds, "(username_lower LIKE ? ESCAPE '\\' OR lower(name) LIKE ? ESCAPE '\\' OR email_lower LIKE ? ESCAPE '\\')")
		s := "%" + likeEscape(strings.ToLower(f.Search)) + "%"
		args = append(args, s, s, s)
	}
	if f.Blocked != nil {
		conds = append(conds, "state = ?")
		if *f.Blocked {
			args = append(args, UserBlocked)
		} else {
			args = append(args, UserActive)
		}
	}
	if f.Admins {
		conds = append(conds, "admin = TRUE")
	}
	return whereClause(conds), args
}

// ListUsers returns one page of users ordered by id, and the total count.
func (db *DB) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	where, args := f.where()
	var total int
	if err := db.get(ctx, &total, `SELECT COUNT(*) FROM users`+where, args...); err != nil {
		return nil, 0, fmt.Errorf("count users: %w", err)
	}
	var users []User
	q := `SELECT ` + userColumns + ` FROM users` + where + ` ORDER BY id` + limitClause(f.Offset, f.Limit)
	if err := db.selectAll(ctx, &users, q, args...); err != nil {
		return nil, 0, fmt.Errorf("list users: %w", err)
	}
	return users, total, nil
}

// CountUsers reports how many users exist.
func (db *DB) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := db.get(ctx, &n, `SELECT COUNT(*) FROM users`); err != nil {
		return 0, fmt.Errorf("count users: %w", err)
	}
	return n, nil
}

func whereClause(conds []string) string {
	if len(conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(conds, " AND ")
}

func limitClause(offset, limit int) string {
	if limit <= 0 {
		return ""
	}
	return fmt.Sprintf(" LIMIT %d OFFSET %d", limit, max(offset, 0))
}

// likeEscape makes user input literal inside a LIKE pattern whose query
// says ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

// DeleteUser removes a user. Their personal namespace (and the project
// rows in it), tokens, keys and memberships go with the row (ON DELETE
// CASCADE); the caller removes what the database cannot: repositories on
// disk and the memberships of the projects that disappear.
func (db *DB) DeleteUser(ctx context.Context, id int64) error {
	n, err := db.exec(ctx, `DELETE FROM users WHERE id=?`, id)
	if err != nil {
		return fmt.Errorf("delete user %d: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}
