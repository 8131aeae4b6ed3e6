package server

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/gitserver"
	"github.com/gitgate/gitgate/hooks"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/packcache"
	"github.com/gitgate/gitgate/refsnap"
	"github.com/gitgate/gitgate/store"
	"github.com/gitgate/gitgate/throttle"
)

// newLockout builds a failed-authentication lockout with the configured
// limits. The Git doors share one (failures count across them) and the
// API has its own (docs/api.md): a client failing on one must not lock
// the other out of its address. On PostgreSQL the counts are shared by
// every replica (docs/replicas.md); followLockouts keeps this process up
// to date with them.
func (s *Server) newLockout(scope string) (*throttle.Limiter, error) {
	allow, err := throttle.ParsePrefixes(s.cfg.AuthLockoutAllowList)
	if err != nil {
		return nil, fmt.Errorf("GITGATE_AUTH_LOCKOUT_ALLOWLIST: %w", err)
	}
	cfg := throttle.Config{
		MaxFailures: s.cfg.AuthLockoutFailures,
		Window:      s.cfg.AuthLockoutWindow,
		BanDuration: s.cfg.AuthLockoutDuration,
		AllowList:   allow,
		Now:         s.cfg.Now,
		Log:         s.log,
	}
	if s.DB.Dialect() == store.Postgres {
		cfg.Shared = throttle.NewShared(s.DB, scope)
	}
	l := throttle.New(cfg)
	if s.lockouts == nil {
		s.lockouts = map[string]*throttle.Limiter{}
	}
	s.lockouts[scope] = l
	return l, nil
}

// followLockouts keeps the lockouts up to date with what the other
// replicas count, on PostgreSQL, until release.
func (s *Server) followLockouts() {
	if s.DB.Dialect() != store.Postgres {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		throttle.Follow(ctx, s.DB, s.lockouts, s.cfg.AuthLockoutWindow, s.cfg.Now, s.log)
	}()
	s.stopFollowing = func() { cancel(); <-done }
}

// newHousekeeping is the scheduler both Git doors tell about pushes; it
// waits for the runner to be quiet.
func (s *Server) newHousekeeping() *housekeeping.Scheduler {
	repacks := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_housekeeping_repacks_total", Help: "Repacks made by repository maintenance, by kind (full, geometric).",
	}, []string{"kind"})
	h := housekeeping.New(housekeeping.Config{
		Delay:    s.cfg.HousekeepingDelay,
		Lock:     HousekeepingLocker(s.DB),
		Repacked: func(kind string) { repacks.WithLabelValues(kind).Inc() },
		// A quiet moment is a few seconds without any git service
		// running, not a gap between two requests of one client.
		Busy: func() bool { return s.runner.QuietFor() < housekeepingQuiet },
		Log:  s.log,
		Done: func(_ string, err error) {
			result := "ok"
			if err != nil {
				result = "error"
			}
			s.Metrics.HousekeepingJobs.WithLabelValues(result).Inc()
		},
	})
	s.Metrics.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "gitgate_housekeeping_pending", Help: "Repositories with a maintenance job waiting or running.",
	}, func() float64 { return float64(h.Pending()) }), repacks)
	return h
}

// HousekeepingLocker is the lock that keeps a repository's maintenance to
// one process at a time (docs/replicas.md): a PostgreSQL advisory lock
// when the database is PostgreSQL, which every replica shares, and a file
// lock in the repository otherwise (an SQLite database has its processes
// on one machine). The server and `gitgate repo prune` both use it.
func HousekeepingLocker(db *store.DB) housekeeping.Locker {
	if db.Dialect() == store.Postgres {
		return housekeeping.AdvisoryLocker{DB: db}
	}
	return housekeeping.FileLocker{}
}

// installHooks writes gitgate's git hooks. git runs them as the gitgate
// binary itself (or, in tests, the test binary, whose TestMain calls
// hooks.RunHook).
func (s *Server) installHooks() error {
	exe, err := os.Executable()
	if err == nil {
		s.hooks, err = hooks.Install(filepath.Join(s.cfg.DataDir, "hooks"), exe)
	}
	if err != nil {
		return fmt.Errorf("install git hooks: %w", err)
	}
	return nil
}

// startPackCache starts the pack cache in the process's own scratch
// directory (cachedir.go) and points upload-pack at it through the
// runner.
func (s *Server) startPackCache() error {
	var err error
	if s.scratch, err = openScratch(s.cfg, s.log); err != nil {
		return err
	}
	sock, cleanup, err := s.scratch.socketPath("pack.sock")
	if err != nil {
		return fmt.Errorf("pack cache: %w", err)
	}
	s.packSockCleanup = cleanup
	s.packCache, err = packcache.New(packcache.Config{
		Dir:      filepath.Join(s.scratch.dir, "pack-objects"),
		RepoRoot: s.cfg.RepoRoot(),
		Socket:   sock,
		Log:      s.log,
		Counted:  func(result string) { s.Metrics.PackCacheRequests.WithLabelValues(result).Inc() },
		MaxBytes: int64(s.cfg.PackCacheMaxBytes),
		Sized:    func(bytes int64) { s.Metrics.PackCacheBytes.Set(float64(bytes)) },
		Evicted:  func(reason string) { s.Metrics.PackCacheEvictions.WithLabelValues(reason).Inc() },
	})
	if err != nil {
		return fmt.Errorf("pack cache: %w", err)
	}
	s.runner.PackObjectsHook = s.hooks.PackObjectsHook()
	s.runner.PackCacheSocket = sock
	return nil
}

// housekeepingQuiet is how long the server must have served no Git before
// maintenance starts.
const housekeepingQuiet = 5 * time.Second

// newGitHTTP is the Git-over-HTTP door, mounted at "/" (the API lives
// under /api/v4/ and the server's own pages under /-/, both more specific
// patterns).
func (s *Server) newGitHTTP() *gitserver.Handler {
	return &gitserver.Handler{
		Auth:           s.Auth,
		Git:            s.gitOps,
		Metrics:        s.Metrics,
		Log:            s.log,
		Throttle:       s.throttle,
		TrustedProxies: s.trustedProxies,

		BodyIdleTimeout:     s.cfg.HTTPBodyIdleTimeout,
		ResponseIdleTimeout: s.cfg.HTTPResponseIdleTimeout,
		UploadPackMaxBody:   int64(s.cfg.UploadPackMaxRequestBytes),
	}
}

// newLimiter is the operation limiter both Git doors share
// (docs/operations.md#back-pressure), with its metrics registered.
func (s *Server) newLimiter() (*gitop.Limiter, error) {
	l, err := gitop.NewLimiter(gitop.LimiterConfig{
		MaxConcurrent: s.cfg.GitMaxConcurrent,
		MaxPerRepo:    s.cfg.GitMaxPerRepo,
		QueueLength:   s.cfg.GitQueueLength,
		QueueTimeout:  s.cfg.GitQueueTimeout,
	})
	if err != nil {
		return nil, err
	}
	s.Metrics.Registry.MustRegister(l.Collectors()...)
	return l, nil
}

// newRefs is the ref snapshot cache both Git doors answer ref
// advertisements from (docs/repositories.md#ref-advertisements). On
// PostgreSQL a push tells the other replicas to drop their snapshot of
// the repository (docs/replicas.md).
func (s *Server) newRefs() *refsnap.Cache {
	served := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_ref_advertisements_total", Help: "Ref advertisements (v0/v1 info/refs, v2 ls-refs) by source: the ref snapshot or git.",
	}, []string{"source"})
	served.WithLabelValues(refsnap.SourceSnapshot)
	served.WithLabelValues(refsnap.SourceGit)
	s.Metrics.Registry.MustRegister(served)
	c := &refsnap.Cache{Root: s.cfg.RepoRoot(), Log: s.log, Counted: func(source string) { served.WithLabelValues(source).Inc() }}
	if s.DB.Dialect() == store.Postgres {
		c.Notify = s.DB.NotifyRefs
	}
	return c
}

// followRefs drops the snapshots other replicas announce as changed, on
// PostgreSQL, until release.
func (s *Server) followRefs() {
	if s.DB.Dialect() != store.Postgres {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.refs.Follow(ctx, s.DB.ListenRefs)
	}()
	s.stopRefs = func() { cancel(); <-done }
}
