package server

import (
	"path/filepath"
	"time"
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
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Defaults fills unset fields with SPEC §10's defaults.
func (c Config) Defaults() Config {
	if c.DataDir == "" {
		c.DataDir = "./data"
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
	if c.ExternalURL == "" {
		c.ExternalURL = "http://" + c.HTTPAddr
	}
	return c
}

// RepoRoot is where bare repositories live.
func (c Config) RepoRoot() string { return filepath.Join(c.DataDir, "repositories") }
