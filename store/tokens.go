package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Token is a personal access token row. The secret itself is never stored:
// only its SHA-256 digest.
type Token struct {
	ID                  int64      `db:"id"`
	UserID              int64      `db:"user_id"`
	Name                string     `db:"name"`
	Description         string     `db:"description"`
	Digest              string     `db:"token_digest"`
	ScopeList           string     `db:"scopes"`
	ExpiresAt           *time.Time `db:"expires_at"`
	CreatedAt           time.Time  `db:"created_at"`
	LastUsedAt          *time.Time `db:"last_used_at"`
	Revoked             bool       `db:"revoked"`
	Impersonation       bool       `db:"impersonation"`
	PreviousTokenID     *int64     `db:"previous_token_id"`
	ExpiryNotifiedAt    *time.Time `db:"expiry_notified_at"`
	AfterExpiryNotified bool       `db:"after_expiry_notified"`
}

// Scopes splits the stored scope list.
func (t *Token) Scopes() []string {
	if t.ScopeList == "" {
		return nil
	}
	return strings.Split(t.ScopeList, ",")
}

const tokenColumns = `t.id, t.user_id, t.name, t.description, t.token_digest, t.scopes, t.expires_at, t.created_at,
	t.last_used_at, t.revoked, t.impersonation, t.previous_token_id, t.expiry_notified_at, t.after_expiry_notified`

// InsertToken stores t and sets its ID.
func (db *DB) InsertToken(ctx context.Context, t *Token) error {
	id, err := db.insert(ctx, `INSERT INTO personal_access_tokens (user_id, name, description, token_digest, scopes,
		expires_at, created_at, revoked, impersonation, previous_token_id) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		t.UserID, t.Name, t.Description, t.Digest, t.ScopeList, t.ExpiresAt, t.CreatedAt, t.Revoked,
		t.Impersonation, t.PreviousTokenID)
	if err != nil {
		return fmt.Errorf("insert token: %w", err)
	}
	t.ID = id
	return nil
}

// TokenByID loads one token.
func (db *DB) TokenByID(ctx context.Context, id int64) (*Token, error) {
	var t Token
	if err := db.get(ctx, &t, `SELECT `+tokenColumns+` FROM personal_access_tokens t WHERE t.id=?`, id); err != nil {
		return nil, fmt.Errorf("token %d: %w", id, err)
	}
	return &t, nil
}

// TokenByDigest loads the token whose secret hashes to digest.
func (db *DB) TokenByDigest(ctx context.Context, digest string) (*Token, error) {
	var t Token
	if err := db.get(ctx, &t, `SELECT `+tokenColumns+` FROM personal_access_tokens t WHERE t.token_digest=?`, digest); err != nil {
		return nil, fmt.Errorf("token by digest: %w", err)
	}
	return &t, nil
}

// TokenAndUser is a token joined with its owner, the one row an
// authentication needs.
type TokenAndUser struct {
	Token
	User User `db:"u"`
}

var tokenAndUserQuery = `SELECT ` + tokenColumns + `, ` + prefixed("u", userColumns) +
	` FROM personal_access_tokens t JOIN users u ON u.id = t.user_id WHERE t.token_digest=?`

// TokenAndUserByDigest loads a token and its owner in one round trip. It
// is the hot path of every authenticated request, so it runs as a
// prepared statement (one round trip on PostgreSQL instead of two).
func (db *DB) TokenAndUserByDigest(ctx context.Context, digest string) (*TokenAndUser, error) {
	var r TokenAndUser
	if err := db.getPrepared(ctx, &r, tokenAndUserQuery, digest); err != nil {
		return nil, fmt.Errorf("token by digest: %w", err)
	}
	return &r, nil
}

// prefixed turns "a, b" into `u.a AS "u.a", u.b AS "u.b"` for sqlx's
// embedded-struct mapping.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		c := strings.TrimSpace(p)
		parts[i] = fmt.Sprintf(`%s.%s AS "%s.%s"`, alias, c, alias, c)
	}
	return strings.Join(parts, ", ")
}

// TokenFilter narrows ListTokens. Zero values do not filter.
type TokenFilter struct {
	UserID        int64
	Impersonation *bool
	Revoked       *bool
	// State "active": not revoked and not expired on Today; "inactive":
	// revoked or expired.
	State         string
	Today         time.Time
	Search        string
	CreatedAfter  *time.Time
	CreatedBefore *time.Time
	ExpiresAfter  *time.Time
	ExpiresBefore *time.Time
	UsedAfter     *time.Time
	UsedBefore    *time.Time
	Offset        int
	Limit         int
}

func (f TokenFilter) where() (string, []any) {
	var conds []string
	var args []any
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if f.UserID != 0 {
		add("t.user_id = ?", f.UserID)
	}
	if f.Impersonation != nil {
		add("t.impersonation = ?", *f.Impersonation)
	}
	if f.Revoked != nil {
		add("t.revoked = ?", *f.Revoked)
	}
	switch f.State {
	case "active":
		add("t.revoked = FALSE AND (t.expires_at IS NULL OR t.expires_at > ?)", f.Today)
	case "inactive":
		add("(t.revoked = TRUE OR (t.expires_at IS NOT NULL AND t.expires_at <= ?))", f.Today)
	}
	if f.Search != "" {
		add(`lower(t.name) LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(f.Search))+"%")
	}
	if f.CreatedAfter != nil {
		add("t.created_at > ?", *f.CreatedAfter)
	}
	if f.CreatedBefore != nil {
		add("t.created_at < ?", *f.CreatedBefore)
	}
	if f.ExpiresAfter != nil {
		add("t.expires_at > ?", *f.ExpiresAfter)
	}
	if f.ExpiresBefore != nil {
		add("t.expires_at < ?", *f.ExpiresBefore)
	}
	if f.UsedAfter != nil {
		add("t.last_used_at > ?", *f.UsedAfter)
	}
	if f.UsedBefore != nil {
		add("t.last_used_at < ?", *f.UsedBefore)
	}
	return whereClause(conds), args
}

// ListTokens returns one page of tokens ordered by id, and the total.
func (db *DB) ListTokens(ctx context.Context, f TokenFilter) ([]Token, int, error) {
	where, args := f.where()
	var total int
	if err := db.get(ctx, &total, `SELECT COUNT(*) FROM personal_access_tokens t`+where, args...); err != nil {
		return nil, 0, fmt.Errorf("count tokens: %w", err)
	}
	var out []Token
	q := `SELECT ` + tokenColumns + ` FROM personal_access_tokens t` + where + ` ORDER BY t.id` + limitClause(f.Offset, f.Limit)
	if err := db.selectAll(ctx, &out, q, args...); err != nil {
		return nil, 0, fmt.Errorf("list tokens: %w", err)
	}
	return out, total, nil
}

// RevokeToken marks a token revoked; it reports false when the token was
// already revoked, so two concurrent revocations cannot both rotate it.
func (db *DB) RevokeToken(ctx context.Context, id int64) (bool, error) {
	n, err := db.exec(ctx, `UPDATE personal_access_tokens SET revoked=TRUE WHERE id=? AND revoked=FALSE`, id)
	if err != nil {
		return false, fmt.Errorf("revoke token %d: %w", id, err)
	}
	return n == 1, nil
}

// TouchToken sets last_used_at to now unless it was set after notBefore,
// so a busy token costs one write per period, not one per request.
func (db *DB) TouchToken(ctx context.Context, id int64, now, notBefore time.Time) error {
	_, err := db.exec(ctx, `UPDATE personal_access_tokens SET last_used_at=? WHERE id=? AND (last_used_at IS NULL OR last_used_at < ?)`,
		now, id, notBefore)
	if err != nil {
		return fmt.Errorf("record token use: %w", err)
	}
	return nil
}

// CapTokenExpiry cuts every unrevoked token of the instance that expires
// after limit, or never, to limit. It returns how many changed.
func (db *DB) CapTokenExpiry(ctx context.Context, limit time.Time) (int64, error) {
	n, err := db.exec(ctx, `UPDATE personal_access_tokens SET expires_at=? WHERE revoked=FALSE AND (expires_at IS NULL OR expires_at > ?)`,
		limit, limit)
	if err != nil {
		return 0, fmt.Errorf("cap token expiry: %w", err)
	}
	return n, nil
}

// RevokeUserTokens revokes every token of a user that is not revoked yet
// (expired ones too: they still work while expiry is not enforced) and
// returns how many it revoked.
func (db *DB) RevokeUserTokens(ctx context.Context, userID int64) (int64, error) {
	n, err := db.exec(ctx, `UPDATE personal_access_tokens SET revoked=TRUE WHERE user_id=? AND revoked=FALSE`, userID)
	if err != nil {
		return 0, fmt.Errorf("revoke tokens of user %d: %w", userID, err)
	}
	return n, nil
}
