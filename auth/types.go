package auth

import (
	"time"

	"github.com/gitgate/gitgate/store"
)

// The types below are what the service hands to its callers (the doors,
// the CLI, the repository service). They are built from database rows
// inside this package, so a caller never depends on a column, and they
// carry nothing a caller must not see: a User has no password hash, TOTP
// secret or recovery codes, and a Token has no digest. A door cannot leak
// what it never receives.

// ErrUnavailable is the one error every door tests with errors.Is to
// answer "service unavailable" (503) rather than "not found" or "invalid
// credential": the database could not be reached at all, or the
// repository storage could not be read (repos.StorageError matches it
// too). It is the very same value as store.ErrUnavailable, so an error
// from any layer (auth, repos, store itself) matches it; a new door
// decides its 503s with it (docs/replicas.md).
var ErrUnavailable = store.ErrUnavailable

// User states, as the API shows them.
const (
	UserActive  = store.UserActive
	UserBlocked = store.UserBlocked
)

// User is an account as callers see it.
type User struct {
	ID       int64
	Username string
	Email    string
	Name     string
	Admin    bool
	Bot      bool
	// State is UserActive or UserBlocked.
	State string
	// OTPEnabled says whether two-factor authentication is on; the secret
	// itself never leaves this package.
	OTPEnabled bool
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// FailedAttempts counts wrong passwords since the last success, and
	// LockedAt is when they locked the account (see Locked).
	FailedAttempts int
	LockedAt       *time.Time
	// PreferredLanguage is the language chosen for the pages; empty
	// follows the browser.
	PreferredLanguage string
}

func userFrom(u *store.User) *User {
	if u == nil {
		return nil
	}
	return &User{ID: u.ID, Username: u.Username, Email: u.Email, Name: u.Name, Admin: u.Admin, Bot: u.Bot,
		State: u.State, OTPEnabled: u.OTPEnabled, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt,
		FailedAttempts: u.FailedAttempts, LockedAt: u.LockedAt, PreferredLanguage: u.PreferredLanguage}
}

// UserFilter narrows ListUsers. Zero values do not filter.
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

func (f UserFilter) row() store.UserFilter {
	return store.UserFilter{Username: f.Username, Search: f.Search, SearchWithoutEmail: f.SearchWithoutEmail,
		Blocked: f.Blocked, Admins: f.Admins, Offset: f.Offset, Limit: f.Limit}
}

// Token is a personal access token as callers see it. The secret exists
// only in CreatedToken, once; not even its digest is here.
type Token struct {
	ID            int64
	UserID        int64
	Name          string
	Description   string
	Scopes        []string
	ExpiresAt     *time.Time
	CreatedAt     time.Time
	LastUsedAt    *time.Time
	Revoked       bool
	Impersonation bool
}

func tokenFrom(t *store.Token) *Token {
	if t == nil {
		return nil
	}
	return &Token{ID: t.ID, UserID: t.UserID, Name: t.Name, Description: t.Description, Scopes: t.Scopes(),
		ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt, LastUsedAt: t.LastUsedAt, Revoked: t.Revoked,
		Impersonation: t.Impersonation}
}

// TokenFilter narrows ListTokens. Zero values do not filter.
type TokenFilter struct {
	UserID        int64
	Impersonation *bool
	Revoked       *bool
	// State "active": not revoked and not expired now; "inactive":
	// revoked or expired.
	State         string
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

func (f TokenFilter) row(now time.Time) store.TokenFilter {
	r := store.TokenFilter{UserID: f.UserID, Impersonation: f.Impersonation, Revoked: f.Revoked, State: f.State,
		Search: f.Search, CreatedAfter: f.CreatedAfter, CreatedBefore: f.CreatedBefore, ExpiresAfter: f.ExpiresAfter,
		ExpiresBefore: f.ExpiresBefore, UsedAfter: f.UsedAfter, UsedBefore: f.UsedBefore, Offset: f.Offset, Limit: f.Limit}
	if f.State != "" {
		r.Today = now
	}
	return r
}

// SSHKey is a registered public key as callers see it.
type SSHKey struct {
	ID     int64
	UserID int64
	Title  string
	// Key is "type base64", without a comment.
	Key         string
	Fingerprint string
	KeyType     string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	LastUsedAt  *time.Time
}

func keyFrom(k *store.SSHKey) *SSHKey {
	if k == nil {
		return nil
	}
	return &SSHKey{ID: k.ID, UserID: k.UserID, Title: k.Title, Key: k.Key, Fingerprint: k.Fingerprint,
		KeyType: k.KeyType, CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt}
}

// usersFrom, tokensFrom and keysFrom convert a page of rows.
func usersFrom(rows []store.User) []User {
	out := make([]User, len(rows))
	for i := range rows {
		out[i] = *userFrom(&rows[i])
	}
	return out
}

func tokensFrom(rows []store.Token) []Token {
	out := make([]Token, len(rows))
	for i := range rows {
		out[i] = *tokenFrom(&rows[i])
	}
	return out
}

func keysFrom(rows []store.SSHKey) []SSHKey {
	out := make([]SSHKey, len(rows))
	for i := range rows {
		out[i] = *keyFrom(&rows[i])
	}
	return out
}
