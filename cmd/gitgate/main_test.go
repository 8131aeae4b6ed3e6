package main_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// These tests run the real gitgate binary, as an operator or a script
// would, against a fresh data directory on each database engine.

var binary string

// What the test binary is built to call itself.
const (
	testVersion = "v9.8.7-test"
	testCommit  = "0123456789abcdef0123456789abcdef01234567"
	testDate    = "2026-11-30T12:00:00Z"
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gitgate-cli-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "gitgate")
	// As make build does: the version command must tell these.
	bi := "-X github.com/gitgate/gitgate/internal/buildinfo."
	ldflags := bi + "version=" + testVersion + " " + bi + "commit=" + testCommit + " " + bi + "date=" + testDate
	out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build gitgate: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type cli struct {
	t       *testing.T
	dataDir string
	dbURL   string
	// extra is more environment for every command (serveBinary sets the
	// server's addresses, so --json shows the URLs the API shows).
	extra []string
}

type result struct {
	stdout, stderr string
	code           int
}

func newCLI(t *testing.T, d store.Dialect) *cli {
	return &cli{t: t, dataDir: t.TempDir(), dbURL: testdb.URL(t, d)}
}

func (c *cli) env() []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.t.TempDir(), "GITGATE_DATA_DIR=" + c.dataDir, "GITGATE_DATABASE_URL=" + c.dbURL}, c.extra...)
}

func (c *cli) runIn(stdin string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = c.env()
	cmd.Stdin = strings.NewReader(stdin)
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

func (c *cli) run(args ...string) result { c.t.Helper(); return c.runIn("", args...) }

func (c *cli) must(args ...string) string {
	c.t.Helper()
	r := c.run(args...)
	if r.code != 0 {
		c.t.Fatalf("gitgate %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// everything returns all stored bytes of the instance's database, to look
// for secrets in.
func (c *cli) everything() string {
	c.t.Helper()
	if c.dbURL == "" {
		var all bytes.Buffer
		entries, err := os.ReadDir(c.dataDir)
		if err != nil {
			c.t.Fatal(err)
		}
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), "gitgate.db") {
				b, err := os.ReadFile(filepath.Join(c.dataDir, e.Name()))
				if err != nil {
					c.t.Fatal(err)
				}
				all.Write(b)
			}
		}
		if all.Len() == 0 {
			c.t.Fatal("no SQLite database files found")
		}
		return all.String()
	}
	db, err := sqlx.Open("postgres", c.dbURL)
	if err != nil {
		c.t.Fatal(err)
	}
	defer db.Close()
	var tables []string
	if err := db.Select(&tables, `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()`); err != nil {
		c.t.Fatal(err)
	}
	if len(tables) < 5 {
		c.t.Fatalf("found only tables %v", tables)
	}
	var all strings.Builder
	for _, tb := range tables {
		var rows []string
		if err := db.Select(&rows, `SELECT CAST(t.* AS TEXT) FROM "`+tb+`" t`); err != nil {
			c.t.Fatal(err)
		}
		all.WriteString(strings.Join(rows, "\n"))
	}
	return all.String()
}

func TestSeedAutomationExampleWorksAndStoresNoPlaintextSecret(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "automation-bot", "--email", "automation-bot@example.com", "--bot")
		out := c.must("token", "create", "--user", "automation-bot", "--name", "Automation token",
			"--scopes", "read_user,read_repository", "--token", "token-string-here123")
		if out != "token-string-here123\n" {
			t.Fatalf("token create printed %q, want the token alone", out)
		}
		generated := strings.TrimSpace(c.must("token", "create", "--user", "automation-bot", "--name", "second", "--scopes", "read_repository"))
		if !strings.HasPrefix(generated, "glpat-") || strings.ContainsAny(generated, " \n") {
			t.Fatalf("generated token %q", generated)
		}
		const password = "a-long-operator-password"
		if r := c.runIn(password+"\n", "user", "create", "--username", "bob", "--email", "bob@example.com", "--password-stdin"); r.code != 0 {
			t.Fatalf("password from stdin: %s", r.stderr)
		}
		var listed []map[string]any
		if err := json.Unmarshal([]byte(c.must("token", "list", "--json")), &listed); err != nil {
			t.Fatal(err)
		}
		if len(listed) != 2 || listed[0]["name"] != "Automation token" || listed[0]["active"] != true || listed[0]["token"] != nil {
			t.Fatalf("token list --json: %v", listed)
		}
		c.must("token", "revoke", "--token", "token-string-here123")
		var after []map[string]any
		if err := json.Unmarshal([]byte(c.must("token", "list", "--user", "automation-bot", "--json")), &after); err != nil {
			t.Fatal(err)
		}
		if after[0]["revoked"] != true || after[0]["active"] != false {
			t.Fatalf("revoked token is not shown revoked: %v", after[0])
		}
		stored := c.everything()
		for _, secret := range []string{"token-string-here123", generated, strings.TrimPrefix(generated, "glpat-"), password} {
			if strings.Contains(stored, secret) {
				t.Errorf("the database holds the plaintext secret %q", secret)
			}
		}
	})
}

func TestBadInputExitsNonZeroWithOneLineAndChangesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("token", "create", "--user", "alice", "--name", "t", "--scopes", "api", "--token", "an-existing-token-string")
		c.must("repo", "create", "alice/proj")
		before := c.must("token", "list", "--json")
		rows := []struct {
			args []string
			want string
		}{
			{[]string{"token", "create", "--user", "nobody", "--name", "t", "--scopes", "api"}, `no user named "nobody"`},
			{[]string{"token", "create", "--user", "alice", "--name", "t", "--scopes", "api,nope"}, `unknown scope "nope": valid scopes are api, read_api`},
			{[]string{"token", "create", "--user", "alice", "--name", "t", "--scopes", "api", "--expires-at", "2001-01-01"}, "must be after today"},
			{[]string{"token", "create", "--user", "alice", "--name", "t", "--scopes", "api", "--expires-at", "tomorrow"}, "invalid date"},
			{[]string{"token", "create", "--user", "alice", "--name", "t", "--scopes", "api", "--token", "an-existing-token-string"}, "already in use"},
			{[]string{"token", "create", "--user", "alice", "--name", "t", "--scopes", "api", "--token", "short"}, "minimum is 20"},
			{[]string{"token", "create", "--user", "alice", "--name", "t", "--scopes", "sudo"}, "only for tokens of admin users"},
			{[]string{"token", "create", "--user", "alice", "--scopes", "api"}, "usage: gitgate token create"},
			{[]string{"token", "revoke", "--token", "no-such-token-string-x"}, "no token with that value"},
			{[]string{"token", "revoke", "--id", "999"}, "no token with id 999"},
			{[]string{"user", "create", "--username", "-bad", "--email", "x@example.com"}, "cannot start with '-'"},
			{[]string{"user", "create", "--username", "ALICE", "--email", "other@example.com"}, "already been taken"},
			{[]string{"user", "create", "--username", "carol", "--email", "not-an-email"}, "is invalid"},
			{[]string{"user", "block", "nobody"}, `no user named "nobody"`},
			{[]string{"user", "unlock", "nobody"}, `no user named "nobody"`},
			{[]string{"user", "unlock"}, "usage: gitgate user unlock USERNAME"},
			{[]string{"key", "add", "--user", "alice", "--key", "ssh-ed25519 AAAAnotakey"}, "not a valid OpenSSH public key"},
			{[]string{"repo", "create", "alice/../etc"}, "may not contain '..'"},
			{[]string{"repo", "create", "nobody/proj"}, `namespace "nobody" does not exist`},
			{[]string{"repo", "create", "alice/proj"}, "already exists"},
			{[]string{"repo", "create", "alice/p2", "--visibility", "secret"}, "must be private, internal or public"},
			{[]string{"group", "create", "missing/sub"}, `parent group "missing" does not exist`},
			{[]string{"member", "add", "alice/proj", "alice", "--access", "boss"}, "unknown access level"},
			{[]string{"settings", "set", "max_personal_access_token_lifetime=abc"}, "must be a number of days"},
			{[]string{"settings", "set", "bogus=1"}, `unknown setting "bogus"`},
			{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		}
		for _, r := range rows {
			res := c.run(r.args...)
			if res.code == 0 {
				t.Errorf("gitgate %v succeeded, want failure %q", r.args, r.want)
				continue
			}
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], r.want) || res.stdout != "" {
				t.Errorf("gitgate %v: stderr %q stdout %q, want one line containing %q", r.args, res.stderr, res.stdout, r.want)
			}
		}
		if after := c.must("token", "list", "--json"); after != before {
			t.Fatalf("failed commands changed the tokens:\nbefore %s\nafter %s", before, after)
		}
	})
}

func TestLifetimeLimitFromTheCLICutsTokensAndBoundsNewOnes(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	c.must("settings", "set", "require_personal_access_token_expiry=false")
	c.must("token", "create", "--user", "alice", "--name", "forever", "--scopes", "api")
	c.must("settings", "set", "max_personal_access_token_lifetime=5")
	var list []map[string]any
	if err := json.Unmarshal([]byte(c.must("token", "list", "--json")), &list); err != nil {
		t.Fatal(err)
	}
	limit := time.Now().UTC().AddDate(0, 0, 5).Format("2006-01-02")
	if list[0]["expires_at"] != limit {
		t.Fatalf("token without expiry after setting a 5-day limit expires %v, want %s", list[0]["expires_at"], limit)
	}
	over := time.Now().UTC().AddDate(0, 0, 6).Format("2006-01-02")
	if r := c.run("token", "create", "--user", "alice", "--name", "x", "--scopes", "api", "--expires-at", over); r.code == 0 {
		t.Fatal("a token beyond the lifetime limit was created")
	}
	c.must("token", "create", "--user", "alice", "--name", "x", "--scopes", "api", "--expires-at", limit)
	if got := strings.TrimSpace(c.must("settings", "get", "max_personal_access_token_lifetime")); got != "5" {
		t.Fatalf("settings get: %q", got)
	}
	c.must("settings", "set", "max_personal_access_token_lifetime=")
	if got := strings.TrimSpace(c.must("settings", "get", "max_personal_access_token_lifetime")); got != "" {
		t.Fatalf("KEY= did not reset the setting: %q", got)
	}
}

func freePort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func TestServeWithNothingConfiguredIsReadyAndStopsOnSIGTERM(t *testing.T) {
	work := t.TempDir()
	httpAddr := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Dir = work
	sshAddr := freePort(t)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "GITGATE_HTTP_ADDR=" + httpAddr, "GITGATE_SSH_ADDR=" + sshAddr}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var code int
	for ctx.Err() == nil {
		resp, err := http.Get("http://" + httpAddr + "/-/readiness")
		if err == nil {
			code = resp.StatusCode
			resp.Body.Close()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Fatalf("readiness: %d\n%s", code, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(work, "data", "gitgate.db")); err != nil {
		t.Fatalf("the default SQLite database is not in ./data: %v", err)
	}
	if !strings.Contains(stderr.String(), "Created the admin user root with password: ") {
		t.Fatalf("first start did not print root's one-time password:\n%s", stderr.String())
	}
	// …and where to change it: the password page on the external URL.
	if !strings.Contains(stderr.String(), "http://"+httpAddr+"/-/user_settings/password/edit") {
		t.Fatalf("first start did not point at the password page:\n%s", stderr.String())
	}
	// The README's example, from the same working directory, with the
	// data directory relative to it.
	cli := func(args ...string) string {
		c := exec.Command(binary, args...)
		c.Dir, c.Env = work, cmd.Env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("gitgate %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	cli("user", "create", "--username", "alice", "--email", "alice@example.com")
	cli("repo", "create", "alice/hello", "--visibility", "private")
	token := cli("token", "create", "--user", "alice", "--name", "laptop", "--scopes", "read_repository,write_repository")
	// And over SSH with a registered key, checking the host key that
	// gitgate ssh host-keys reports.
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", keyFile).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	cli("key", "add", "--user", "alice", "--title", "laptop", "--file", keyFile+".pub")
	_, sshPort, _ := net.SplitHostPort(sshAddr)
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	scan, err := exec.Command("ssh-keyscan", "-p", sshPort, "-t", "ed25519", "127.0.0.1").Output()
	if err != nil {
		t.Fatalf("ssh-keyscan: %v", err)
	}
	if err := os.WriteFile(knownHosts, scan, 0o600); err != nil {
		t.Fatal(err)
	}
	sshCommand := "ssh -i " + keyFile + " -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=" + knownHosts
	git := func(dir string, args ...string) {
		c := exec.Command("git", args...)
		c.Dir = dir
		c.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "GIT_TERMINAL_PROMPT=0", "GIT_SSH_COMMAND=" + sshCommand,
			"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com"}
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s\nserver log:\n%s", args, err, out, stderr.String())
		}
	}
	clone := filepath.Join(t.TempDir(), "hello")
	git(work, "clone", "-q", "http://alice:"+token+"@"+httpAddr+"/alice/hello.git", clone)
	if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git(clone, "add", ".")
	git(clone, "commit", "-q", "-m", "hi")
	git(clone, "push", "-q", "origin", "HEAD:main")
	sshClone := filepath.Join(t.TempDir(), "hello")
	git(work, "clone", "-q", "ssh://git@"+sshAddr+"/alice/hello.git", sshClone)
	if b, err := os.ReadFile(filepath.Join(sshClone, "README.md")); err != nil || string(b) != "hi\n" {
		t.Fatalf("SSH clone does not hold the pushed commit: %q %v", b, err)
	}

	keys := exec.Command(binary, "ssh", "host-keys")
	keys.Dir, keys.Env = work, cmd.Env
	out, err := keys.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "ssh-ed25519 SHA256:") || !strings.Contains(string(out), "\nrsa-sha2-512 SHA256:") && !strings.Contains(string(out), "\nssh-rsa SHA256:") {
		t.Fatalf("ssh host-keys: %v\n%s", err, out)
	}
	scanned, err := exec.Command("ssh-keygen", "-lf", knownHosts).Output()
	if err != nil {
		t.Fatal(err)
	}
	if fp := strings.Fields(string(scanned)); len(fp) < 2 || !strings.Contains(string(out), "ssh-ed25519 "+fp[1]+"\n") {
		t.Fatalf("gitgate ssh host-keys says\n%s\nbut the server presents %s", out, scanned)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve did not exit cleanly on SIGTERM: %v\n%s", err, stderr.String())
	}
}

// serveBinary starts `gitgate serve` on c's database and returns its HTTP
// base URL.
func (c *cli) serveBinary(t *testing.T) string {
	httpAddr := freePort(t)
	c.extra = append(c.extra, "GITGATE_HTTP_ADDR="+httpAddr, "GITGATE_SSH_ADDR="+freePort(t))
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(c.env(), "GITGATE_INITIAL_ROOT_PASSWORD=root-password-1234")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	for i := 0; i < 300; i++ {
		if resp, err := http.Get("http://" + httpAddr + "/-/readiness"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + httpAddr
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gitgate serve never became ready:\n%s", stderr.String())
	return ""
}

// lsRemote runs git ls-remote with a token and returns its exit status
// and stderr.
func lsRemote(t *testing.T, base, token, path string) (int, string) {
	return lsRemoteAs(t, base, "user", token, path)
}

// lsRemoteAs is lsRemote with a username (which matters for passwords).
func lsRemoteAs(t *testing.T, base, user, secret, path string) (int, string) {
	u := strings.Replace(base, "http://", "http://"+user+":"+secret+"@", 1) + "/" + path + ".git"
	cmd := exec.Command("git", "ls-remote", u)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_TERMINAL_PROMPT=0"}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// waitForRefusal polls for up to one second (docs/tokens.md#propagation:
// changes reach running servers within a second) and reports whether git
// was refused.
func waitForRefusal(t *testing.T, base, token, path string) bool {
	deadline := time.Now().Add(time.Second)
	for {
		if code, _ := lsRemote(t, base, token, path); code != 0 {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestCLIChangesReachARunningServerWithinASecond(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		base := c.serveBinary(t)
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("user", "create", "--username", "bob", "--email", "bob@example.com")
		c.must("repo", "create", "alice/proj")
		c.must("member", "add", "alice/proj", "bob", "--access", "reporter")
		revokeMe := strings.TrimSpace(c.must("token", "create", "--user", "alice", "--name", "a", "--scopes", "read_repository"))
		bobs := strings.TrimSpace(c.must("token", "create", "--user", "bob", "--name", "b", "--scopes", "read_repository"))
		expired := strings.TrimSpace(c.must("token", "create", "--user", "bob", "--name", "old", "--scopes", "read_repository",
			"--expires-at", "2020-01-01", "--allow-past-expiry"))
		for _, tok := range []string{revokeMe, bobs} {
			if code, stderr := lsRemote(t, base, tok, "alice/proj"); code != 0 {
				t.Fatalf("ls-remote with a fresh token: %s", stderr)
			}
		}
		c.must("token", "revoke", "--token", revokeMe)
		if !waitForRefusal(t, base, revokeMe, "alice/proj") {
			t.Error("a token revoked with the CLI still works in the running server after 1 s")
		}
		c.must("user", "block", "bob")
		if !waitForRefusal(t, base, bobs, "alice/proj") {
			t.Error("a user blocked with the CLI can still fetch after 1 s")
		}
		c.must("user", "unblock", "bob")
		if code, _ := lsRemote(t, base, expired, "alice/proj"); code == 0 {
			t.Fatal("an expired token works while expiry is enforced")
		}
		c.must("settings", "set", "enforce_personal_access_token_expiration=false")
		deadline := time.Now().Add(time.Second)
		for {
			code, _ := lsRemote(t, base, expired, "alice/proj")
			if code == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("turning expiry enforcement off with the CLI did not reach the server within 1 s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

// An account locked by wrong passwords (docs/authentication.md) is
// unlocked by `gitgate user unlock`, and its password works at once in the
// running server.
func TestUserUnlockFromTheCLI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		base := c.serveBinary(t)
		const pw = "bobs-real-password"
		if r := c.runIn(pw+"\n", "user", "create", "--username", "bob", "--email", "bob@example.com", "--password-stdin"); r.code != 0 {
			t.Fatalf("user create: %s", r.stderr)
		}
		c.must("repo", "create", "bob/proj")
		if code, stderr := lsRemoteAs(t, base, "bob", pw, "bob/proj"); code != 0 {
			t.Fatalf("the password before any failure: %s", stderr)
		}
		for i := range auth.MaxFailedLogins {
			if code, _ := lsRemoteAs(t, base, "bob", fmt.Sprintf("wrong-password-%d", i), "bob/proj"); code == 0 {
				t.Fatal("a wrong password worked")
			}
		}
		if code, _ := lsRemoteAs(t, base, "bob", pw, "bob/proj"); code == 0 {
			t.Fatal("the password works on an account locked by ten wrong passwords")
		}
		if out := c.must("user", "unlock", "bob"); out != "User bob unlocked\n" {
			t.Errorf("unlock printed %q", out)
		}
		if code, stderr := lsRemoteAs(t, base, "bob", pw, "bob/proj"); code != 0 {
			t.Fatalf("the password after gitgate user unlock: %s", stderr)
		}
	})
}

func TestTwoFactorAndImpersonationFromTheCLI(t *testing.T) {
	c := newCLI(t, store.SQLite)
	base := c.serveBinary(t)
	if r := c.runIn("a-long-password-1\n", "user", "create", "--username", "alice", "--email", "alice@example.com", "--password-stdin"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	c.must("repo", "create", "alice/proj")
	if code, stderr := lsRemoteAs(t, base, "alice", "a-long-password-1", "alice/proj"); code != 0 {
		t.Fatalf("alice's password before 2FA: %s", stderr)
	}
	out := c.must("user", "2fa", "enable", "alice", "--secret", "JBSWY3DPEHPK3PXPJBSWY3DP")
	if !strings.Contains(out, "Secret: JBSWY3DPEHPK3PXPJBSWY3DP\n") || !strings.Contains(out, "otpauth://totp/gitgate:alice?") {
		t.Fatalf("2fa enable printed:\n%s", out)
	}
	code, stderr := lsRemoteAs(t, base, "alice", "a-long-password-1", "alice/proj")
	if code == 0 || !strings.Contains(stderr, "you're required to use a token instead of a password") {
		t.Fatalf("a 2FA user's password over Git: exit %d\n%s", code, stderr)
	}
	if r := c.run("user", "2fa", "enable", "alice"); r.code == 0 || !strings.Contains(r.stderr, "already enabled") {
		t.Fatalf("enabling 2FA twice: %+v", r)
	}

	// An operator's impersonation token acts as alice, until
	// impersonation is turned off instance-wide.
	imp := strings.TrimSpace(c.must("token", "create", "--user", "alice", "--name", "support", "--scopes", "read_repository", "--impersonation"))
	if code, stderr := lsRemote(t, base, imp, "alice/proj"); code != 0 {
		t.Fatalf("impersonation token: %s", stderr)
	}
	var listed []map[string]any
	if err := json.Unmarshal([]byte(c.must("token", "list", "--user", "alice", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || listed[0]["impersonation"] != true {
		t.Fatalf("token list --json does not mark the impersonation token: %v", listed)
	}
	c.must("settings", "set", "impersonation_enabled=false")
	if !waitForRefusal(t, base, imp, "alice/proj") {
		t.Fatal("an impersonation token still works after impersonation_enabled=false")
	}
	if r := c.run("token", "create", "--user", "alice", "--name", "x", "--scopes", "api", "--impersonation"); r.code == 0 {
		t.Fatal("an impersonation token was created while impersonation is disabled")
	}
}

func TestABadSettingStopsGitgateAtStartWithOneLineNamingIt(t *testing.T) {
	rows := []struct {
		env  []string
		args []string
		want string
	}{
		{[]string{"GITGATE_AUTH_LOCKOUT_WINDOW=abc"}, []string{"serve"}, `gitgate: GITGATE_AUTH_LOCKOUT_WINDOW: invalid duration "abc"`},
		{[]string{"GITGATE_TRUSTED_PROXIES=10.0.0.0/8,10.1.0.0/33"}, []string{"serve"}, `gitgate: GITGATE_TRUSTED_PROXIES: invalid address or CIDR "10.1.0.0/33"`},
		{nil, []string{"serve", "--ssh-addr", "127.0.0.1"}, `gitgate: GITGATE_SSH_ADDR (--ssh-addr): invalid address "127.0.0.1"`},
		{[]string{"GITGATE_LOG_FORMAT=xml"}, []string{"serve"}, `gitgate: GITGATE_LOG_FORMAT (--log-format): invalid value "xml"`},
		{[]string{"GITGATE_SSH_MAX_SESSIONS=-1"}, []string{"user", "block", "alice"}, `gitgate: GITGATE_SSH_MAX_SESSIONS: must be positive`},
	}
	for _, r := range rows {
		work := t.TempDir()
		cmd := exec.Command(binary, r.args...)
		cmd.Dir = work
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + work}, r.env...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 || stdout.Len() != 0 || strings.Count(stderr.String(), "\n") != 1 || !strings.HasPrefix(stderr.String(), r.want) {
			t.Errorf("%v gitgate %v: %v, stdout %q, stderr %q; want exit 2 and one line %q", r.env, r.args, err, stdout.String(), stderr.String(), r.want)
		}
		if _, err := os.Stat(filepath.Join(work, "data")); !os.IsNotExist(err) {
			t.Errorf("%v gitgate %v created the data directory before refusing its configuration", r.env, r.args)
		}
	}
}

func TestTheDataDirFlagWinsOverItsVariable(t *testing.T) {
	fromEnv, fromFlag := t.TempDir(), t.TempDir()
	for _, args := range [][]string{{"--data-dir", fromFlag, "migrate"}, {"migrate", "--data-dir=" + fromFlag}} {
		cmd := exec.Command(binary, args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GITGATE_DATA_DIR=" + fromEnv}
		// stdout only: the first run also tells, on stderr, that it
		// generated the secret key.
		out, err := cmd.Output()
		if err != nil || string(out) != "database (sqlite) is up to date\n" {
			t.Fatalf("gitgate %v: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(filepath.Join(fromFlag, "gitgate.db")); err != nil {
		t.Fatalf("no database where --data-dir points: %v", err)
	}
	if entries, _ := os.ReadDir(fromEnv); len(entries) != 0 {
		t.Fatalf("GITGATE_DATA_DIR was used although --data-dir was given: %v", entries)
	}
}

func TestHelpExitsZeroOnStdout(t *testing.T) {
	c := newCLI(t, store.SQLite)
	for _, args := range [][]string{{"help"}, {"--help"}, {}, {"token", "create", "--help"}, {"help", "user", "2fa", "enable"}} {
		r := c.run(args...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Usage:") || !strings.Contains(r.stdout, "Examples:") {
			t.Errorf("gitgate %v: exit %d, stderr %q, stdout:\n%s", args, r.code, r.stderr, r.stdout)
		}
	}
}
