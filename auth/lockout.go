package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gitgate/gitgate/store"
)

// Account lockout, as GitLab's (Devise lockable) defaults: MaxFailedLogins
// wrong passwords in a row lock an account's password for
// AccountLockDuration, whatever addresses they came from. Tokens and SSH
// keys keep working. See docs/authentication.md.
const (
	MaxFailedLogins     = 10
	AccountLockDuration = 10 * time.Minute
)

// Locked reports whether u's password is locked now.
func (s *Service) Locked(u *User) bool { return s.locked(u.LockedAt) }

func (s *Service) locked(lockedAt *time.Time) bool {
	return lockedAt != nil && s.Now().Before(lockedAt.Add(AccountLockDuration))
}

// UnlockUser lifts a user's lock and forgets their failed attempts.
func (s *Service) UnlockUser(ctx context.Context, id int64) (*User, error) {
	if err := s.db.UnlockUser(ctx, id); err != nil {
		return nil, mapStoreErr(err, fmt.Sprintf("user %d", id))
	}
	return s.User(ctx, id)
}

// checkLogin verifies a username and password: the hash is computed under
// the password limiter (count runs first, see passwordLimiter.verify), and
// the outcome feeds the account lockout. Unknown users, users without a
// password and locked accounts cost one hash too and get the same answer
// as a wrong password, so the answer reveals nothing about the account.
func (s *Service) checkLogin(ctx context.Context, username, password string, count func() error) (*store.User, error) {
	u, err := s.loginUser(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.passwords.verify(ctx, dummyHash, password, count); err != nil {
			return nil, err
		}
		return nil, reject("unknown user")
	}
	if err != nil {
		return nil, fmt.Errorf("sign-in of %q: %w", username, err)
	}
	if u.Bot || u.PasswordHash == "" {
		if _, err := s.passwords.verify(ctx, dummyHash, password, count); err != nil {
			return nil, err
		}
		return nil, reject("user has no password")
	}
	locked, err := s.lockState(ctx, u)
	if err != nil {
		return nil, err
	}
	ok, err := s.passwords.verify(ctx, u.PasswordHash, password, count)
	if err != nil {
		return nil, err
	}
	if !ok || locked {
		return nil, s.failedAttempt(ctx, u, locked, "wrong password")
	}
	if u.State != UserActive {
		return nil, reject("user is blocked")
	}
	if u.OTPEnabled {
		// The sign-in is not over: the count is cleared only once the
		// second factor is right too (VerifySecondFactor).
		return u, nil
	}
	return u, s.succeeded(ctx, u)
}

// lockState reports whether u's password is locked now; an expired lock
// is cleared first, so the next attempt starts from a clean count.
func (s *Service) lockState(ctx context.Context, u *store.User) (bool, error) {
	locked := s.locked(u.LockedAt)
	if u.LockedAt != nil && !locked {
		if err := s.db.ExpireLoginLock(ctx, u.ID, s.Now().Add(-AccountLockDuration)); err != nil {
			return false, err
		}
		u.FailedAttempts, u.LockedAt = 0, nil
	}
	return locked, nil
}

// failedAttempt counts a wrong password or two-factor code against u and
// returns the rejection. As Devise does, attempts on a locked account
// count too (the lock itself is not extended).
func (s *Service) failedAttempt(ctx context.Context, u *store.User, locked bool, reason string) error {
	n, lockedAt, err := s.db.RecordFailedLogin(ctx, u.ID, MaxFailedLogins, s.Now())
	if err != nil {
		return err
	}
	if locked {
		return reject("account locked")
	}
	if lockedAt != nil && n == MaxFailedLogins {
		s.log.Warn("account locked after repeated failed sign-ins", "user", u.Username, "attempts", n,
			"until", lockedAt.Add(AccountLockDuration).Format(time.RFC3339))
	}
	return reject(reason)
}

// succeeded clears u's failed attempts after a whole successful sign-in.
func (s *Service) succeeded(ctx context.Context, u *store.User) error {
	if u.FailedAttempts == 0 {
		return nil
	}
	if err := s.db.ResetFailedLogins(ctx, u.ID); err != nil {
		return err
	}
	u.FailedAttempts = 0
	return nil
}

// loginUser finds the account a sign-in names: by email when the login
// has an '@' (no username can), else by username, as GitLab's login field
// accepts either.
func (s *Service) loginUser(ctx context.Context, login string) (*store.User, error) {
	if strings.Contains(login, "@") {
		return s.db.UserByEmail(ctx, login)
	}
	return s.db.UserByUsername(ctx, login)
}
