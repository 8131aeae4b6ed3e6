package server

import (
	"path/filepath"
	"time"

	"github.com/gitgate/gitgate/housekeeping"
)

// Config is everything a gitgate server needs; zero values take the
// defaults of SPEC §10 (see Defaults).
type Config struct {
	DataDir     string `env:"GITGATE_DATA_DIR"`
	DatabaseURL string `env:"GITGATE_DATABASE_URL"`
	HTTPAddr    string `env:"GITGATE_HTTP_ADDR"`
	SSHAddr     string `env:"GITGATE_SSH_ADDR"`
	ExternalURL string `env:"GITGATE_EXTERNAL_URL"`
	LogFormat   string `env:"GITGATE_LOG_FORMAT"`
	LogLevel    string `env:"GITGATE_LOG_LEVEL"`
	// InitialRootPassword is root's password on first start; empty
	// generates one and prints it once.
	InitialRootPassword string `env:"GITGATE_INITIAL_ROOT_PASSWORD"`
	// ShutdownTimeout bounds how long running Git operations may take to
	// finish after a shutdown signal.
	ShutdownTimeout time.Duration `env:"GITGATE_SHUTDOWN_TIMEOUT"`

	// Failed-authentication lockout (SPEC §4, §11), shared by the doors.
	// AuthLockoutFailures failures within AuthLockoutWindow ban an address
	// for AuthLockoutDuration; negative failures disable the lockout.
	AuthLockoutFailures int           `env:"GITGATE_AUTH_LOCKOUT_FAILURES"` // default 30
	AuthLockoutWindow   time.Duration `env:"GITGATE_AUTH_LOCKOUT_WINDOW"`   // default 60s
	AuthLockoutDuration time.Duration `env:"GITGATE_AUTH_LOCKOUT_DURATION"` // default 1h
	// AuthLockoutAllowList addresses/CIDRs are never locked out (loopback
	// is not exempt unless listed).
	AuthLockoutAllowList []string `env:"GITGATE_AUTH_LOCKOUT_ALLOWLIST"` // comma-separated CIDRs
	// TrustedProxies (addresses/CIDRs) may tell the client address in
	// X-Forwarded-For; nobody else is believed.
	TrustedProxies []string `env:"GITGATE_TRUSTED_PROXIES"` // comma-separated CIDRs
	// HousekeepingDelay is how long after a push its repository is
	// repacked (pushes meanwhile share the job).
	HousekeepingDelay time.Duration `env:"GITGATE_HOUSEKEEPING_DELAY"` // default 30s
	// HTTPBodyIdleTimeout fails a Git HTTP request whose body sends no
	// data for this long, and kills its git; a body that keeps moving is
	// never cut. Negative: no limit.
	HTTPBodyIdleTimeout time.Duration `env:"GITGATE_HTTP_BODY_IDLE_TIMEOUT"` // default 60s
	// UploadPackMaxRequestBytes bounds an upload-pack request body over
	// HTTP after gzip decoding (wants and haves). Negative: no limit.
	UploadPackMaxRequestBytes int `env:"GITGATE_UPLOAD_PACK_MAX_REQUEST_BYTES"` // default 10 MiB
	// PruneGrace is how old an unreachable object must be before a prune
	// (POST /projects/:id/housekeeping task=prune) deletes it, so that the
	// objects of a push in flight survive. Negative: none (tests only).
	PruneGrace time.Duration `env:"GITGATE_PRUNE_GRACE"` // default 10m
	// DisablePackCache turns off sharing one pack between identical
	// concurrent fetches (package packcache).
	DisablePackCache bool `env:"GITGATE_DISABLE_PACK_CACHE"`

	// Git over SSH (SPEC §5); zero values take sshserver's defaults.
	// SSHLoginTimeout bounds the handshake and authentication.
	SSHLoginTimeout time.Duration `env:"GITGATE_SSH_LOGIN_TIMEOUT"` // default 60s
	// SSHIdleTimeout closes a connection that runs no session for this
	// long (a running clone or push is never idle).
	SSHIdleTimeout time.Duration `env:"GITGATE_SSH_IDLE_TIMEOUT"` // default 5m
	// SSHKeepAliveInterval is how often the server pings clients;
	// SSHKeepAliveCountMax unanswered pings close the connection. A
	// negative interval disables keepalives.
	SSHKeepAliveInterval time.Duration `env:"GITGATE_SSH_KEEPALIVE_INTERVAL"`  // default 15s
	SSHKeepAliveCountMax int           `env:"GITGATE_SSH_KEEPALIVE_COUNT_MAX"` // default 3
	// SSHMaxSessions bounds concurrent SSH connections and sessions in
	// total, SSHMaxSessionsPerAddr those of one client address, and
	// SSHMaxSessionsPerConn the sessions multiplexed on one connection.
	SSHMaxSessions        int `env:"GITGATE_SSH_MAX_SESSIONS"`          // default 1000
	SSHMaxSessionsPerAddr int `env:"GITGATE_SSH_MAX_SESSIONS_PER_ADDR"` // default 50
	SSHMaxSessionsPerConn int `env:"GITGATE_SSH_MAX_SESSIONS_PER_CONN"` // default 10
	// SSHMaxAuthTries bounds authentication attempts per connection.
	SSHMaxAuthTries int `env:"GITGATE_SSH_MAX_AUTH_TRIES"` // default 6

	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Defaults fills unset fields with SPEC §10's defaults.
func (c Config) Defaults() Config {
	if c.DataDir == "" {
		c.DataDir = "./data"
	}
	// Git runs inside each repository's directory, so every path handed
	// to it must not depend on the server's working directory.
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.HTTPAddr == "" {
		c.HTTPAddr = "127.0.0.1:8080"
	}
	if c.SSHAddr == "" {
		c.SSHAddr = "127.0.0.1:2222"
	}
	if c.LogFormat == "" {
		c.LogFormat = "text"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.ShutdownTimeout == 0 {
		c.ShutdownTimeout = 30 * time.Second
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.AuthLockoutFailures == 0 {
		c.AuthLockoutFailures = 30
	}
	if c.AuthLockoutWindow == 0 {
		c.AuthLockoutWindow = 60 * time.Second
	}
	if c.AuthLockoutDuration == 0 {
		c.AuthLockoutDuration = time.Hour
	}
	if c.HousekeepingDelay == 0 {
		c.HousekeepingDelay = 30 * time.Second
	}
	if c.ExternalURL == "" {
		c.ExternalURL = "http://" + c.HTTPAddr
	}
	return c
}

// pruneGrace is PruneGrace with its default applied.
func (c Config) pruneGrace() time.Duration {
	switch {
	case c.PruneGrace == 0:
		return housekeeping.DefaultPruneGrace
	case c.PruneGrace < 0:
		return 0
	}
	return c.PruneGrace
}

// RepoRoot is where bare repositories live.
func (c Config) RepoRoot() string { return filepath.Join(c.DataDir, "repositories") }
