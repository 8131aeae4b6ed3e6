package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"
)

// ErrBusy is returned when a password could not be verified because as
// many verifications as allowed were running and none finished within the
// queue timeout. It is a temporary failure, not a wrong credential: doors
// answer it with "try again shortly" (HTTP 503 with Retry-After) and do
// not count it against the client or the account.
var ErrBusy = errors.New("server busy verifying other passwords")

// DefaultPasswordQueueTimeout is how long a password verification waits
// for a free slot before the caller is told the server is busy.
const DefaultPasswordQueueTimeout = 2 * time.Second

// passwordLimiter bounds the password hashes computed at once. Each
// argon2id check takes 19 MiB and a core for tens of milliseconds, so a
// flood of wrong passwords would otherwise cost memory in proportion to
// the number of connections (docs/authentication.md).
type passwordLimiter struct {
	slots chan struct{}
	wait  time.Duration

	verified    atomic.Int64
	busy        atomic.Int64
	inFlight    atomic.Int64
	maxInFlight atomic.Int64
}

func newPasswordLimiter(n int, wait time.Duration) *passwordLimiter {
	if n <= 0 {
		n = runtime.NumCPU()
	}
	if wait <= 0 {
		wait = DefaultPasswordQueueTimeout
	}
	return &passwordLimiter{slots: make(chan struct{}, n), wait: wait}
}

// verify checks password against hash once a slot is free. count, when
// set, runs after the slot is taken and before the hash is computed: a
// door counts the attempt against the client there, and its error stops
// the verification (no hash is computed) and is returned.
func (l *passwordLimiter) verify(ctx context.Context, hash, password string, count func() error) (bool, error) {
	select {
	case l.slots <- struct{}{}:
	default:
		t := time.NewTimer(l.wait)
		select {
		case l.slots <- struct{}{}:
			t.Stop()
		case <-t.C:
			l.busy.Add(1)
			return false, ErrBusy
		case <-ctx.Done():
			t.Stop()
			return false, fmt.Errorf("wait to verify a password: %w", ctx.Err())
		}
	}
	defer func() { <-l.slots }()
	if count != nil {
		if err := count(); err != nil {
			return false, fmt.Errorf("password attempt refused: %w", err)
		}
	}
	n := l.inFlight.Add(1)
	defer l.inFlight.Add(-1)
	for {
		m := l.maxInFlight.Load()
		if n <= m || l.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	l.verified.Add(1)
	return CheckPassword(hash, password), nil
}

// PasswordStats describes the password verifications of a Service since
// it started (exported as metrics).
type PasswordStats struct {
	// Verified counts password hashes computed (real and dummy ones).
	Verified int64
	// Busy counts verifications refused with ErrBusy.
	Busy int64
	// InFlight is the number of hashes being computed now, and
	// MaxInFlight the highest it has been.
	InFlight, MaxInFlight int64
	// Limit is the most hashes computed at once.
	Limit int
}

// PasswordStats reports the password verifications so far.
func (s *Service) PasswordStats() PasswordStats {
	l := s.passwords
	return PasswordStats{Verified: l.verified.Load(), Busy: l.busy.Load(), InFlight: l.inFlight.Load(),
		MaxInFlight: l.maxInFlight.Load(), Limit: cap(l.slots)}
}

// WithPasswordConcurrency bounds the password hashes computed at once (n
// ≤ 0: the number of CPUs) and how long a verification waits for a slot
// before failing with ErrBusy (wait ≤ 0: DefaultPasswordQueueTimeout).
func WithPasswordConcurrency(n int, wait time.Duration) Option {
	return func(s *Service) { s.passwords = newPasswordLimiter(n, wait) }
}
