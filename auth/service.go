// Package auth decides who is calling: users and their passwords and 2FA,
// personal access tokens (generation, digest, scopes, expiry, rotation,
// revocation), SSH keys, the instance settings that govern them, and
// Authenticate, which turns any credential into a Principal.
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/store"
)

// Service is the authentication and identity service over one database.
type Service struct {
	db       *store.DB
	now      func() time.Time
	log      *slog.Logger
	settings settingsCache
	usage    *usageRecorder
	secrets  *secrets.Keyring
	// passwords bounds concurrent password hashing (password_limit.go).
	passwords *passwordLimiter
	// sessionIdle and sessionAbsolute are the web sessions' lifetimes
	// (sessions.go); zero takes the defaults.
	sessionIdle, sessionAbsolute time.Duration
}

// Option configures a Service.
type Option func(*Service)

// WithClock injects the time source (tests move it across midnight).
func WithClock(now func() time.Time) Option { return func(s *Service) { s.now = now } }

// WithLogger sets the logger for background failures.
func WithLogger(l *slog.Logger) Option { return func(s *Service) { s.log = l } }

// WithSecrets sets the keyring that encrypts TOTP secrets (package
// secrets); without one, two-factor enrolment and verification fail.
func WithSecrets(k *secrets.Keyring) Option { return func(s *Service) { s.secrets = k } }

// New returns a Service. Call Close to flush last-used updates.
func New(db *store.DB, opts ...Option) *Service {
	s := &Service{db: db, now: time.Now, log: slog.Default(), passwords: newPasswordLimiter(0, 0)}
	for _, o := range opts {
		o(s)
	}
	s.usage = newUsageRecorder(db, s.log)
	return s
}

// Now is the service's clock.
func (s *Service) Now() time.Time { return s.now().UTC() }

// Close waits for pending last-used writes (bounded by ctx).
func (s *Service) Close(ctx context.Context) { s.usage.close(ctx) }

// mapStoreErr turns store sentinels into auth errors with context.
func mapStoreErr(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	}
	return err
}

// usageRecorder writes last_used_at off the request path: Record never
// blocks, a full queue drops the update (the next use retries), and write
// failures are logged, never returned.
type usageRecorder struct {
	db      *store.DB
	log     *slog.Logger
	queue   chan usage
	mu      sync.Mutex
	pending map[usageKey]bool
	closed  bool
	done    chan struct{}
}

type usageKey struct {
	kind string // "token" or "key"
	id   int64
}

type usage struct {
	usageKey
	at time.Time
}

// usagePeriod is how often last_used_at may change (GitLab: once a day).
const usagePeriod = 24 * time.Hour

func newUsageRecorder(db *store.DB, log *slog.Logger) *usageRecorder {
	r := &usageRecorder{db: db, log: log, queue: make(chan usage, 1024), pending: map[usageKey]bool{}, done: make(chan struct{})}
	go r.run()
	return r
}

// record queues a write when last is older than the period.
func (r *usageRecorder) record(kind string, id int64, last *time.Time, now time.Time) {
	if last != nil && now.Sub(*last) < usagePeriod {
		return
	}
	k := usageKey{kind, id}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed || r.pending[k] {
		return
	}
	select {
	case r.queue <- usage{k, now}:
		r.pending[k] = true
	default:
	}
}

func (r *usageRecorder) run() {
	defer close(r.done)
	for u := range r.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var err error
		notBefore := u.at.Add(-usagePeriod)
		if u.kind == "token" {
			err = r.db.TouchToken(ctx, u.id, u.at, notBefore)
		} else {
			err = r.db.TouchKey(ctx, u.id, u.at, notBefore)
		}
		cancel()
		if err != nil {
			r.log.Warn("could not record last use", "kind", u.kind, "id", u.id, "err", err)
		}
		// Keep the key pending for a while so a burst of requests after
		// the write does not queue it again before the row is re-read.
		k := u.usageKey
		time.AfterFunc(time.Minute, func() {
			r.mu.Lock()
			delete(r.pending, k)
			r.mu.Unlock()
		})
	}
}

func (r *usageRecorder) close(ctx context.Context) {
	r.mu.Lock()
	if !r.closed {
		r.closed = true
		close(r.queue)
	}
	r.mu.Unlock()
	select {
	case <-r.done:
	case <-ctx.Done():
	}
}
