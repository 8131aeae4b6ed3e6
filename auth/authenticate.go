package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/store"
)

// CredentialKind says what a door received.
type CredentialKind int

// Credential kinds.
const (
	// CredToken is a bare token: Bearer, PRIVATE-TOKEN, private_token.
	CredToken CredentialKind = iota + 1
	// CredGitBasic is HTTP Basic for Git: the password is a token
	// (username ignored) or, where allowed, the account password.
	CredGitBasic
	// CredSSHPassword is an SSH password: only ever a token.
	CredSSHPassword
	// CredSSHKey is a public key whose signature the SSH layer verified.
	CredSSHKey
)

// Credential is what a caller presented.
type Credential struct {
	Kind     CredentialKind
	Username string
	Secret   string
	Key      ssh.PublicKey
	// CountAttempt, when set, is called when an account password is about
	// to be verified: after the verification has its slot under the
	// concurrency bound and before the hash is computed. A door counts the
	// attempt against the client's lockout there, so no more hashes than
	// the lockout allows ever run. A non-nil error stops the verification;
	// Authenticate returns it wrapped. It is not called for tokens or keys.
	CountAttempt func() error
}

// Method says how a principal authenticated.
type Method string

// Authentication methods, as used in logs and metrics labels.
const (
	MethodToken    Method = "token"
	MethodPassword Method = "password"
	MethodSSHKey   Method = "ssh_key"
)

// Principal is an authenticated caller: a user, and the token or key that
// proved it. The zero/nil Principal is anonymous.
type Principal struct {
	User   *User
	Token  *Token  // when a token authenticated
	Key    *SSHKey // when an SSH key authenticated
	Method Method
	// Scopes bound what the principal may do: a token's scopes, or full
	// Git access for a password or key.
	Scopes []string
}

// IsAnonymous reports whether p represents no signed-in user.
func (p *Principal) IsAnonymous() bool { return p == nil || p.User == nil }

// IsAdmin reports whether p is an admin user.
func (p *Principal) IsAdmin() bool { return !p.IsAnonymous() && p.User.Admin }

// Username is the user's name, or "anonymous".
func (p *Principal) Username() string {
	if p.IsAnonymous() {
		return "anonymous"
	}
	return p.User.Username
}

// Authenticate turns a credential into a Principal, or returns an error
// wrapping ErrInvalidCredential (answer 401), ErrBusy (a password could
// not be verified yet: answer 503 and do not count a failure), the error
// of c.CountAttempt, or ErrUnavailable (answer 503: the caller must
// not conclude its token is bad).
func (s *Service) Authenticate(ctx context.Context, c Credential) (*Principal, error) {
	switch c.Kind {
	case CredToken, CredSSHPassword:
		return s.authenticateToken(ctx, c.Secret)
	case CredGitBasic:
		return s.authenticateGitBasic(ctx, c)
	case CredSSHKey:
		return s.authenticateKey(ctx, c.Key)
	}
	return nil, reject("unsupported credential")
}

// LooksLikeToken is a cheap pre-check: anything a token could be.
func LooksLikeToken(secret string) bool {
	return len(secret) >= MinCustomTokenLength && len(secret) <= 255 && !strings.ContainsAny(secret, " \t\r\n")
}

func (s *Service) authenticateToken(ctx context.Context, secret string) (*Principal, error) {
	if !LooksLikeToken(secret) {
		return nil, reject("malformed token")
	}
	row, err := s.db.TokenAndUserByDigest(ctx, HashToken(secret))
	if errors.Is(err, store.ErrNotFound) {
		return nil, reject("unknown token")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate token: %w", err)
	}
	settings, err := s.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("authenticate token: %w", err)
	}
	if err := checkToken(&row.Token, &row.User, settings, s.Now()); err != nil {
		return nil, err
	}
	s.usage.record("token", row.Token.ID, row.Token.LastUsedAt, s.Now())
	t := tokenFrom(&row.Token)
	return &Principal{User: userFrom(&row.User), Token: t, Method: MethodToken, Scopes: t.Scopes}, nil
}

// checkToken applies the token state rules (docs/tokens.md#when-a-token-works).
func checkToken(t *store.Token, u *store.User, st Settings, now time.Time) error {
	switch {
	case t.Revoked:
		return reject("token revoked")
	case expired(t.ExpiresAt, now) && st.EnforceExpiration:
		return reject("token expired")
	case t.Impersonation && !st.ImpersonationEnabled:
		return reject("impersonation disabled")
	case u.State != UserActive:
		return reject("user blocked")
	}
	return nil
}

func (s *Service) authenticateGitBasic(ctx context.Context, c Credential) (*Principal, error) {
	if LooksLikeToken(c.Secret) {
		p, err := s.authenticateToken(ctx, c.Secret)
		if err == nil || !errors.Is(err, ErrInvalidCredential) || RejectionReason(err) != "unknown token" {
			return p, err
		}
	}
	if c.Username == "" || c.Secret == "" {
		return nil, reject("empty credential")
	}
	settings, err := s.Settings(ctx)
	if err != nil {
		return nil, fmt.Errorf("authenticate password: %w", err)
	}
	if !settings.PasswordForGit {
		return nil, reject("password authentication for Git is disabled")
	}
	u, err := s.checkLogin(ctx, c.Username, c.Secret, c.CountAttempt)
	if err != nil {
		return nil, err
	}
	if u.OTPEnabled {
		return nil, reject("two-factor user must use a token")
	}
	return &Principal{User: userFrom(u), Method: MethodPassword, Scopes: gitScopes}, nil
}

func (s *Service) authenticateKey(ctx context.Context, key ssh.PublicKey) (*Principal, error) {
	if key == nil {
		return nil, reject("no key")
	}
	row, err := s.db.KeyAndUserByFingerprint(ctx, ssh.FingerprintSHA256(key))
	if errors.Is(err, store.ErrNotFound) {
		return nil, reject("unknown key")
	}
	if err != nil {
		return nil, fmt.Errorf("authenticate key: %w", err)
	}
	now := s.Now()
	switch {
	case row.ExpiresAt != nil && !now.Before(*row.ExpiresAt):
		return nil, reject("key expired")
	case row.User.State != UserActive:
		return nil, reject("user blocked")
	}
	s.usage.record("key", row.ID, row.LastUsedAt, now)
	return &Principal{User: userFrom(&row.User), Key: keyFrom(&row.SSHKey), Method: MethodSSHKey, Scopes: gitScopes}, nil
}
