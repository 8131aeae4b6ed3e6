package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/gitgate/gitgate/store"
)

// Web sessions (docs/web.md#sessions). The browser's cookie holds a random
// secret; the database holds only its SHA-256 digest. A session works
// while it is neither idle for longer than the idle lifetime nor older
// than the absolute lifetime, and only while its user is active: the user
// row is read with the session on every request, so blocking a user ends
// their sessions at once.

// Default session lifetimes (GitLab's session duration is a week).
const (
	DefaultSessionIdle     = 7 * 24 * time.Hour
	DefaultSessionAbsolute = 30 * 24 * time.Hour
	// sessionTouchPeriod is how stale last_seen_at may get before a
	// request rewrites it: far below any idle lifetime worth setting,
	// and one write a minute per busy browser at most.
	sessionTouchPeriod = time.Minute
)

// Session is a signed-in browser as callers see it.
type Session struct {
	ID         int64
	UserID     int64
	CreatedAt  time.Time
	LastSeenAt time.Time
}

// WithSessionLifetimes sets how long a web session may stay idle and how
// long it may live at all (zero or negative: the defaults).
func WithSessionLifetimes(idle, absolute time.Duration) Option {
	return func(s *Service) {
		if idle > 0 {
			s.sessionIdle = idle
		}
		if absolute > 0 {
			s.sessionAbsolute = absolute
		}
	}
}

// SessionLifetimes reports the idle and absolute lifetimes in force.
func (s *Service) SessionLifetimes() (idle, absolute time.Duration) {
	return s.idleLifetime(), s.absoluteLifetime()
}

func (s *Service) idleLifetime() time.Duration {
	if s.sessionIdle > 0 {
		return s.sessionIdle
	}
	return DefaultSessionIdle
}

func (s *Service) absoluteLifetime() time.Duration {
	if s.sessionAbsolute > 0 {
		return s.sessionAbsolute
	}
	return DefaultSessionAbsolute
}

// CreateSession starts a web session for a user who has just proved who
// they are (CheckLogin, and VerifySecondFactor for 2FA users). It returns
// the secret for the cookie, which is not kept anywhere. Bots and blocked
// users get none.
func (s *Service) CreateSession(ctx context.Context, userID int64) (string, *Session, error) {
	u, err := s.userRow(ctx, userID)
	if err != nil {
		return "", nil, err
	}
	if u.Bot || u.State != UserActive {
		return "", nil, reject("user may not sign in")
	}
	now := s.Now()
	// Stale rows are removed here, when someone signs in, rather than by
	// a job: a session row that nobody uses harms nobody meanwhile.
	if _, err := s.db.DeleteStaleSessions(ctx, now.Add(-s.idleLifetime()), now.Add(-s.absoluteLifetime())); err != nil {
		return "", nil, err
	}
	secret := randomString(40)
	row := &store.Session{Digest: HashToken(secret), UserID: u.ID, CreatedAt: now, LastSeenAt: now}
	if err := s.db.InsertSession(ctx, row); err != nil {
		return "", nil, err
	}
	return secret, sessionFrom(row), nil
}

func sessionFrom(r *store.Session) *Session {
	return &Session{ID: r.ID, UserID: r.UserID, CreatedAt: r.CreatedAt, LastSeenAt: r.LastSeenAt}
}

// SessionUser returns the session a cookie secret names and its user. A
// session that does not exist, has lived too long, or whose user is
// blocked or a bot is ErrInvalidCredential (the browser must sign in
// again); a database that cannot be reached is ErrUnavailable, never a
// sign-out.
func (s *Service) SessionUser(ctx context.Context, secret string) (*Session, *User, error) {
	if secret == "" || len(secret) > 255 {
		return nil, nil, reject("no session")
	}
	digest := HashToken(secret)
	row, err := s.db.SessionAndUserByDigest(ctx, digest)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, reject("unknown session")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("load session: %w", err)
	}
	now := s.Now()
	switch {
	case !now.Before(row.CreatedAt.Add(s.absoluteLifetime())), !now.Before(row.LastSeenAt.Add(s.idleLifetime())):
		if err := s.db.DeleteSession(ctx, digest); err != nil {
			return nil, nil, err
		}
		return nil, nil, reject("session expired")
	case row.User.State != UserActive || row.User.Bot:
		return nil, nil, reject("user may not sign in")
	}
	if now.Sub(row.LastSeenAt) >= sessionTouchPeriod {
		if err := s.db.TouchSession(ctx, row.ID, now); err != nil {
			return nil, nil, err
		}
		row.LastSeenAt = now
	}
	return sessionFrom(&row.Session), userFrom(&row.User), nil
}

// EndSession signs a browser out: its session stops working everywhere.
func (s *Service) EndSession(ctx context.Context, secret string) error {
	if secret == "" {
		return nil
	}
	return s.db.DeleteSession(ctx, HashToken(secret))
}

// EndOtherSessions ends every session of a user except the one whose
// cookie secret is keep (empty: all of them).
func (s *Service) EndOtherSessions(ctx context.Context, userID int64, keep string) error {
	digest := ""
	if keep != "" {
		digest = HashToken(keep)
	}
	_, err := s.db.DeleteUserSessions(ctx, userID, digest)
	return err
}

// actingSessionKey carries the cookie secret of the web session a
// request comes from (WithActingSession).
type actingSessionKey struct{}

// WithActingSession marks ctx as a request of the web session whose
// cookie secret is secret. When such a request changes the user's own
// password or two-factor settings, that browser stays signed in.
func WithActingSession(ctx context.Context, secret string) context.Context {
	return context.WithValue(ctx, actingSessionKey{}, secret)
}

// credentialsChanged ends the user's sessions after a password or
// two-factor change, whichever door made it (a page, the API, the CLI):
// a browser signed in with the old credentials must not stay signed in
// (docs/web.md#sessions). Only the session that made the change, if
// any, is kept.
func (s *Service) credentialsChanged(ctx context.Context, userID int64) error {
	keep, _ := ctx.Value(actingSessionKey{}).(string)
	if err := s.EndOtherSessions(ctx, userID, keep); err != nil {
		return fmt.Errorf("end the sessions of user %d: %w", userID, err)
	}
	return nil
}

// languagePattern is the form of a language tag gitgate stores: "en",
// "ja", "pt-BR". Which languages exist is the web catalog's business.
var languagePattern = regexp.MustCompile(`^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$`)

// SetPreferredLanguage stores the language a user chose for the pages;
// empty follows the browser's Accept-Language.
func (s *Service) SetPreferredLanguage(ctx context.Context, userID int64, lang string) error {
	if lang != "" && !languagePattern.MatchString(lang) {
		return inputErr("preferred_language", "%q is not a language tag", lang)
	}
	return mapStoreErr(s.db.SetUserLanguage(ctx, userID, lang, s.Now()), fmt.Sprintf("user %d", userID))
}
