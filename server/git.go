package server

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/gitserver"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/packcache"
	"github.com/gitgate/gitgate/throttle"
)

// The Git-over-HTTP door: mounted at "/" (the API lives under /api/v4/
// and the server's own pages under /-/, both more specific patterns), with
// the pieces every Git door shares.
func init() {
	components = append(components, component{
		name:     "git-http",
		mount:    mountGitHTTP,
		start:    startGitHTTP,
		shutdown: stopGitHTTP,
	})
}

// gitDoors is what the Git doors (HTTP and SSH) share: one process
// runner, one failed-authentication lockout (failures count across the
// Git doors; the API has its own), one housekeeping scheduler, and
// gitgate's git hooks.
type gitDoors struct {
	Runner       *gitproc.Runner
	Throttle     *throttle.Limiter
	Housekeeping *housekeeping.Scheduler
	PackCache    *packcache.Cache
	packSockDir  string
	// err is a configuration or hook installation failure, reported by
	// Start (mount cannot fail).
	err error
}

// gitShared builds the shared Git pieces on first use. Components mount
// and start one after another on one goroutine, so no lock is needed.
func (s *Server) gitShared() *gitDoors {
	if s.git != nil {
		return s.git
	}
	g := &gitDoors{Runner: &gitproc.Runner{Metrics: s.Metrics}}
	s.git = g
	g.Throttle, g.err = s.newLockout()
	g.Housekeeping = housekeeping.New(housekeeping.Config{
		Delay: s.cfg.HousekeepingDelay,
		// A quiet moment is a few seconds without any git service
		// running, not a gap between two requests of one client.
		Busy: func() bool { return g.Runner.QuietFor() < housekeepingQuiet },
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
	}, func() float64 { return float64(g.Housekeeping.Pending()) }))
	// git runs the hooks as the gitgate binary itself (or, in tests, the
	// test binary, whose TestMain calls repos.RunHook).
	exe, err := os.Executable()
	if err == nil {
		err = s.Repos.InstallHooks(filepath.Join(s.cfg.DataDir, "hooks"), exe)
	}
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("install git hooks: %w", err)
	}
	if err == nil && !s.cfg.DisablePackCache {
		// A unix socket path must stay short (108 bytes), so it lives
		// in a private temporary directory rather than the data dir.
		g.packSockDir, err = os.MkdirTemp("", "gitgate-")
		if err == nil {
			g.PackCache, err = packcache.New(packcache.Config{
				Dir:      filepath.Join(s.cfg.DataDir, "cache", "pack-objects"),
				RepoRoot: s.cfg.RepoRoot(),
				Socket:   filepath.Join(g.packSockDir, "pack.sock"),
				Log:      s.log,
				Counted:  func(result string) { s.Metrics.PackCacheRequests.WithLabelValues(result).Inc() },
			})
		}
		if err != nil && g.err == nil {
			g.err = fmt.Errorf("pack cache: %w", err)
		}
		if g.PackCache != nil {
			g.Runner.PackObjectsHook = s.Repos.PackObjectsHook()
			g.Runner.PackCacheSocket = filepath.Join(g.packSockDir, "pack.sock")
		}
	}
	return g
}

// closePackCache stops the pack cache once no door serves any more.
func (g *gitDoors) closePackCache() {
	if g.PackCache != nil {
		_ = g.PackCache.Close()
	}
	if g.packSockDir != "" {
		_ = os.RemoveAll(g.packSockDir)
	}
}

// housekeepingQuiet is how long the server must have served no Git before
// maintenance starts.
const housekeepingQuiet = 5 * time.Second

func mountGitHTTP(s *Server, mux *http.ServeMux) {
	g := s.gitShared()
	proxies, err := throttle.ParsePrefixes(s.cfg.TrustedProxies)
	if err != nil && g.err == nil {
		g.err = fmt.Errorf("GITGATE_TRUSTED_PROXIES: %w", err)
	}
	mux.Handle("/", &gitserver.Handler{
		Auth:           s.Auth,
		Repos:          s.Repos,
		Runner:         g.Runner,
		Metrics:        s.Metrics,
		Log:            s.log,
		Throttle:       g.Throttle,
		TrustedProxies: proxies,
		AfterPush:      g.Housekeeping.Pushed,

		BodyIdleTimeout:   s.cfg.HTTPBodyIdleTimeout,
		UploadPackMaxBody: int64(s.cfg.UploadPackMaxRequestBytes),
	})
}

func startGitHTTP(s *Server) error { return s.gitShared().err }

func stopGitHTTP(s *Server, ctx context.Context) error {
	return s.gitShared().Housekeeping.Stop(ctx)
}
