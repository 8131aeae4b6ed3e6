package server

import (
	"path/filepath"
	"runtime"
	"time"

	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/mail"
)

// Config is everything a gitgate server needs. Every field an operator can
// set is described once, in Settings (configtable.go): its environment
// variable, its flag, its default and its help text. Zero values take
// those defaults (see Defaults); Validate checks the result.
type Config struct {
	DataDir     string
	DatabaseURL string
	HTTPAddr    string
	SSHAddr     string
	ExternalURL string
	LogFormat   string
	LogLevel    string
	// TLSCert and TLSKey are the files of native TLS on the HTTP
	// listener (tls.go); both empty: plain HTTP.
	TLSCert string
	TLSKey  string
	// SecretKeyBase derives the key that encrypts secrets at rest (TOTP
	// secrets); empty means the key file <DataDir>/secret_key, generated
	// on first start. Every process of an instance needs the same one
	// (docs/secrets.md).
	SecretKeyBase string
	// SecretKeyBasePrevious is the key base being rotated away from: it
	// only decrypts, and start-up re-encrypts everything under
	// SecretKeyBase.
	SecretKeyBasePrevious string
	// InitialRootPassword is root's password on first start; empty
	// generates one and prints it once.
	InitialRootPassword string
	ShutdownTimeout     time.Duration

	// The failed-authentication lockout, shared by the doors: negative
	// failures disable it.
	AuthLockoutFailures  int
	AuthLockoutWindow    time.Duration
	AuthLockoutDuration  time.Duration
	AuthLockoutAllowList []string
	TrustedProxies       []string
	// PasswordConcurrency bounds the password hashes computed at once
	// (each argon2id check takes 19 MiB and a core); a verification waits
	// up to PasswordQueueTimeout for a slot, then the client is told to
	// retry (docs/authentication.md).
	PasswordConcurrency  int
	PasswordQueueTimeout time.Duration
	// HTTPBodyIdleTimeout fails a Git HTTP request whose body sends no
	// data for this long, and kills its git; a body that keeps moving is
	// never cut. Negative: no limit.
	HTTPBodyIdleTimeout time.Duration
	// UploadPackMaxRequestBytes bounds an upload-pack request body over
	// HTTP after gzip decoding (wants and haves). Negative: no limit.
	UploadPackMaxRequestBytes int
	// APIMaxFileBytes bounds a file the repository files API returns
	// (docs/api.md#repository-files).
	APIMaxFileBytes int
	// The Git operation limiter (docs/operations.md#back-pressure): the
	// operations running at once in total and per repository, how many
	// may wait for a slot (negative: none) and for how long.
	GitMaxConcurrent int
	GitMaxPerRepo    int
	GitQueueLength   int
	GitQueueTimeout  time.Duration
	// HTTPResponseIdleTimeout fails a Git HTTP response that the client
	// stops reading for this long, and kills its git. Negative: no limit.
	HTTPResponseIdleTimeout time.Duration
	// PruneGrace is how old an unreachable object must be before a prune
	// deletes it, so that the objects of a push in flight survive.
	// Negative: none (tests only).
	PruneGrace time.Duration

	// SessionIdleTimeout and SessionLifetime end a web session idle for
	// that long, or that old (docs/web.md#sessions).
	SessionIdleTimeout time.Duration
	SessionLifetime    time.Duration

	HousekeepingDelay time.Duration
	DisablePackCache  bool
	// PackCacheMaxBytes bounds the pack cache's files on disk.
	PackCacheMaxBytes int
	// CacheDir is this process's own scratch directory (the pack cache
	// and its socket); empty makes a new one under <DataDir>/cache for
	// each process (cachedir.go).
	CacheDir string

	// Git over SSH: handed to sshserver.Config as they are.
	SSHLoginTimeout       time.Duration
	SSHIdleTimeout        time.Duration
	SSHKeepAliveInterval  time.Duration // negative disables keepalives
	SSHKeepAliveCountMax  int
	SSHMaxSessions        int
	SSHMaxSessionsPerAddr int
	SSHMaxSessionsPerConn int
	SSHMaxAuthTries       int
	SSHCiphers            []string

	// Mail (docs/mail.md): the SMTP server as smtp:// or smtps:// URL
	// (empty: messages stay pending in the outbox) and the sender address
	// (empty: gitgate@<host of ExternalURL>).
	SMTPURL  string
	MailFrom string

	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Defaults fills every unset field with its default from Settings.
func (c Config) Defaults() Config {
	for _, s := range Settings {
		if v := s.bind(&c); s.Default != "" && v.isZero() {
			if err := v.Set(s.Default); err != nil {
				// The table's own defaults are checked by a test.
				panic(s.Env + ": bad default: " + err.Error())
			}
		}
	}
	// Git runs inside each repository's directory, so every path handed
	// to it must not depend on the server's working directory.
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	if c.ExternalURL == "" {
		c.ExternalURL = "http://" + c.HTTPAddr
		if c.NativeTLS() {
			c.ExternalURL = "https://" + c.HTTPAddr
		}
	}
	if c.MailFrom == "" {
		c.MailFrom = mail.DefaultFrom(c.ExternalURL)
	}
	if c.PasswordConcurrency == 0 {
		c.PasswordConcurrency = runtime.NumCPU()
	}
	if c.GitMaxConcurrent == 0 {
		c.GitMaxConcurrent = 4 * runtime.NumCPU()
	}
	if c.GitMaxPerRepo == 0 {
		c.GitMaxPerRepo = c.GitMaxConcurrent
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks every setting of c (after Defaults) and returns the
// first bad one as one line naming its environment variable (and flag).
func (c Config) Validate() error {
	for _, s := range Settings {
		if s.check == nil {
			continue
		}
		if err := s.check(s.bind(&c)); err != nil {
			return s.errorf(err)
		}
	}
	return c.checkTLSPair()
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
