// Package server assembles a gitgate server from its configuration: the
// database, the auth and repos services, and the doors (HTTP, SSH), and
// runs it until shutdown. cmd/gitgate and the end-to-end test harness both
// start servers through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/sshserver"
	"github.com/gitgate/gitgate/store"
)

// Server is a running (or ready to run) gitgate instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	DB      *store.DB
	Auth    *auth.Service
	Repos   *repos.Service
	Metrics *metrics.Metrics
	git     *gitDoors         // shared by the Git doors (git.go)
	ssh     *sshserver.Server // the Git-over-SSH door (ssh.go)
	apiErr  error             // the API door's configuration error (api.go)

	httpServer *http.Server
	httpLn     net.Listener
	wg         sync.WaitGroup
}

// New opens the database, applies migrations, loads the secret key (see
// OpenDatabase), makes sure the first admin
// exists and builds every handler. It does not listen yet.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*Server, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// The database and the secret key first: a process that must refuse
	// to start leaves nothing behind in its data directory.
	db, keys, _, err := OpenDatabase(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.RepoRoot(), 0o750); err != nil {
		db.Close()
		return nil, fmt.Errorf("create repository storage %s: %w", cfg.RepoRoot(), err)
	}
	s := &Server{cfg: cfg, log: log, DB: db, Metrics: metrics.New()}
	s.Auth = auth.New(db, auth.WithClock(cfg.Now), auth.WithLogger(log), auth.WithSecrets(keys),
		auth.WithPasswordConcurrency(cfg.PasswordConcurrency, cfg.PasswordQueueTimeout))
	s.registerPasswordMetrics()
	s.Repos = repos.New(db, cfg.RepoRoot(), cfg.Now)
	created, generated, err := s.Auth.EnsureRoot(ctx, cfg.InitialRootPassword)
	if err != nil {
		db.Close()
		return nil, err
	}
	if created && generated != "" {
		// Shown once, on the terminal of whoever started the first
		// server; deliberately not through the redacting logger.
		fmt.Fprintf(os.Stderr, "\n  Created the admin user root with password: %s\n  It will not be shown again; change it or set GITGATE_INITIAL_ROOT_PASSWORD next time.\n\n", generated)
	} else if created {
		log.Info("created the admin user root with the password from GITGATE_INITIAL_ROOT_PASSWORD")
	}
	// Start-up work (migrations, hashing root's password) leaves garbage
	// a long-running gateway should not keep resident.
	defer debug.FreeOSMemory()
	s.httpServer = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		// No Read/WriteTimeout: a long clone or push must live.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// registerPasswordMetrics exports the password limiter's counters
// (docs/authentication.md).
func (s *Server) registerPasswordMetrics() {
	stat := func(f func(auth.PasswordStats) int64) func() float64 {
		return func() float64 { return float64(f(s.Auth.PasswordStats())) }
	}
	s.Metrics.Registry.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gitgate_password_verifications_total", Help: "Password hashes computed (real and dummy ones).",
		}, stat(func(p auth.PasswordStats) int64 { return p.Verified })),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "gitgate_password_verifications_busy_total", Help: "Password checks refused because the server was verifying as many as it allows.",
		}, stat(func(p auth.PasswordStats) int64 { return p.Busy })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gitgate_password_verifications_in_flight", Help: "Password hashes being computed now.",
		}, stat(func(p auth.PasswordStats) int64 { return p.InFlight })),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "gitgate_password_verifications_in_flight_max", Help: "The most password hashes computed at once since start.",
		}, stat(func(p auth.PasswordStats) int64 { return p.MaxInFlight })),
	)
}

// Config is the effective configuration.
func (s *Server) Config() Config { return s.cfg }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "GitGate OK")
	})
	mux.HandleFunc("GET /-/readiness", s.readiness)
	mux.Handle("GET /-/metrics", s.Metrics.Handler())
	for _, c := range components {
		if c.mount != nil {
			c.mount(s, mux)
		}
	}
	return observe(mux, s.log, s.Metrics)
}

// component is one door's hooks into the server's life cycle. Each door's
// wiring lives in its own file of this package and registers itself here.
type component struct {
	name     string
	mount    func(*Server, *http.ServeMux)
	start    func(*Server) error
	shutdown func(*Server, context.Context) error
}

var components []component

// readiness answers 200 only when the database answers and the
// repository storage is writable.
func (s *Server) readiness(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	type check struct {
		Status  string `json:"status"`
		Message string `json:"message,omitempty"`
	}
	db, storage := check{Status: "ok"}, check{Status: "ok"}
	if err := s.DB.Ping(ctx); err != nil {
		db = check{Status: "failed", Message: "database unreachable"}
		s.log.Warn("readiness: database check failed", "err", err)
	}
	if err := checkStorage(s.cfg.RepoRoot()); err != nil {
		storage = check{Status: "failed", Message: "repository storage not writable"}
		s.log.Warn("readiness: storage check failed", "err", err)
	}
	code, status := http.StatusOK, "ok"
	if db.Status != "ok" || storage.Status != "ok" {
		code, status = http.StatusServiceUnavailable, "failed"
	}
	writeJSON(w, code, map[string]any{"status": status, "database": db, "storage": storage})
}

func checkStorage(root string) error {
	f, err := os.CreateTemp(root, ".readiness-")
	if err != nil {
		return err
	}
	name := f.Name()
	f.Close()
	return os.Remove(filepath.Clean(name))
}

// Start binds the listeners and serves in the background.
func (s *Server) Start() error {
	// The doors start first, so that once /-/readiness answers, every
	// door (SSH included, with its host keys) is up.
	for _, c := range components {
		if c.start != nil {
			if err := c.start(s); err != nil {
				return fmt.Errorf("start %s: %w", c.name, err)
			}
		}
	}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTPAddr, err)
	}
	s.httpLn = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := s.httpServer.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("gitgate listening", "http", ln.Addr().String())
	return nil
}

// HTTPAddr is the bound HTTP address (useful with port 0).
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return s.cfg.HTTPAddr
	}
	return s.httpLn.Addr().String()
}

// Shutdown stops accepting, lets running requests finish within ctx, then
// closes everything.
func (s *Server) Shutdown(ctx context.Context) error {
	var err error
	for _, c := range components {
		if c.shutdown != nil {
			if serr := c.shutdown(s, ctx); serr != nil && err == nil {
				err = serr
			}
		}
	}
	if herr := s.httpServer.Shutdown(ctx); herr != nil && err == nil {
		err = herr
	}
	if err != nil {
		s.httpServer.Close()
	}
	s.wg.Wait()
	if s.git != nil {
		s.git.closePackCache()
	}
	s.Auth.Close(ctx)
	if cerr := s.DB.Close(); err == nil {
		err = cerr
	}
	return err
}
