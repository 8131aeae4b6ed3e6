package notify

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

const (
	// JobExpiryCheck names the daily check in job_runs.
	JobExpiryCheck = "expiry_check"
	// RunHour is when the check runs, in UTC (GitLab: 01:00).
	RunHour = 1
	// runLease is how long a claimed run is left to its process before
	// another may take it over (a process that died half-way).
	runLease = 15 * time.Minute
	// tick is how often the scheduler reads its clock. Between runs it
	// touches no database, so this costs nothing and lets an injected
	// clock (tests) be noticed at once.
	tick = time.Second
)

// DueDay is the UTC day (YYYY-MM-DD) of the latest scheduled run at or
// before now: today from 01:00 on, yesterday before.
func DueDay(now time.Time) string {
	now = now.UTC()
	if now.Hour() < RunHour {
		now = now.Add(-24 * time.Hour)
	}
	return now.Format(auth.DateLayout)
}

// Scheduler runs an ExpiryWarnings check once per UTC day at 01:00, in
// whichever of the processes sharing the database claims the day first
// (a row of job_runs), and at start-up when the day's run has not
// happened yet (catch-up).
type Scheduler struct {
	db     *store.DB
	check  *ExpiryWarnings
	now    func() time.Time
	log    *slog.Logger
	holder string

	mu       sync.Mutex
	lastDone string // the latest day this process saw finished

	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	started  bool
	cancel   context.CancelFunc
}

// NewScheduler returns a scheduler (not yet running); now is its clock.
func NewScheduler(db *store.DB, check *ExpiryWarnings, now func() time.Time, log *slog.Logger) *Scheduler {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return &Scheduler{db: db, check: check, now: now, log: log, holder: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b)),
		stop: make(chan struct{}), done: make(chan struct{})}
}

// Start runs the schedule in the background until Stop; the first look
// is immediate, so a missed run is caught up at start.
func (s *Scheduler) Start() {
	s.started = true
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go func() {
		defer close(s.done)
		t := time.NewTicker(tick)
		defer t.Stop()
		for {
			if _, err := s.RunDue(ctx); err != nil && ctx.Err() == nil {
				s.log.Error("expiry check failed; it will be retried", "err", err)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
}

// Stop ends the schedule: a run in progress is cancelled (what it
// queued is committed per owner, and the next run resumes the rest).
func (s *Scheduler) Stop(ctx context.Context) error {
	if !s.started {
		return nil
	}
	s.stopOnce.Do(func() {
		close(s.stop)
		s.cancel()
	})
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop expiry check: %w", ctx.Err())
	}
}

// RunDue runs the check when the due day's run has neither finished nor
// is held by a live process; it reports whether this process ran it.
func (s *Scheduler) RunDue(ctx context.Context) (bool, error) {
	now := s.now().UTC()
	day := DueDay(now)
	s.mu.Lock()
	last := s.lastDone
	s.mu.Unlock()
	if day == last {
		return false, nil
	}
	claimed, done, err := s.db.ClaimJobRun(ctx, JobExpiryCheck, day, s.holder, now, now.Add(runLease))
	if err != nil {
		return false, err
	}
	if done {
		s.markDone(day)
		return false, nil
	}
	if !claimed {
		// Another process is running it; look again at the next tick.
		return false, nil
	}
	s.log.Info("running the daily expiry check", "day", day)
	if _, err := s.check.Run(ctx); err != nil {
		return true, err
	}
	if err := s.db.FinishJobRun(ctx, JobExpiryCheck, day, s.holder, s.now().UTC()); err != nil {
		return true, err
	}
	s.markDone(day)
	return true, nil
}

func (s *Scheduler) markDone(day string) {
	s.mu.Lock()
	if day > s.lastDone {
		s.lastDone = day
	}
	s.mu.Unlock()
}
