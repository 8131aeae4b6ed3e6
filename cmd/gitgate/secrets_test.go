package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/pquerna/otp/totp"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// totpSecret is the TOTP secret the tests enrol with, as an operator
// would pass it to gitgate user 2fa enable --secret.
const totpSecret = "JBSWY3DPEHPK3PXPJBSWY3DP"

// runEnv runs the binary with extra environment variables (later ones win).
func (c *cli) runEnv(extra []string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(c.env(), extra...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run gitgate: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

// databaseURL names c's database explicitly, so that another data
// directory can point at it.
func (c *cli) databaseURL() string {
	if c.dbURL == "" {
		return "sqlite:" + filepath.Join(c.dataDir, "gitgate.db")
	}
	return c.dbURL
}

// sql opens c's database directly, beside gitgate.
func (c *cli) sql() *sqlx.DB {
	c.t.Helper()
	driver, dsn := "postgres", c.dbURL
	if c.dbURL == "" {
		driver, dsn = "sqlite", filepath.Join(c.dataDir, "gitgate.db")
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { db.Close() })
	return db
}

// rawOTPSecret is users.otp_secret as stored.
func (c *cli) rawOTPSecret(username string) string {
	c.t.Helper()
	db := c.sql()
	var v string
	if err := db.Get(&v, db.Rebind(`SELECT otp_secret FROM users WHERE username_lower = ?`), username); err != nil {
		c.t.Fatal(err)
	}
	return v
}

// secretState is everything the secret key governs, to prove a refused
// command changed nothing.
func (c *cli) secretState() string {
	c.t.Helper()
	db := c.sql()
	var users []struct {
		ID       int64     `db:"id"`
		Name     string    `db:"username"`
		Secret   string    `db:"otp_secret"`
		Enabled  bool      `db:"otp_enabled"`
		Recovery string    `db:"otp_recovery_codes"`
		Updated  time.Time `db:"updated_at"`
	}
	if err := db.Select(&users, `SELECT id, username, otp_secret, otp_enabled, otp_recovery_codes, updated_at FROM users ORDER BY id`); err != nil {
		c.t.Fatal(err)
	}
	var checks []struct {
		Name  string `db:"name"`
		Value string `db:"value"`
	}
	if err := db.Select(&checks, `SELECT name, value FROM instance_secrets ORDER BY name`); err != nil {
		c.t.Fatal(err)
	}
	return fmt.Sprintf("%+v %+v", users, checks)
}

// verifyTOTP starts a server on c's database (as gitgate serve does, with
// cfg's key settings) and checks a code computed from secret at a time
// through its 2FA verification.
// verifyTOTP starts a server on the CLI's data and checks a code of the
// given secret for step steps (30 s each) from now. The code is computed
// after the server has started, right before it is checked, so a slow
// start cannot push it out of the accepted window.
func (c *cli) verifyTOTP(configure func(*server.Config), username, secret string, step int) error {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cfg := server.Config{DataDir: c.dataDir, DatabaseURL: c.dbURL, HTTPAddr: "127.0.0.1:0", SSHAddr: "127.0.0.1:0",
		InitialRootPassword: "root-password-1234"}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := server.New(ctx, cfg, logging.Discard())
	if err != nil {
		c.t.Fatalf("start server: %v", err)
	}
	defer func() { _ = srv.Shutdown(ctx) }()
	u, err := srv.Auth.UserByUsername(ctx, username)
	if err != nil {
		c.t.Fatal(err)
	}
	code, err := totp.GenerateCode(secret, time.Now().Add(time.Duration(step)*30*time.Second))
	if err != nil {
		c.t.Fatal(err)
	}
	return srv.Auth.VerifySecondFactor(ctx, u.ID, code)
}

func TestTwoFactorSecretsAreEncryptedAtRestAndCodesStillVerify(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		out := c.must("user", "2fa", "enable", "alice", "--secret", totpSecret)
		if !strings.Contains(out, "Secret: "+totpSecret+"\n") || !strings.Contains(out, "secret="+totpSecret) {
			t.Fatalf("2fa enable no longer shows the secret and URI once:\n%s", out)
		}
		raw := c.rawOTPSecret("alice")
		if !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, totpSecret) {
			t.Fatalf("users.otp_secret holds %q, want a v1: ciphertext", raw)
		}
		if strings.Contains(c.everything(), totpSecret) {
			t.Fatal("the TOTP secret is stored in plaintext somewhere in the database")
		}
		key := filepath.Join(c.dataDir, "secret_key")
		if fi, err := os.Stat(key); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("key file %s: %v %v, want mode 0600", key, fi, err)
		}
		if err := c.verifyTOTP(nil, "alice", totpSecret, 0); err != nil {
			t.Fatalf("a code from the enrolled secret is refused: %v", err)
		}
		if err := c.verifyTOTP(nil, "alice", "GEZDGNBVGY3TQOJQGEZDGNBVGY", 1); err == nil {
			t.Fatal("a code from another secret is accepted")
		}
	})
}

func TestAWrongSecretKeyStopsServeAndTheCLIWithOneLine(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("user", "create", "--username", "bob", "--email", "bob@example.com")
		c.must("user", "2fa", "enable", "alice", "--secret", totpSecret)
		before := c.secretState()
		wrong := []string{"GITGATE_SECRET_KEY_BASE=" + strings.Repeat("0123456789abcdef", 4),
			"GITGATE_HTTP_ADDR=" + freePort(t), "GITGATE_SSH_ADDR=" + freePort(t)}
		const line = "gitgate: the secret key does not match this database (GITGATE_SECRET_KEY_BASE); use the key the other gitgate processes use\n"
		for _, args := range [][]string{{"serve"}, {"user", "2fa", "enable", "bob"}, {"migrate"}} {
			r := c.runEnv(wrong, args...)
			if r.code != 1 || r.stderr != line || r.stdout != "" {
				t.Errorf("gitgate %v with the wrong key: exit %d, stderr %q, stdout %q; want exit 1 and %q", args, r.code, r.stderr, r.stdout, line)
			}
		}
		if after := c.secretState(); after != before {
			t.Fatalf("commands refused for the wrong key changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestAnotherDataDirectoryWithoutTheKeyRefusesAndLeavesNoKeyFile(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		before := c.secretState()
		// The CLI on another host: its own ./data, the same database.
		other := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "data"), dbURL: c.databaseURL()}
		line := "gitgate: the database already has a secret key, but GITGATE_SECRET_KEY_BASE is unset and " +
			filepath.Join(other.dataDir, "secret_key") + " does not exist; use the key the other gitgate processes use\n"
		addrs := []string{"GITGATE_HTTP_ADDR=" + freePort(t), "GITGATE_SSH_ADDR=" + freePort(t)}
		for _, args := range [][]string{{"user", "2fa", "enable", "alice"}, {"user", "create", "--username", "carol", "--email", "carol@example.com"}, {"serve"}} {
			r := other.runEnv(addrs, args...)
			if r.code != 1 || r.stderr != line || r.stdout != "" {
				t.Errorf("gitgate %v without the key: exit %d, stderr %q, stdout %q; want exit 1 and %q", args, r.code, r.stderr, r.stdout, line)
			}
		}
		if _, err := os.Stat(other.dataDir); !os.IsNotExist(err) {
			t.Fatalf("the refused commands created %s (%v): a key file there could be mistaken for the instance's", other.dataDir, err)
		}
		if after := c.secretState(); after != before {
			t.Fatalf("refused commands changed the database:\nbefore %s\nafter  %s", before, after)
		}
	})
}

func TestMigrateEncryptsTwoFactorSecretsStoredInPlaintext(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		// As a gitgate from before encryption left it.
		sqldb := c.sql()
		if _, err := sqldb.Exec(sqldb.Rebind(`UPDATE users SET otp_secret = ?, otp_enabled = TRUE WHERE username_lower = 'alice'`), totpSecret); err != nil {
			t.Fatal(err)
		}
		out := c.must("migrate")
		if !strings.Contains(out, "encrypted 1 two-factor secrets stored in plaintext\n") {
			t.Fatalf("migrate printed:\n%s", out)
		}
		raw := c.rawOTPSecret("alice")
		// Only the column: the overwritten plaintext may linger in free
		// pages until a VACUUM, as docs/secrets.md says.
		if !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, totpSecret) {
			t.Fatalf("after migrate users.otp_secret holds %q", raw)
		}
		if out := c.must("migrate"); strings.Contains(out, "encrypted") {
			t.Fatalf("a second migrate encrypted again:\n%s", out)
		}
		if c.rawOTPSecret("alice") != raw {
			t.Fatal("a second migrate rewrote the encrypted secret")
		}
		if err := c.verifyTOTP(nil, "alice", totpSecret, 0); err != nil {
			t.Fatalf("the migrated secret no longer verifies codes: %v", err)
		}
	})
}

func TestSecretKeyRotationWithThePreviousKeyInTheEnvironment(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("user", "create", "--username", "bob", "--email", "bob@example.com")
		c.must("user", "2fa", "enable", "alice", "--secret", totpSecret)
		keyFile := filepath.Join(c.dataDir, "secret_key")
		oldKey, err := os.ReadFile(keyFile)
		if err != nil {
			t.Fatal(err)
		}
		before := c.rawOTPSecret("alice")
		newKey := strings.Repeat("fedcba9876543210", 4)

		// docs/secrets.md: start every process once with both keys.
		rotate := []string{"GITGATE_SECRET_KEY_BASE=" + newKey, "GITGATE_SECRET_KEY_BASE_PREVIOUS=" + strings.TrimSpace(string(oldKey))}
		r := c.runEnv(rotate, "migrate")
		if r.code != 0 || !strings.Contains(r.stdout, "rotated the secret key: 1 secrets re-encrypted") {
			t.Fatalf("rotation: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if c.rawOTPSecret("alice") == before {
			t.Fatal("rotation left the secret encrypted under the old key")
		}
		if err := c.verifyTOTP(func(cfg *server.Config) { cfg.SecretKeyBase = newKey }, "alice", totpSecret, -1); err != nil {
			t.Fatalf("after rotation the new key alone does not verify codes: %v", err)
		}
		// The old key file alone is now refused.
		r = c.run("user", "2fa", "enable", "bob")
		if want := "gitgate: the secret key does not match this database (" + keyFile + "); use the key the other gitgate processes use\n"; r.code != 1 || r.stderr != want {
			t.Fatalf("the retired key file: exit %d, stderr %q", r.code, r.stderr)
		}
		// Or the new key goes into the key file, and the variables go.
		if err := os.WriteFile(keyFile, []byte(newKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c.must("user", "2fa", "enable", "bob")
		if err := c.verifyTOTP(nil, "alice", totpSecret, 0); err != nil {
			t.Fatalf("the new key from the key file does not verify codes: %v", err)
		}
	})
}
