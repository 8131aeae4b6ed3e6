package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
	"unicode"

	"github.com/gitgate/gitgate/store"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// secretLength base62 characters carry 131 bits.
const secretLength = 22

// MinCustomTokenLength is the shortest token string a caller may choose.
const MinCustomTokenLength = 20

// DefaultExpiryDays is the expiry offered when none is given
// (docs/tokens.md#creation).
const DefaultExpiryDays = 30

// RotationExpiryDays is the default lifetime of a rotated token.
const RotationExpiryDays = 7

func randomString(n int) string {
	out := make([]byte, n)
	max := big.NewInt(int64(len(base62)))
	for i := range out {
		v, err := rand.Int(rand.Reader, max)
		if err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err))
		}
		out[i] = base62[v.Int64()]
	}
	return string(out)
}

// GenerateToken returns a new secret: prefix + 22 random base62 characters.
func GenerateToken(prefix string) string { return prefix + randomString(secretLength) }

// HashToken is the digest stored for a token secret (hex SHA-256).
func HashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// TokenState is a token's standing at one moment.
type TokenState string

// Token states.
const (
	TokenActive  TokenState = "active"
	TokenExpired TokenState = "expired"
	TokenRevoked TokenState = "revoked"
)

// Expired reports whether t has expired at now: a token with expires_at D
// works until 00:00 UTC of D.
func Expired(t *Token, now time.Time) bool { return expired(t.ExpiresAt, now) }

func expired(expiresAt *time.Time, now time.Time) bool {
	return expiresAt != nil && !now.Before(*expiresAt)
}

// StateOf gives a token's state (revocation wins over expiry).
func StateOf(t *Token, now time.Time) TokenState { return stateOf(t.Revoked, t.ExpiresAt, now) }

func stateOf(revoked bool, expiresAt *time.Time, now time.Time) TokenState {
	switch {
	case revoked:
		return TokenRevoked
	case expired(expiresAt, now):
		return TokenExpired
	}
	return TokenActive
}

// NewToken is the input of CreateToken.
type NewToken struct {
	UserID      int64
	Name        string
	Description string
	Scopes      []string
	// ExpiresAt is a date (00:00 UTC); nil takes the default.
	ExpiresAt *time.Time
	// Secret is a caller-chosen token string; empty generates one.
	Secret          string
	Impersonation   bool
	AllowPastExpiry bool
}

// CreatedToken is a stored token with its secret, which exists only here.
type CreatedToken struct {
	Token  *Token
	Secret string
}

// CreateToken validates and stores a personal access token. The rules are
// the same for every door (docs/tokens.md#creation): valid scopes, sudo
// only for admins, expiry after today and within the lifetime limit, a
// default when none is given.
func (s *Service) CreateToken(ctx context.Context, in NewToken) (*CreatedToken, error) {
	settings, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	u, err := s.userRow(ctx, in.UserID)
	if err != nil {
		return nil, err
	}
	if err := validateTokenName(in.Name); err != nil {
		return nil, err
	}
	if len(in.Description) > 255 {
		return nil, inputErr("description", "description is too long (maximum is 255 characters)")
	}
	scopes, err := ParseScopes(in.Scopes...)
	if err != nil {
		return nil, &InputError{Field: "scopes", Msg: err.Error()}
	}
	if containsScope(scopes, ScopeSudo) && !u.Admin {
		return nil, inputErr("scopes", "the sudo scope is allowed only for tokens of admin users; %s is not an admin", u.Username)
	}
	if in.Impersonation && !settings.ImpersonationEnabled {
		return nil, inputErr("impersonation", "impersonation tokens are disabled on this instance (impersonation_enabled=false)")
	}
	expires, err := s.expiryFor(settings, in.ExpiresAt, in.AllowPastExpiry, newTokenExpiry)
	if err != nil {
		return nil, err
	}
	secret := in.Secret
	if secret == "" {
		secret = GenerateToken(settings.TokenPrefix)
	} else if err := validateCustomToken(secret); err != nil {
		return nil, err
	}
	t := &store.Token{UserID: u.ID, Name: in.Name, Description: in.Description, Digest: HashToken(secret),
		ScopeList: strings.Join(scopes, ","), ExpiresAt: expires, CreatedAt: s.Now().Truncate(time.Millisecond),
		Impersonation: in.Impersonation}
	if err := s.db.InsertToken(ctx, t); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &ConflictError{Field: "token", Msg: "that token string is already in use; choose another"}
		}
		return nil, err
	}
	return &CreatedToken{Token: tokenFrom(t), Secret: secret}, nil
}

func containsScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

func validateTokenName(name string) error {
	if strings.TrimSpace(name) == "" {
		return inputErr("name", "name is required")
	}
	if len(name) > 255 {
		return inputErr("name", "name is too long (maximum is 255 characters)")
	}
	return nil
}

func validateCustomToken(secret string) error {
	if len(secret) < MinCustomTokenLength {
		return inputErr("token", "token string is too short (minimum is %d characters)", MinCustomTokenLength)
	}
	if len(secret) > 255 {
		return inputErr("token", "token string is too long (maximum is 255 characters)")
	}
	for _, r := range secret {
		if r > unicode.MaxASCII || !unicode.IsPrint(r) || r == ' ' {
			return inputErr("token", "token string may contain only printable ASCII characters without spaces")
		}
	}
	return nil
}

// expiryRule is what a missing date becomes.
type expiryRule struct {
	defaultDays int
	// alwaysDated gives a date even where the instance requires none: a
	// rotated token always gets one, as in GitLab
	// (docs/tokens.md#rotation).
	alwaysDated bool
}

var (
	newTokenExpiry     = expiryRule{defaultDays: DefaultExpiryDays}
	rotatedTokenExpiry = expiryRule{defaultDays: RotationExpiryDays, alwaysDated: true}
)

// expiryFor applies the expiry rules: nil takes today + the rule's default
// capped by the limit (or no expiry where none is required, there is no
// limit and the rule allows it); a given date must be after today and
// within the limit.
func (s *Service) expiryFor(st Settings, given *time.Time, allowPast bool, rule expiryRule) (*time.Time, error) {
	today := Today(s.Now())
	var limit *time.Time
	if st.MaxLifetimeDays > 0 {
		l := AddDays(today, st.MaxLifetimeDays)
		limit = &l
	}
	if given == nil {
		if !st.RequireExpiry && limit == nil && !rule.alwaysDated {
			return nil, nil
		}
		d := AddDays(today, rule.defaultDays)
		if limit != nil && d.After(*limit) {
			d = *limit
		}
		return &d, nil
	}
	d := Today(*given)
	if !allowPast && !d.After(today) {
		return nil, inputErr("expires_at", "expiration date %s must be after today (%s UTC)", d.Format(DateLayout), today.Format(DateLayout))
	}
	if limit != nil && d.After(*limit) {
		return nil, inputErr("expires_at", "expiration date %s is beyond the maximum allowable lifetime: it must be on or before %s (%d days)",
			d.Format(DateLayout), limit.Format(DateLayout), st.MaxLifetimeDays)
	}
	return &d, nil
}

// DefaultExpiry is the date offered to people creating a token (UI form).
func (s *Service) DefaultExpiry(ctx context.Context) (*time.Time, error) {
	st, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	return s.expiryFor(st, nil, false, newTokenExpiry)
}

// Token loads a token by id.
func (s *Service) Token(ctx context.Context, id int64) (*Token, error) {
	t, err := s.db.TokenByID(ctx, id)
	if err != nil {
		return nil, mapStoreErr(err, fmt.Sprintf("token %d", id))
	}
	return tokenFrom(t), nil
}

// TokenBySecret loads the token for a secret.
func (s *Service) TokenBySecret(ctx context.Context, secret string) (*Token, error) {
	t, err := s.db.TokenByDigest(ctx, HashToken(secret))
	if err != nil {
		return nil, mapStoreErr(err, "token")
	}
	return tokenFrom(t), nil
}

// ListTokens lists tokens.
func (s *Service) ListTokens(ctx context.Context, f TokenFilter) ([]Token, int, error) {
	rows, total, err := s.db.ListTokens(ctx, f.row(s.Now()))
	if err != nil {
		return nil, 0, err
	}
	return tokensFrom(rows), total, nil
}

// RevokeToken revokes a token by id. Revoking a revoked token is fine.
func (s *Service) RevokeToken(ctx context.Context, id int64) (*Token, error) {
	if _, err := s.db.RevokeToken(ctx, id); err != nil {
		return nil, err
	}
	return s.Token(ctx, id)
}

// RevokeTokenBySecret revokes the token with this value.
func (s *Service) RevokeTokenBySecret(ctx context.Context, secret string) (*Token, error) {
	t, err := s.TokenBySecret(ctx, secret)
	if err != nil {
		return nil, err
	}
	return s.RevokeToken(ctx, t.ID)
}

// RotateToken revokes a token and issues its successor with the same
// name, description, scopes and kind; expiresAt nil means +7 days (within
// the limits). A revoked or expired token cannot be rotated.
//
// An impersonation token is an admin's grant for a limited time
// (docs/api.md): rotating one needs impersonation_enabled, and its
// successor never expires later than the original, so whoever holds it
// cannot stretch the grant by rotating, nor mint one that never expires.
func (s *Service) RotateToken(ctx context.Context, id int64, expiresAt *time.Time) (*CreatedToken, error) {
	settings, err := s.Settings(ctx)
	if err != nil {
		return nil, err
	}
	var out *CreatedToken
	err = s.db.InTx(ctx, func(tx *store.DB) error {
		old, err := tx.TokenByID(ctx, id)
		if err != nil {
			return mapStoreErr(err, fmt.Sprintf("token %d", id))
		}
		switch stateOf(old.Revoked, old.ExpiresAt, s.Now()) {
		case TokenRevoked:
			return inputErr("token", "token %d is revoked and cannot be rotated", id)
		case TokenExpired:
			return inputErr("token", "token %d has expired and cannot be rotated", id)
		}
		if old.Impersonation && !settings.ImpersonationEnabled {
			return inputErr("impersonation", "token %d is an impersonation token and impersonation tokens are disabled on this instance (impersonation_enabled=false)", id)
		}
		expires, err := s.rotatedExpiry(settings, old, expiresAt)
		if err != nil {
			return err
		}
		ok, err := tx.RevokeToken(ctx, id)
		if err != nil {
			return err
		}
		if !ok {
			return inputErr("token", "token %d is revoked and cannot be rotated", id)
		}
		secret := GenerateToken(settings.TokenPrefix)
		prev := old.ID
		t := &store.Token{UserID: old.UserID, Name: old.Name, Description: old.Description, Digest: HashToken(secret),
			ScopeList: old.ScopeList, ExpiresAt: expires, CreatedAt: s.Now().Truncate(time.Millisecond),
			Impersonation: old.Impersonation, PreviousTokenID: &prev}
		if err := tx.InsertToken(ctx, t); err != nil {
			return err
		}
		out = &CreatedToken{Token: tokenFrom(t), Secret: secret}
		return nil
	})
	return out, err
}

// rotatedExpiry is the expiry of old's successor: the usual rules, and
// for an impersonation token with an expiry, never later than that expiry
// (no date given takes the default, cut to it).
func (s *Service) rotatedExpiry(st Settings, old *store.Token, given *time.Time) (*time.Time, error) {
	if !old.Impersonation || old.ExpiresAt == nil {
		return s.expiryFor(st, given, false, rotatedTokenExpiry)
	}
	limit := Today(*old.ExpiresAt)
	if given != nil && Today(*given).After(limit) {
		return nil, inputErr("expires_at", "expiration date %s is after the expiry of impersonation token %d (%s): a rotated impersonation token cannot outlive the original",
			Today(*given).Format(DateLayout), old.ID, limit.Format(DateLayout))
	}
	d, err := s.expiryFor(st, given, false, rotatedTokenExpiry)
	if err != nil {
		return nil, err
	}
	if d == nil || d.After(limit) {
		d = &limit
	}
	return d, nil
}

// RevokeUserTokens revokes every token of a user that is not revoked yet,
// impersonation tokens and expired ones included (an expired token still
// works while expiry is not enforced), and returns how many: the response
// to a leaked laptop or a departing employee.
func (s *Service) RevokeUserTokens(ctx context.Context, userID int64) (int, error) {
	n, err := s.db.RevokeUserTokens(ctx, userID)
	if err != nil {
		return 0, err
	}
	return int(n), nil
}
