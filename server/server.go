// Package server assembles a gitgate server from its configuration: the
// database, the auth and repos services, and the doors (HTTP, SSH), and
// runs it until shutdown. cmd/gitgate and the end-to-end test harness both
// start servers through it.
package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/hooks"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/mail"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/notify"
	"github.com/gitgate/gitgate/packcache"
	"github.com/gitgate/gitgate/refsnap"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/sshserver"
	"github.com/gitgate/gitgate/store"
	"github.com/gitgate/gitgate/throttle"
)

// Server is a running (or ready to run) gitgate instance.
type Server struct {
	cfg     Config
	log     *slog.Logger
	DB      *store.DB
	Auth    *auth.Service
	Repos   *repos.Service
	Metrics *metrics.Metrics

	// What the Git doors (HTTP and SSH) share (git.go): one process
	// runner, one failed-authentication lockout (failures count across
	// doors), one housekeeping scheduler and the pack cache.
	runner       *gitproc.Runner
	hooks        *hooks.Hooks
	gitOps       *gitop.Engine // the operation path of both Git doors
	throttle     *throttle.Limiter
	housekeeping *housekeeping.Scheduler
	packCache    *packcache.Cache
	// refs are the ref snapshots (git.go); stopRefs stops following the
	// other replicas' ref changes.
	refs     *refsnap.Cache
	stopRefs func()

	// lockouts are the Git doors' and the API's lockouts by scope;
	// stopFollowing stops following the other replicas' counts
	// (docs/replicas.md).
	lockouts      map[string]*throttle.Limiter
	stopFollowing func()
	// scratch is the process's own directory (cachedir.go);
	// packSockCleanup removes the pack cache's socket.
	scratch         *scratch
	packSockCleanup func()

	// trustedProxies may name the client in X-Forwarded-For, for the
	// HTTP doors (Git and API).
	trustedProxies []netip.Prefix

	// Mail (mail.go): the outbox sender and the daily expiry check.
	mailSender  *mail.Sender
	expiryCheck *notify.Scheduler

	ssh        *sshserver.Server // the Git-over-SSH door (ssh.go)
	httpServer *http.Server      // the Git-over-HTTP and API doors
	cert       *certificate      // native TLS (tls.go), nil for plain HTTP
	httpLn     net.Listener
	wg         sync.WaitGroup
}

// New builds the whole server, in this order: the storage (database,
// migrations, secret key, repository root), the services (auth, repos, the first
// admin), what the Git doors share (runner, lockout, housekeeping, hooks,
// pack cache, and the Git operation path built on them), then the doors (Git over HTTP, Git over SSH, the API). It
// returns the first failure, having released what was built before it.
// It does not listen yet: Start does.
func New(ctx context.Context, cfg Config, log *slog.Logger) (_ *Server, err error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	// Native TLS's files before anything else: a server that cannot
	// serve them must not have created a database first.
	var cert *certificate
	if cfg.NativeTLS() {
		if cert, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return nil, err
		}
	}

	// Storage: the database and the secret key first, so a process that
	// must refuse to start leaves nothing behind in its data directory.
	db, keys, _, err := OpenDatabase(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, DB: db, Metrics: metrics.New(), cert: cert}
	defer func() {
		if err != nil {
			_ = s.release(context.Background())
		}
	}()
	if err := os.MkdirAll(cfg.RepoRoot(), 0o750); err != nil {
		return nil, fmt.Errorf("create repository storage %s: %w", cfg.RepoRoot(), err)
	}

	// Services.
	s.Auth = auth.New(db, auth.WithClock(cfg.Now), auth.WithLogger(log), auth.WithSecrets(keys),
		auth.WithPasswordConcurrency(cfg.PasswordConcurrency, cfg.PasswordQueueTimeout),
		auth.WithSessionLifetimes(cfg.SessionIdleTimeout, cfg.SessionLifetime))
	s.registerPasswordMetrics()
	s.Repos = repos.New(db, cfg.RepoRoot(), cfg.Now)
	created, generated, err := s.Auth.EnsureRoot(ctx, cfg.InitialRootPassword)
	if err != nil {
		return nil, err
	}
	if created && generated != "" {
		// Shown once, on the terminal of whoever started the first
		// server; deliberately not through the redacting logger.
		fmt.Fprint(os.Stderr, rootPasswordMessage(generated, cfg.ExternalURL))
	} else if created {
		log.Info("created the admin user root with the password from GITGATE_INITIAL_ROOT_PASSWORD")
	}

	// What the Git doors share (git.go).
	s.runner = &gitproc.Runner{Metrics: s.Metrics}
	if s.throttle, err = s.newLockout(throttle.ScopeGit); err != nil {
		return nil, err
	}
	s.housekeeping = s.newHousekeeping()
	if err := s.installHooks(); err != nil {
		return nil, err
	}
	if !cfg.DisablePackCache {
		if err := s.startPackCache(); err != nil {
			return nil, err
		}
	}
	s.refs = s.newRefs()
	s.gitOps = &gitop.Engine{Auth: s.Auth, Repos: s.Repos, Hooks: s.hooks, Runner: s.runner, Metrics: s.Metrics, Log: s.log,
		AfterPush: s.housekeeping.Pushed, Refs: s.refs}
	if s.gitOps.Limiter, err = s.newLimiter(); err != nil {
		return nil, err
	}

	// Mail and the daily expiry check (mail.go).
	if err := s.newMail(); err != nil {
		return nil, err
	}

	// Doors.
	if s.trustedProxies, err = throttle.ParsePrefixes(cfg.TrustedProxies); err != nil {
		return nil, fmt.Errorf("GITGATE_TRUSTED_PROXIES: %w", err)
	}
	gitHTTP := s.newGitHTTP()
	if gitHTTP.Fallback, err = s.newWeb(keys); err != nil {
		return nil, err
	}
	if s.ssh, err = s.newSSH(); err != nil {
		return nil, err
	}
	api, err := s.newAPI()
	if err != nil {
		return nil, err
	}
	s.followLockouts()
	s.followRefs()
	s.httpServer = &http.Server{
		Handler:           s.routes(gitHTTP, api),
		ReadHeaderTimeout: 10 * time.Second,
		// No Read/WriteTimeout: a long clone or push must live.
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	if s.cert != nil {
		s.httpServer.TLSConfig = s.cert.tlsConfig()
	}

	// Start-up work (migrations, hashing root's password) leaves garbage
	// a long-running gateway should not keep resident.
	debug.FreeOSMemory()
	return s, nil
}

// rootPasswordMessage is what the first start prints about root's
// generated password: once, and where to change it (docs/web.md#profile).
func rootPasswordMessage(password, externalURL string) string {
	base := strings.TrimRight(externalURL, "/")
	return fmt.Sprintf("\n  Created the admin user root with password: %s\n"+
		"  It will not be shown again. Sign in at %s/users/sign_in and change it at\n"+
		"  %s/-/user_settings/password/edit (or set GITGATE_INITIAL_ROOT_PASSWORD next time).\n\n", password, base, base)
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

// routes mounts the HTTP doors: the server's own endpoints under /-/, the
// API under /api/v4/ and Git at "/" (the least specific pattern), whose
// fallback serves the web pages for every path that is not a Git route.
func (s *Server) routes(gitHTTP http.Handler, api http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /-/health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "GitGate OK")
	})
	mux.HandleFunc("GET /-/readiness", s.readiness)
	mux.Handle("GET /-/metrics", s.Metrics.Handler())
	mountAPI(mux, api)
	mux.Handle("/", gitHTTP)
	return observe(mux, s.log, s.Metrics)
}

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
		storage = check{Status: "failed", Message: "repository storage not readable and writable"}
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
	if err := os.Remove(filepath.Clean(name)); err != nil {
		return err
	}
	// Readable too: a storage that takes writes but cannot list serves
	// nothing.
	d, err := os.Open(root)
	if err != nil {
		return err
	}
	defer d.Close()
	if _, err = d.Readdirnames(1); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// Start binds the listeners and serves in the background: the SSH door
// first, then HTTP, so that once /-/readiness answers every door is up.
func (s *Server) Start() error {
	if err := s.ssh.Listen(); err != nil {
		return fmt.Errorf("start git-ssh: %w", err)
	}
	ln, err := net.Listen("tcp", s.cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.cfg.HTTPAddr, err)
	}
	s.httpLn = ln
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		serve := s.httpServer.Serve
		if s.cert != nil {
			// The certificate comes from TLSConfig.GetCertificate.
			serve = func(ln net.Listener) error { return s.httpServer.ServeTLS(ln, "", "") }
		}
		if err := serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("http server stopped", "err", err)
		}
	}()
	s.log.Info("gitgate listening", "http", ln.Addr().String(), "scheme", s.scheme())
	s.startMail()
	return nil
}

// HTTPAddr is the bound HTTP address (useful with port 0).
func (s *Server) HTTPAddr() string {
	if s.httpLn == nil {
		return s.cfg.HTTPAddr
	}
	return s.httpLn.Addr().String()
}

// Shutdown stops the server, in this order, and returns the first error:
//  1. both doors stop accepting and drain at once: running Git
//     operations, SSH sessions and API requests finish within ctx (what
//     is still running when ctx ends is cut off);
//  2. background work stops: the expiry check and the mail sender, then housekeeping (running jobs are killed, which
//     git's atomic renames make safe), then the pack cache, which no
//     upload-pack needs any more;
//  3. storage closes: auth's pending usage writes, then the database.
func (s *Server) Shutdown(ctx context.Context) error {
	var sshErr, httpErr error
	var drained sync.WaitGroup
	drained.Add(2)
	go func() {
		defer drained.Done()
		sshErr = s.ssh.Shutdown(ctx)
	}()
	go func() {
		defer drained.Done()
		httpErr = s.httpServer.Shutdown(ctx)
	}()
	drained.Wait()
	err := errors.Join(sshErr, httpErr)
	if err != nil {
		s.httpServer.Close()
	}
	s.wg.Wait()
	if rerr := s.release(ctx); err == nil {
		err = rerr
	}
	return err
}

// release stops the background work and closes the storage (steps 2 and 3
// of Shutdown); New uses it to undo a partial build. It tolerates parts
// never built and being called twice.
func (s *Server) release(ctx context.Context) error {
	err := s.stopMail(ctx)
	if s.stopFollowing != nil {
		s.stopFollowing()
	}
	if s.stopRefs != nil {
		s.stopRefs()
	}
	if s.housekeeping != nil {
		err = errors.Join(err, s.housekeeping.Stop(ctx))
	}
	if s.packCache != nil {
		_ = s.packCache.Close()
	}
	if s.packSockCleanup != nil {
		s.packSockCleanup()
	}
	if s.scratch != nil {
		s.scratch.close()
	}
	if s.Auth != nil {
		s.Auth.Close(ctx)
	}
	if cerr := s.DB.Close(); err == nil {
		err = cerr
	}
	return err
}
