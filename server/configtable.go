package server

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/mail"
	"github.com/gitgate/gitgate/sshserver"
	"github.com/gitgate/gitgate/throttle"
)

// Setting describes one configuration setting, once: the environment
// variable and the flag that set it, its default and its help text. The
// CLI's flags, `gitgate help`, Defaults, Validate, FromEnv and the
// README's configuration table are all generated from Settings.
type Setting struct {
	// Env is the environment variable (GITGATE_ and the flag name in
	// capitals, even when there is no flag).
	Env string
	// Flag is the command-line flag without dashes; empty when the
	// setting is only an environment variable.
	Flag string
	// Command is the command the flag belongs to; empty means a global
	// flag that every command accepts.
	Command string
	// Default is the value an unset setting takes, written as the
	// environment variable would be; empty means none.
	Default string
	// DefaultText describes a default that is computed rather than fixed
	// (Markdown: `code` is allowed, as in Help).
	DefaultText string
	// Help is one line of Markdown for `gitgate help` and the README.
	Help string
	field
}

// Settings is the configuration table. To add a setting: add a field to
// Config, add a row here with the constructor of its type (str, dur, num,
// boolean, list) and the checks it needs, then run `make readme`. The
// flag (if any), the environment variable, the default, validation and
// the documentation follow from the row.
var Settings = []Setting{
	{Env: "GITGATE_DATA_DIR", Flag: "data-dir", Default: "./data",
		Help:  "SQLite database, repositories, SSH host keys",
		field: str(func(c *Config) *string { return &c.DataDir })},
	{Env: "GITGATE_DATABASE_URL", Flag: "database-url", DefaultText: "SQLite in the data dir",
		Help:  "`postgres://user:pass@host/db` selects PostgreSQL",
		field: str(func(c *Config) *string { return &c.DatabaseURL }, databaseURL)},
	{Env: "GITGATE_HTTP_ADDR", Flag: "http-addr", Default: "127.0.0.1:8080",
		Help:  "HTTP listen address (Git smart HTTP, API, health)",
		field: str(func(c *Config) *string { return &c.HTTPAddr }, hostPort)},
	{Env: "GITGATE_SSH_ADDR", Flag: "ssh-addr", Default: "127.0.0.1:2222",
		Help:  "SSH listen address",
		field: str(func(c *Config) *string { return &c.SSHAddr }, hostPort)},
	{Env: "GITGATE_EXTERNAL_URL", Flag: "external-url", DefaultText: "`http://<http-addr>` (`https://` with `--tls-cert`)",
		Help:  "URL used in mails and clone URLs",
		field: str(func(c *Config) *string { return &c.ExternalURL }, httpURL)},
	{Env: "GITGATE_LOG_FORMAT", Flag: "log-format", Command: "serve", Default: "text",
		Help:  "`text` or `json`",
		field: str(func(c *Config) *string { return &c.LogFormat }, oneOf("text", "json"))},
	{Env: "GITGATE_LOG_LEVEL", Flag: "log-level", Command: "serve", Default: "info",
		Help:  "`debug`, `info`, `warn`, `error`",
		field: str(func(c *Config) *string { return &c.LogLevel }, oneOf("debug", "info", "warn", "error"))},
	{Env: "GITGATE_TLS_CERT", Flag: "tls-cert", Command: "serve", DefaultText: "none (plain HTTP)",
		Help:  "PEM certificate (chain) file: the HTTP listener serves HTTPS itself, read again on `SIGHUP`; see `docs/operations.md`",
		field: str(func(c *Config) *string { return &c.TLSCert })},
	{Env: "GITGATE_TLS_KEY", Flag: "tls-key", Command: "serve", DefaultText: "none",
		Help:  "PEM private key file of `--tls-cert`",
		field: str(func(c *Config) *string { return &c.TLSKey })},
	{Env: "GITGATE_INITIAL_ROOT_PASSWORD", DefaultText: "generated",
		Help:  "root's password on first start",
		field: str(func(c *Config) *string { return &c.InitialRootPassword })},
	// The secret key has no flag on purpose: command lines are visible to
	// every local user (docs/secrets.md).
	{Env: "GITGATE_SECRET_KEY_BASE", DefaultText: "`<data-dir>/secret_key`, generated on first start",
		Help:  "key base for secrets encrypted at rest (TOTP secrets); every process of one database needs the same — see `docs/secrets.md`",
		field: str(func(c *Config) *string { return &c.SecretKeyBase })},
	{Env: "GITGATE_SECRET_KEY_BASE_PREVIOUS",
		Help:  "the key being rotated away from: decrypts only, and start-up re-encrypts under the current key",
		field: str(func(c *Config) *string { return &c.SecretKeyBasePrevious })},
	// The SMTP URL has no flag: it may hold a password (docs/mail.md).
	{Env: "GITGATE_SMTP_URL", DefaultText: "none: mail stays pending in the outbox",
		Help:  "SMTP server for mail: `smtp://user:pass@host:587` (STARTTLS when offered; `?tls=require` insists, `?tls=none` never) or `smtps://…:465` — see `docs/mail.md`",
		field: str(func(c *Config) *string { return &c.SMTPURL }, smtpURL)},
	{Env: "GITGATE_MAIL_FROM", DefaultText: "`GitGate <gitgate@<external-url host>>`",
		Help:  "sender address of gitgate's mail",
		field: str(func(c *Config) *string { return &c.MailFrom }, mailFrom)},
	{Env: "GITGATE_SHUTDOWN_TIMEOUT", Default: "30s",
		Help:  "how long running Git operations may finish after SIGTERM",
		field: dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout }, positive[time.Duration])},
	{Env: "GITGATE_AUTH_LOCKOUT_FAILURES", Default: "30",
		Help:  "failed authentications from one address within the window that ban it (negative: off); Git (HTTP and SSH together) and the API count apart, each ban covers only its own doors",
		field: num(func(c *Config) *int { return &c.AuthLockoutFailures })},
	{Env: "GITGATE_AUTH_LOCKOUT_WINDOW", Default: "60s",
		Help:  "the window",
		field: dur(func(c *Config) *time.Duration { return &c.AuthLockoutWindow }, positive[time.Duration])},
	{Env: "GITGATE_AUTH_LOCKOUT_DURATION", Default: "1h",
		Help:  "how long a ban lasts",
		field: dur(func(c *Config) *time.Duration { return &c.AuthLockoutDuration }, positive[time.Duration])},
	{Env: "GITGATE_AUTH_LOCKOUT_ALLOWLIST", DefaultText: "none",
		Help:  "comma-separated CIDRs never banned (loopback is not exempt unless listed)",
		field: list(func(c *Config) *[]string { return &c.AuthLockoutAllowList }, cidrs)},
	{Env: "GITGATE_PASSWORD_CONCURRENCY", DefaultText: "number of CPUs",
		Help:  "password hashes (argon2id, 19 MiB each) computed at once; more wait in a queue",
		field: num(func(c *Config) *int { return &c.PasswordConcurrency }, positive[int])},
	{Env: "GITGATE_PASSWORD_QUEUE_TIMEOUT", Default: "2s",
		Help:  "how long a password check waits for a slot before the answer is 503 \"busy\" with `Retry-After`",
		field: dur(func(c *Config) *time.Duration { return &c.PasswordQueueTimeout }, positive[time.Duration])},
	{Env: "GITGATE_SESSION_IDLE_TIMEOUT", Default: "168h",
		Help:  "a web session unused for this long ends (the browser must sign in again)",
		field: dur(func(c *Config) *time.Duration { return &c.SessionIdleTimeout }, positive[time.Duration])},
	{Env: "GITGATE_SESSION_LIFETIME", Default: "720h",
		Help:  "a web session ends this long after sign-in, however active",
		field: dur(func(c *Config) *time.Duration { return &c.SessionLifetime }, positive[time.Duration])},
	{Env: "GITGATE_TRUSTED_PROXIES", DefaultText: "none",
		Help:  "CIDRs whose `X-Forwarded-For` is believed",
		field: list(func(c *Config) *[]string { return &c.TrustedProxies }, cidrs)},
	{Env: "GITGATE_HOUSEKEEPING_DELAY", Default: "30s",
		Help:  "quiet time after a push before the repository is repacked",
		field: dur(func(c *Config) *time.Duration { return &c.HousekeepingDelay }, positive[time.Duration])},
	{Env: "GITGATE_HTTP_BODY_IDLE_TIMEOUT", Default: "60s",
		Help:  "a Git HTTP request whose body sends nothing for this long fails (408) and its git is killed; a body that keeps moving is never cut (negative: off)",
		field: dur(func(c *Config) *time.Duration { return &c.HTTPBodyIdleTimeout })},
	{Env: "GITGATE_UPLOAD_PACK_MAX_REQUEST_BYTES", Default: "10485760",
		Help:  "an HTTP fetch request (wants and haves) larger than this after gzip decoding fails (413), an SSH fetch whose client sends more than this is cut, and its git is killed; pushes are not limited (negative: off)",
		field: num(func(c *Config) *int { return &c.UploadPackMaxRequestBytes })},
	{Env: "GITGATE_PRUNE_GRACE", Default: "10m",
		Help:  "how old an unreachable object must be before `repo prune` or the housekeeping API's prune deletes it, so a push in flight keeps its objects",
		field: dur(func(c *Config) *time.Duration { return &c.PruneGrace })},
	{Env: "GITGATE_DISABLE_PACK_CACHE", Default: "false",
		Help:  "`true` stops identical concurrent fetches from sharing one pack",
		field: boolean(func(c *Config) *bool { return &c.DisablePackCache })},
	{Env: "GITGATE_PACK_CACHE_MAX_BYTES", Default: "1073741824",
		Help:  "bytes of packs the pack cache keeps on disk; the oldest are deleted beyond it, and a bigger pack is streamed but not kept",
		field: num(func(c *Config) *int { return &c.PackCacheMaxBytes }, positive[int])},
	{Env: "GITGATE_CACHE_DIR", Flag: "cache-dir", Command: "serve", DefaultText: "`<data-dir>/cache/<host>-<pid>-<random>`, new for each process",
		Help:  "this process's own scratch directory (the pack cache and its socket): local disk, never shared by two running processes — see `docs/replicas.md`",
		field: str(func(c *Config) *string { return &c.CacheDir })},
	{Env: "GITGATE_API_MAX_FILE_BYTES", Default: "10485760",
		Help:  "the largest file the repository files API returns (JSON or raw); a larger one is refused (413) — `git archive` and Git fetches are not limited",
		field: num(func(c *Config) *int { return &c.APIMaxFileBytes }, positive)},
	{Env: "GITGATE_GIT_MAX_CONCURRENT", DefaultText: "4 × number of CPUs",
		Help:  "Git operations (each HTTP fetch or push request, each SSH Git command) running at once; more wait in a queue, served first come, first served, no client holding more than half the slots while others wait — see `docs/operations.md`",
		field: num(func(c *Config) *int { return &c.GitMaxConcurrent }, positive[int])},
	{Env: "GITGATE_GIT_MAX_PER_REPO", DefaultText: "`GITGATE_GIT_MAX_CONCURRENT`",
		Help:  "Git operations on one repository running at once",
		field: num(func(c *Config) *int { return &c.GitMaxPerRepo }, positive[int])},
	{Env: "GITGATE_GIT_QUEUE_LENGTH", Default: "128",
		Help:  "Git operations that may wait for a slot; one more is refused at once: HTTP 503 with `Retry-After`, SSH one line on stderr and exit status 1 (negative: none wait)",
		field: num(func(c *Config) *int { return &c.GitQueueLength })},
	{Env: "GITGATE_GIT_QUEUE_TIMEOUT", Default: "5m",
		Help:  "how long a Git operation waits for a slot before it is refused the same way",
		field: dur(func(c *Config) *time.Duration { return &c.GitQueueTimeout }, positive[time.Duration])},
	{Env: "GITGATE_HTTP_RESPONSE_IDLE_TIMEOUT", Default: "60s",
		Help:  "a Git HTTP response the client stops reading for this long is cut and its git killed (negative: off)",
		field: dur(func(c *Config) *time.Duration { return &c.HTTPResponseIdleTimeout })},
	{Env: "GITGATE_SSH_LOGIN_TIMEOUT", Default: "60s",
		Help:  "SSH handshake and authentication deadline",
		field: dur(func(c *Config) *time.Duration { return &c.SSHLoginTimeout }, positive[time.Duration])},
	{Env: "GITGATE_SSH_IDLE_TIMEOUT", Default: "5m",
		Help:  "an SSH connection running no session is closed after this, and so is one whose Git command moves no data either way, or whose output the client stops reading, for this long (its git is killed)",
		field: dur(func(c *Config) *time.Duration { return &c.SSHIdleTimeout }, positive[time.Duration])},
	{Env: "GITGATE_SSH_KEEPALIVE_INTERVAL", Default: "15s",
		Help:  "how often the server pings SSH clients (negative: off)",
		field: dur(func(c *Config) *time.Duration { return &c.SSHKeepAliveInterval })},
	{Env: "GITGATE_SSH_KEEPALIVE_COUNT_MAX", Default: "3",
		Help:  "unanswered SSH keepalive pings that close the connection",
		field: num(func(c *Config) *int { return &c.SSHKeepAliveCountMax }, positive[int])},
	{Env: "GITGATE_SSH_MAX_SESSIONS", Default: "1000",
		Help:  "concurrent SSH connections and sessions in total",
		field: num(func(c *Config) *int { return &c.SSHMaxSessions }, positive[int])},
	{Env: "GITGATE_SSH_MAX_SESSIONS_PER_ADDR", Default: "50",
		Help:  "concurrent SSH connections and sessions from one client address",
		field: num(func(c *Config) *int { return &c.SSHMaxSessionsPerAddr }, positive[int])},
	{Env: "GITGATE_SSH_MAX_SESSIONS_PER_CONN", Default: "10",
		Help:  "SSH sessions multiplexed on one connection",
		field: num(func(c *Config) *int { return &c.SSHMaxSessionsPerConn }, positive[int])},
	{Env: "GITGATE_SSH_MAX_AUTH_TRIES", Default: "6",
		Help:  "authentication attempts per SSH connection",
		field: num(func(c *Config) *int { return &c.SSHMaxAuthTries }, positive[int])},
	{Env: "GITGATE_SSH_CIPHERS", Default: strings.Join(sshserver.DefaultCiphers, ","),
		Help:  "comma-separated SSH ciphers offered; the client's order decides among them, so `aes128-gcm@openssh.com,aes256-gcm@openssh.com` makes OpenSSH use AES-GCM (faster) but shuts out clients without it (docs/ssh.md#ciphers)",
		field: list(func(c *Config) *[]string { return &c.SSHCiphers }, sshserver.CheckCiphers)},
}

// Value is a setting's field in one Config, read and written as text. It
// satisfies spf13/pflag's Value, so flags write straight into the Config.
type Value interface {
	String() string
	Set(string) error
	Type() string
}

// Value returns s's field in c.
func (s Setting) Value(c *Config) Value { return s.bind(c) }

// DefaultString is the default as people read it: the fixed value, the
// description of a computed one, or "none".
func (s Setting) DefaultString() string { return plain(s.defaultMarkdown()) }

// HelpString is Help as plain text.
func (s Setting) HelpString() string { return plain(s.Help) }

func (s Setting) defaultMarkdown() string {
	switch {
	case s.Default != "":
		return "`" + s.Default + "`"
	case s.DefaultText != "":
		return s.DefaultText
	}
	return "none"
}

func plain(markdown string) string { return strings.ReplaceAll(markdown, "`", "") }

// ConfigMarkdown is the README's configuration table, generated from
// Settings (`make readme` writes it there).
func ConfigMarkdown() string {
	var b strings.Builder
	b.WriteString("| flag | environment | default | meaning |\n|---|---|---|---|\n")
	for _, s := range Settings {
		flag := ""
		if s.Flag != "" {
			flag = "`" + strings.TrimSpace(s.Command+" --"+s.Flag) + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", flag, s.Env, s.defaultMarkdown(), s.Help)
	}
	return b.String()
}

// Name names the setting in messages: its environment variable, and its
// flag when it has one.
func (s Setting) Name() string {
	if s.Flag == "" {
		return s.Env
	}
	return s.Env + " (--" + s.Flag + ")"
}

func (s Setting) errorf(err error) error { return fmt.Errorf("%s: %w", s.Name(), err) }

// field ties a row of the table to its Config field, with the checks
// Validate applies to the value.
type field struct {
	bind  func(*Config) value
	check func(value) error
}

// value is a Value that also knows when it is unset.
type value interface {
	Value
	isZero() bool
}

func str(f func(*Config) *string, checks ...func(string) error) field {
	return field{func(c *Config) value { return (*stringValue)(f(c)) }, checked(func(v value) string { return string(*v.(*stringValue)) }, checks)}
}

func dur(f func(*Config) *time.Duration, checks ...func(time.Duration) error) field {
	return field{func(c *Config) value { return (*durationValue)(f(c)) }, checked(func(v value) time.Duration { return time.Duration(*v.(*durationValue)) }, checks)}
}

func num(f func(*Config) *int, checks ...func(int) error) field {
	return field{func(c *Config) value { return (*intValue)(f(c)) }, checked(func(v value) int { return int(*v.(*intValue)) }, checks)}
}

func boolean(f func(*Config) *bool) field {
	return field{bind: func(c *Config) value { return (*boolValue)(f(c)) }}
}

func list(f func(*Config) *[]string, checks ...func([]string) error) field {
	return field{func(c *Config) value { return (*listValue)(f(c)) }, checked(func(v value) []string { return *v.(*listValue) }, checks)}
}

func checked[T any](get func(value) T, checks []func(T) error) func(value) error {
	if len(checks) == 0 {
		return nil
	}
	return func(v value) error {
		for _, check := range checks {
			if err := check(get(v)); err != nil {
				return err
			}
		}
		return nil
	}
}

type stringValue string

func (v *stringValue) String() string     { return string(*v) }
func (v *stringValue) Set(s string) error { *v = stringValue(s); return nil }
func (v *stringValue) Type() string       { return "string" }
func (v *stringValue) isZero() bool       { return *v == "" }

type durationValue time.Duration

func (v *durationValue) String() string { return time.Duration(*v).String() }
func (v *durationValue) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q (want e.g. 30s, 5m, 1h)", s)
	}
	*v = durationValue(d)
	return nil
}
func (v *durationValue) Type() string { return "duration" }
func (v *durationValue) isZero() bool { return *v == 0 }

type intValue int

func (v *intValue) String() string { return strconv.Itoa(int(*v)) }
func (v *intValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil {
		return fmt.Errorf("invalid whole number %q", s)
	}
	*v = intValue(n)
	return nil
}
func (v *intValue) Type() string { return "int" }
func (v *intValue) isZero() bool { return *v == 0 }

type boolValue bool

func (v *boolValue) String() string { return strconv.FormatBool(bool(*v)) }
func (v *boolValue) Set(s string) error {
	b, err := strconv.ParseBool(s)
	if err != nil {
		return fmt.Errorf("invalid boolean %q (want true or false)", s)
	}
	*v = boolValue(b)
	return nil
}
func (v *boolValue) Type() string { return "bool" }
func (v *boolValue) isZero() bool { return !bool(*v) }

// listValue is a comma-separated list; blanks around items are dropped.
type listValue []string

func (v *listValue) String() string { return strings.Join(*v, ",") }
func (v *listValue) Set(s string) error {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	*v = out
	return nil
}
func (v *listValue) Type() string { return "list" }
func (v *listValue) isZero() bool { return len(*v) == 0 }

// The checks Validate applies.

func positive[T int | time.Duration](v T) error {
	if v <= 0 {
		return fmt.Errorf("must be positive, not %v", v)
	}
	return nil
}

func oneOf(allowed ...string) func(string) error {
	return func(s string) error {
		for _, a := range allowed {
			if s == a {
				return nil
			}
		}
		return fmt.Errorf("invalid value %q (want %s)", s, strings.Join(allowed, ", "))
	}
}

// hostPort accepts what net.Listen accepts for TCP: host:port with a
// numeric port (0 picks a free one).
func hostPort(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err == nil {
		var n uint64
		if n, err = strconv.ParseUint(port, 10, 16); err == nil && n <= 65535 {
			return nil
		}
	}
	return fmt.Errorf("invalid address %q (want host:port, e.g. 127.0.0.1:8080)", s)
}

func httpURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("invalid URL %q (want http://host or https://host)", s)
	}
	return nil
}

// databaseURL checks the scheme only: the URL may hold a password, so it
// is never echoed.
func databaseURL(s string) error {
	for _, prefix := range []string{"", "postgres://", "postgresql://", "sqlite:", "file:"} {
		if (prefix == "" && s == "") || (prefix != "" && strings.HasPrefix(s, prefix)) {
			return nil
		}
	}
	scheme, _, _ := strings.Cut(s, ":")
	if len(scheme) > 20 || strings.ContainsAny(scheme, "/@") {
		scheme = "?"
	}
	return fmt.Errorf("unsupported database scheme %q (want postgres://…, sqlite: or file:)", scheme)
}

// smtpURL checks GITGATE_SMTP_URL without ever echoing it (it may hold
// a password).
func smtpURL(s string) error {
	if s == "" {
		return nil
	}
	_, err := mail.ParseURL(s)
	return err
}

func mailFrom(s string) error {
	if s == "" {
		return nil
	}
	_, err := mail.ParseFrom(s)
	return err
}

// cidrs parses each item the way the lockout and the proxy rule will.
func cidrs(list []string) error {
	for _, s := range list {
		if _, err := throttle.ParsePrefixes([]string{s}); err != nil {
			return fmt.Errorf("invalid address or CIDR %q", s)
		}
	}
	return nil
}
