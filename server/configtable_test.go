package server_test

import (
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/server"
)

var update = flag.Bool("update", false, "rewrite README.md's configuration table (make readme)")

const (
	tableStart = "<!-- config-table:start -->\n"
	tableEnd   = "<!-- config-table:end -->"
)

func TestREADMEConfigurationTableIsGenerated(t *testing.T) {
	const path = "../README.md"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	readme := string(b)
	i, j := strings.Index(readme, tableStart), strings.Index(readme, tableEnd)
	if i < 0 || j < i {
		t.Fatalf("README.md lacks the markers %q … %q", tableStart, tableEnd)
	}
	got, want := readme[i+len(tableStart):j], server.ConfigMarkdown()
	if got == want {
		return
	}
	if *update {
		if err := os.WriteFile(path, []byte(readme[:i+len(tableStart)]+want+readme[j:]), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("README.md's configuration table is not the one server.Settings describes; run make readme.\nREADME:\n%s\ngenerated:\n%s", got, want)
}

// Every field of Config an operator can set has exactly one row, so a new
// field cannot be forgotten in the table (and so in the docs).
func TestEveryConfigFieldHasExactlyOneSetting(t *testing.T) {
	var c server.Config
	rows := map[uintptr]string{}
	for _, s := range server.Settings {
		p := reflect.ValueOf(s.Value(&c)).Pointer()
		if other, dup := rows[p]; dup {
			t.Errorf("%s and %s set the same field", other, s.Env)
		}
		rows[p] = s.Env
	}
	v := reflect.ValueOf(&c).Elem()
	for i := 0; i < v.NumField(); i++ {
		name := v.Type().Field(i).Name
		if name == "Now" { // the tests' clock, not a setting
			continue
		}
		if _, ok := rows[v.Field(i).Addr().Pointer()]; !ok {
			t.Errorf("Config.%s has no row in server.Settings", name)
		}
	}
}

func TestSettingRowsAreConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range server.Settings {
		if seen[s.Env] || !strings.HasPrefix(s.Env, "GITGATE_") {
			t.Errorf("%s: environment names are unique and start with GITGATE_", s.Env)
		}
		seen[s.Env] = true
		if s.Flag != "" && s.Env != "GITGATE_"+strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_")) {
			t.Errorf("%s: the variable of flag --%s is GITGATE_ and the flag in capitals", s.Env, s.Flag)
		}
		if s.Help == "" || strings.Contains(s.Help, "\n") {
			t.Errorf("%s: help is one line", s.Env)
		}
		if s.Default != "" {
			var c server.Config
			if err := s.Value(&c).Set(s.Default); err != nil {
				t.Errorf("%s: default %q does not parse: %v", s.Env, s.Default, err)
			}
		}
	}
	if err := (server.Config{}).Defaults().Validate(); err != nil {
		t.Fatalf("the defaults are not valid: %v", err)
	}
}

func TestEnvironmentSetsEachTypeAndNamesTheVariableOfABadValue(t *testing.T) {
	env := map[string]string{
		"GITGATE_HTTP_ADDR":              "0.0.0.0:80",
		"GITGATE_SHUTDOWN_TIMEOUT":       "2m",
		"GITGATE_AUTH_LOCKOUT_FAILURES":  "-1",
		"GITGATE_DISABLE_PACK_CACHE":     "true",
		"GITGATE_TRUSTED_PROXIES":        " 10.0.0.0/8, ,::1 ",
		"GITGATE_SSH_KEEPALIVE_INTERVAL": "-1s",
	}
	var c server.Config
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	want := server.Config{HTTPAddr: "0.0.0.0:80", ShutdownTimeout: 2 * time.Minute, AuthLockoutFailures: -1,
		DisablePackCache: true, TrustedProxies: []string{"10.0.0.0/8", "::1"}, SSHKeepAliveInterval: -time.Second}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("FromEnv set\n%+v\nwant\n%+v", c, want)
	}
	for _, r := range []struct{ env, value, want string }{
		{"GITGATE_AUTH_LOCKOUT_WINDOW", "abc", `GITGATE_AUTH_LOCKOUT_WINDOW: invalid duration "abc"`},
		{"GITGATE_SSH_MAX_SESSIONS", "many", `GITGATE_SSH_MAX_SESSIONS: invalid whole number "many"`},
		{"GITGATE_DISABLE_PACK_CACHE", "yes please", `GITGATE_DISABLE_PACK_CACHE: invalid boolean "yes please"`},
	} {
		var c server.Config
		err := c.FromEnv(func(k string) string {
			if k == r.env {
				return r.value
			}
			return ""
		})
		if err == nil || !strings.HasPrefix(err.Error(), r.want) {
			t.Errorf("%s=%q: error %v, want %q", r.env, r.value, err, r.want)
		}
	}
}

func TestDefaultsFillOnlyUnsetSettings(t *testing.T) {
	c := server.Config{SSHMaxSessions: 7, LogFormat: "json", AuthLockoutFailures: -1}.Defaults()
	if c.SSHMaxSessions != 7 || c.LogFormat != "json" || c.AuthLockoutFailures != -1 {
		t.Fatalf("Defaults changed set values: %+v", c)
	}
	if c.SSHMaxSessionsPerConn != 10 || c.HTTPAddr != "127.0.0.1:8080" || c.ShutdownTimeout != 30*time.Second ||
		c.ExternalURL != "http://127.0.0.1:8080" || c.DisablePackCache {
		t.Fatalf("Defaults did not fill unset values from the table: %+v", c)
	}
	if !strings.HasPrefix(c.DataDir, "/") || !strings.HasSuffix(c.DataDir, "/data") {
		t.Fatalf("data dir %q is not ./data made absolute", c.DataDir)
	}
}

func TestValidateNamesTheFirstBadSetting(t *testing.T) {
	rows := []struct {
		name string
		set  func(*server.Config)
		want string // "" means valid
	}{
		{"defaults", func(*server.Config) {}, ""},
		{"port 0 picks a free port", func(c *server.Config) { c.HTTPAddr = "127.0.0.1:0"; c.SSHAddr = ":2222" }, ""},
		{"IPv6 address", func(c *server.Config) { c.HTTPAddr = "[::1]:8080" }, ""},
		{"address without port", func(c *server.Config) { c.HTTPAddr = "localhost" },
			`GITGATE_HTTP_ADDR (--http-addr): invalid address "localhost"`},
		{"port out of range", func(c *server.Config) { c.SSHAddr = "127.0.0.1:70000" },
			`GITGATE_SSH_ADDR (--ssh-addr): invalid address "127.0.0.1:70000"`},
		{"named port", func(c *server.Config) { c.SSHAddr = "127.0.0.1:ssh" },
			`GITGATE_SSH_ADDR (--ssh-addr): invalid address "127.0.0.1:ssh"`},
		{"https external URL", func(c *server.Config) { c.ExternalURL = "https://git.example.com/gitgate" }, ""},
		{"external URL without scheme", func(c *server.Config) { c.ExternalURL = "git.example.com" },
			`GITGATE_EXTERNAL_URL (--external-url): invalid URL "git.example.com"`},
		{"log format", func(c *server.Config) { c.LogFormat = "xml" }, `GITGATE_LOG_FORMAT (--log-format): invalid value "xml"`},
		{"log level", func(c *server.Config) { c.LogLevel = "loud" }, `GITGATE_LOG_LEVEL (--log-level): invalid value "loud"`},
		{"CIDRs and addresses", func(c *server.Config) { c.TrustedProxies = []string{"10.0.0.0/8", "::1", "192.168.1.7"} }, ""},
		{"bad CIDR", func(c *server.Config) { c.TrustedProxies = []string{"10.0.0.0/8", "10.0.0.0/33"} },
			`GITGATE_TRUSTED_PROXIES: invalid address or CIDR "10.0.0.0/33"`},
		{"host name in allow list", func(c *server.Config) { c.AuthLockoutAllowList = []string{"localhost"} },
			`GITGATE_AUTH_LOCKOUT_ALLOWLIST: invalid address or CIDR "localhost"`},
		{"negative duration", func(c *server.Config) { c.AuthLockoutWindow = -time.Second },
			`GITGATE_AUTH_LOCKOUT_WINDOW: must be positive, not -1s`},
		{"negative limit", func(c *server.Config) { c.SSHMaxSessionsPerAddr = -5 },
			`GITGATE_SSH_MAX_SESSIONS_PER_ADDR: must be positive, not -5`},
		{"negative keepalive turns keepalives off", func(c *server.Config) { c.SSHKeepAliveInterval = -time.Second }, ""},
		{"negative failures turn the lockout off", func(c *server.Config) { c.AuthLockoutFailures = -1 }, ""},
		{"PostgreSQL", func(c *server.Config) { c.DatabaseURL = "postgresql://u:p@db/gitgate?sslmode=disable" }, ""},
		{"SQLite file", func(c *server.Config) { c.DatabaseURL = "sqlite:///var/lib/gitgate.db" }, ""},
		{"unknown database, password not echoed", func(c *server.Config) { c.DatabaseURL = "mysql://u:hunter2@db/gitgate" },
			`GITGATE_DATABASE_URL (--database-url): unsupported database scheme "mysql"`},
		{"AES-GCM ciphers only", func(c *server.Config) { c.SSHCiphers = []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"} }, ""},
		{"unknown cipher", func(c *server.Config) { c.SSHCiphers = []string{"aes128-gcm@openssh.com", "blowfish-cbc"} },
			`GITGATE_SSH_CIPHERS: unknown SSH cipher "blowfish-cbc"`},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			var c server.Config
			r.set(&c)
			err := c.Defaults().Validate()
			switch {
			case r.want == "" && err != nil:
				t.Fatalf("valid configuration refused: %v", err)
			case r.want != "" && (err == nil || !strings.HasPrefix(err.Error(), r.want)):
				t.Fatalf("error %v, want %q", err, r.want)
			case err != nil && (strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "hunter2")):
				t.Fatalf("error is not one line free of secrets: %q", err)
			}
		})
	}
}
