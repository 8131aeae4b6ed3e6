package main_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// startServe starts `gitgate serve` on c's instance and returns its HTTP
// base URL and a function that stops it (SIGTERM, then wait).
func (c *cli) startServe(t *testing.T, extraEnv ...string) (string, func()) {
	t.Helper()
	httpAddr := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(append(c.env(), "GITGATE_HTTP_ADDR="+httpAddr, "GITGATE_SSH_ADDR="+freePort(t),
		"GITGATE_INITIAL_ROOT_PASSWORD=root-password-1234"), extraEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	}
	t.Cleanup(stop)
	for i := 0; i < 300; i++ {
		if resp, err := http.Get("http://" + httpAddr + "/-/readiness"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return "http://" + httpAddr, stop
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("gitgate serve never became ready:\n%s", stderr.String())
	return "", nil
}

// remoteRefs is `git ls-remote` of a repository with a token, sorted.
func remoteRefs(t *testing.T, base, token, path string) string {
	t.Helper()
	u := strings.Replace(base, "http://", "http://user:"+token+"@", 1) + "/" + path + ".git"
	out := mustGit(t, t.TempDir(), "ls-remote", u)
	lines := strings.Split(out, "\n")
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// schemaOf is the PostgreSQL schema a test database URL works in.
func schemaOf(t *testing.T, dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	s := u.Query().Get("search_path")
	if !regexp.MustCompile(`^t_[0-9a-f]+$`).MatchString(s) {
		t.Fatalf("unexpected test schema %q", s)
	}
	return s
}

func TestBackupOfARunningServerRestoresRepositoriesTokensHostKeysAndTwoFactor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		base, stop := c.startServe(t)
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("user", "create", "--username", "carol", "--email", "carol@example.com")
		c.must("user", "2fa", "enable", "carol", "--secret", totpSecret)
		c.must("group", "create", "team", "--visibility", "internal")
		c.must("repo", "create", "alice/code")
		c.must("repo", "create", "team/tools", "--visibility", "internal")
		c.must("repo", "create", "alice/empty")
		c.must("member", "add", "team/tools", "alice", "--access", "maintainer")
		c.must("member", "add", "alice/code", "carol", "--access", "reporter")
		alice := strings.TrimSpace(c.must("token", "create", "--user", "alice", "--name", "laptop", "--scopes", "read_repository,write_repository"))
		carol := strings.TrimSpace(c.must("token", "create", "--user", "carol", "--name", "ci", "--scopes", "read_repository"))

		push := func(path, msg string, refspecs ...string) {
			t.Helper()
			wt := t.TempDir()
			u := strings.Replace(base, "http://", "http://alice:"+alice+"@", 1) + "/" + path + ".git"
			mustGit(t, wt, "clone", "-q", u, ".")
			if err := os.WriteFile(filepath.Join(wt, "file.txt"), []byte(msg+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			mustGit(t, wt, "add", ".")
			mustGit(t, wt, "commit", "-q", "-m", msg)
			mustGit(t, wt, append([]string{"push", "-q", "origin"}, refspecs...)...)
		}
		push("alice/code", "first", "HEAD:main", "HEAD:refs/tags/v1", "HEAD:refs/heads/feature")
		push("team/tools", "tools", "HEAD:main")

		// Pushes go on while the backup runs: whatever each repository
		// looked like when it was bundled, it must come back whole.
		done := make(chan struct{})
		var pushers sync.WaitGroup
		pushers.Add(1)
		go func() {
			defer pushers.Done()
			for i := 0; ; i++ {
				select {
				case <-done:
					return
				default:
				}
				wt := t.TempDir()
				u := strings.Replace(base, "http://", "http://alice:"+alice+"@", 1) + "/team/tools.git"
				if _, err := git(t, wt, "clone", "-q", u, "."); err != nil {
					continue
				}
				_ = os.WriteFile(filepath.Join(wt, "n"), []byte(strings.Repeat("x", i)), 0o644)
				_, _ = git(t, wt, "add", ".")
				_, _ = git(t, wt, "commit", "-q", "-m", "during backup")
				_, _ = git(t, wt, "push", "-q", "origin", "HEAD:main")
			}
		}()
		archive := filepath.Join(t.TempDir(), "gitgate.tar.gz")
		out := c.must("backup", "--to", archive)
		close(done)
		pushers.Wait()
		if !strings.Contains(out, "backup written to "+archive+": "+string(db.Dialect())+" database, 3 repositories, 2 SSH host keys, secret key file included") {
			t.Fatalf("backup printed %q", out)
		}
		if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("the archive holds secrets and must be private: %v %v", st.Mode(), err)
		}
		if r := c.run("backup", "--to", archive); r.code == 0 || !strings.Contains(r.stderr, "already exists") {
			t.Fatalf("a second backup over the first: %+v", r)
		}
		codeRefs := remoteRefs(t, base, alice, "alice/code")
		hostKeys := c.must("ssh", "host-keys")
		stop()

		// Restore refuses a target that is not empty, with one line.
		if r := c.run("restore", archive); r.code != 1 || !strings.Contains(r.stderr, "is not empty") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("restore over the live instance: %+v", r)
		}
		target := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "restored"), dbURL: c.dbURL}
		if db.Dialect() == store.Postgres {
			r := target.run("restore", archive)
			if r.code != 1 || !strings.Contains(r.stderr, "the database is not empty") || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("restore into the backed-up database: %+v", r)
			}
			if _, err := os.Stat(target.dataDir); !os.IsNotExist(err) {
				t.Fatalf("a refused restore created the data directory: %v", err)
			}
			// The disaster: the database is gone; an empty one is left.
			if _, err := c.sql().Exec(`DROP SCHEMA ` + schemaOf(t, c.dbURL) + ` CASCADE`); err != nil {
				t.Fatal(err)
			}
		}
		out = target.must("restore", archive)
		if !strings.Contains(out, "3 repositories, 2 SSH host keys, secret key file included") {
			t.Fatalf("restore printed %q", out)
		}

		// The restored instance: same host keys, same repositories,
		// same tokens, 2FA still opens.
		if got := target.must("ssh", "host-keys"); got != hostKeys {
			t.Fatalf("host keys changed by the restore:\n%s\nwant\n%s", got, hostKeys)
		}
		if err := target.verifyTOTP(nil, "carol", totpSecret, 0); err != nil {
			t.Fatalf("carol's 2FA after the restore: %v", err)
		}
		base2, _ := target.startServe(t)
		if got := remoteRefs(t, base2, alice, "alice/code"); got != codeRefs {
			t.Fatalf("alice/code after the restore:\n%s\nwant\n%s", got, codeRefs)
		}
		for _, clone := range []struct{ user, token, path string }{
			{"alice", alice, "alice/code"}, {"alice", alice, "team/tools"}, {"alice", alice, "alice/empty"}, {"carol", carol, "alice/code"},
		} {
			dir := t.TempDir()
			u := strings.Replace(base2, "http://", "http://"+clone.user+":"+clone.token+"@", 1) + "/" + clone.path + ".git"
			if out, err := git(t, dir, "clone", "-q", u, "."); err != nil {
				t.Fatalf("%s cloning %s with the old token after the restore: %v\n%s", clone.user, clone.path, err, out)
			}
		}
		if code, _ := lsRemote(t, base2, carol, "alice/empty"); code == 0 {
			t.Fatal("carol reads the private alice/empty after the restore, which she could not before")
		}
		matches, err := filepath.Glob(filepath.Join(target.dataDir, "repositories", "@hashed", "*", "*", "*.git"))
		if err != nil || len(matches) != 3 {
			t.Fatalf("restored repositories: %v %v", matches, err)
		}
		for _, bare := range matches {
			if out, err := git(t, bare, "fsck", "--strict", "--no-dangling"); err != nil {
				t.Fatalf("restored %s is not fsck-clean: %v\n%s", bare, err, out)
			}
		}
		// The restored instance takes new pushes.
		push2 := t.TempDir()
		u := strings.Replace(base2, "http://", "http://alice:"+alice+"@", 1) + "/alice/empty.git"
		mustGit(t, push2, "clone", "-q", u, ".")
		mustGit(t, push2, "commit", "-q", "--allow-empty", "-m", "after restore")
		mustGit(t, push2, "push", "-q", "origin", "HEAD:main")
		if out := target.must("repo", "create", "alice/new-after-restore"); !strings.Contains(out, "id 4") {
			t.Fatalf("a project created after the restore: %q", out)
		}
	})
}

func TestAFailedRestoreLeavesNoDataDirectoryAndNoTables(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("repo", "create", "alice/code")
		archive := filepath.Join(t.TempDir(), "gitgate.tar.gz")
		c.must("backup", "--to", archive)
		if db.Dialect() == store.Postgres {
			if _, err := c.sql().Exec(`DROP SCHEMA ` + schemaOf(t, c.dbURL) + ` CASCADE`); err != nil {
				t.Fatal(err)
			}
		}
		whole, err := os.ReadFile(archive)
		if err != nil {
			t.Fatal(err)
		}
		target := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "restored"), dbURL: c.dbURL}
		for _, bad := range []struct {
			name, content, want string
		}{
			{"truncated", string(whole[:len(whole)*2/3]), "read the archive"},
			{"not an archive", "hello\n", "is not a gitgate backup"},
		} {
			file := filepath.Join(t.TempDir(), "bad.tar.gz")
			if err := os.WriteFile(file, []byte(bad.content), 0o600); err != nil {
				t.Fatal(err)
			}
			r := target.run("restore", file)
			if r.code != 1 || !strings.Contains(r.stderr, bad.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("%s archive: %+v", bad.name, r)
			}
			if _, err := os.Stat(target.dataDir); !os.IsNotExist(err) {
				t.Fatalf("%s archive: the failed restore left the data directory behind: %v", bad.name, err)
			}
		}
		if db.Dialect() == store.Postgres {
			var n int
			if err := c.sql().Get(&n, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1`, schemaOf(t, c.dbURL)); err != nil {
				t.Fatal(err)
			}
			if n != 0 {
				t.Fatalf("a failed restore left %d tables", n)
			}
		}
		// A restore into an empty data directory that exists keeps it.
		if err := os.Mkdir(target.dataDir, 0o750); err != nil {
			t.Fatal(err)
		}
		target.must("restore", archive)
		if out := target.must("repo", "create", "alice/second"); !strings.Contains(out, "id 2") {
			t.Fatalf("a project created after the restore: %q", out)
		}
	})
}

func TestBackupWithTheKeyInTheEnvironmentNeedsTheSameKeyToRestore(t *testing.T) {
	c := newCLI(t, store.SQLite)
	const key = "an-operator-chosen-secret-key-base-of-enough-length-0123456789"
	env := []string{"GITGATE_SECRET_KEY_BASE=" + key}
	if r := c.runEnv(env, "user", "create", "--username", "carol", "--email", "carol@example.com"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if r := c.runEnv(env, "user", "2fa", "enable", "carol", "--secret", totpSecret); r.code != 0 {
		t.Fatal(r.stderr)
	}
	archive := filepath.Join(t.TempDir(), "gitgate.tar.gz")
	r := c.runEnv(env, "backup", "--to", archive)
	if r.code != 0 || !strings.Contains(r.stdout, "secret key from GITGATE_SECRET_KEY_BASE, not included") ||
		!strings.Contains(r.stderr, "is not in the archive: keep it safe") {
		t.Fatalf("backup with the key in the environment: %+v", r)
	}
	target := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "restored")}
	for _, bad := range []struct{ env, want string }{
		{"", "set it to the same value"},
		{"GITGATE_SECRET_KEY_BASE=another-secret-key-base-of-enough-length-0123456789", "is not the key the archive's secrets are encrypted under"},
	} {
		r := target.runEnv([]string{bad.env}, "restore", archive)
		if r.code != 1 || !strings.Contains(r.stderr, bad.want) {
			t.Fatalf("restore with %q: %+v", bad.env, r)
		}
		if _, err := os.Stat(target.dataDir); !os.IsNotExist(err) {
			t.Fatalf("a refused restore created the data directory: %v", err)
		}
	}
	if r := target.runEnv(env, "restore", archive); r.code != 0 || !strings.Contains(r.stderr, "needs the same GITGATE_SECRET_KEY_BASE") {
		t.Fatalf("restore with the key: %+v", r)
	}
}

func TestWithoutThePostgreSQLToolsBackupAndRestoreSayWhichIsMissing(t *testing.T) {
	c := newCLI(t, store.Postgres)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	dir := t.TempDir()
	noTools := []string{"PATH=" + t.TempDir()}
	r := c.runEnv(noTools, "backup", "--to", filepath.Join(dir, "gitgate.tar.gz"))
	if r.code != 1 || r.stderr != "gitgate: pg_dump not found in PATH: install the PostgreSQL client tools (Debian: postgresql-client) of the server's major version or newer\n" {
		t.Fatalf("backup without pg_dump: %+v", r)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a refused backup left %v behind", entries)
	}
	archive := filepath.Join(dir, "gitgate.tar.gz")
	c.must("backup", "--to", archive)
	target := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "restored"), dbURL: testdb.URL(t, store.Postgres)}
	r = target.runEnv(noTools, "restore", archive)
	if r.code != 1 || r.stderr != "gitgate: pg_restore not found in PATH: install the PostgreSQL client tools (Debian: postgresql-client) of the server's major version or newer\n" {
		t.Fatalf("restore without pg_restore: %+v", r)
	}
	if _, err := os.Stat(target.dataDir); !os.IsNotExist(err) {
		t.Fatalf("a refused restore created the data directory: %v", err)
	}
}
