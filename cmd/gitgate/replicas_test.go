package main_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/store"
)

// These tests run three real `gitgate serve` processes, as an operator
// runs replicas (docs/replicas.md): one PostgreSQL database, one data
// directory (the shared volume: repositories, host keys, hooks), one
// secret key, each process on its own ports. One set of replicas serves
// every subtest, in the order written: the last ones stop replicas.

// replica is one running `gitgate serve`.
type replica struct {
	name      string
	cmd       *exec.Cmd
	http, ssh string // bound addresses
	logPath   string
	exited    chan struct{}
	exitErr   error
}

// url is the replica's HTTP base URL.
func (r *replica) url() string { return "http://" + r.http }

// cluster is the replicas and what their clients need.
type cluster struct {
	t       *testing.T
	dataDir string
	// dbURL goes through proxy (the outage subtest cuts it); directURL
	// is for the CLI.
	dbURL, directURL string
	proxy            *testenv.Proxy
	secret           string
	home             string // HOME of git and ssh clients
	knownHosts       string
	replicas         []*replica
}

func newCluster(t *testing.T, n int) *cluster {
	t.Helper()
	direct := testdb.URL(t, store.Postgres)
	proxy := testenv.StartProxy(t)
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	c := &cluster{t: t, dataDir: t.TempDir(), directURL: direct, proxy: proxy, dbURL: proxy.Via(direct),
		secret: hex.EncodeToString(b), home: t.TempDir()}
	c.knownHosts = filepath.Join(c.home, "known_hosts")
	if err := os.WriteFile(filepath.Join(c.home, ".gitconfig"), []byte("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[protocol]\n\tversion = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The first replica migrates the database and creates root alone;
	// the others start together, as a rolling deployment's would.
	c.replicas = append(c.replicas, c.start("A"))
	var wg sync.WaitGroup
	rest := make([]*replica, n-1)
	for i := range rest {
		wg.Add(1)
		go func() { defer wg.Done(); rest[i] = c.start(string(rune('B' + i))) }()
	}
	wg.Wait()
	for _, r := range rest {
		if r == nil {
			t.FailNow()
		}
	}
	c.replicas = append(c.replicas, rest...)
	return c
}

func (c *cluster) env() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + c.home, "LANG=C",
		"GITGATE_DATA_DIR=" + c.dataDir, "GITGATE_SECRET_KEY_BASE=" + c.secret}
}

// start runs `gitgate serve` and waits until it is ready.
func (c *cluster) start(name string) *replica {
	t := c.t
	r := &replica{name: name, logPath: filepath.Join(t.TempDir(), "replica-"+name+".log"), exited: make(chan struct{})}
	r.cmd = exec.Command(binary, "serve")
	r.cmd.Env = append(c.env(), "GITGATE_DATABASE_URL="+c.dbURL,
		"GITGATE_HTTP_ADDR=127.0.0.1:0", "GITGATE_SSH_ADDR=127.0.0.1:0", "GITGATE_LOG_FORMAT=json",
		"GITGATE_INITIAL_ROOT_PASSWORD=root-password-for-tests", "GITGATE_HOUSEKEEPING_DELAY=1s",
		// The lockout subtest names its clients in X-Forwarded-For, so
		// that a ban does not lock the test itself out of 127.0.0.1.
		"GITGATE_TRUSTED_PROXIES=127.0.0.1")
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(r.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.cmd.Process.Kill()
		<-r.exited
		if t.Failed() {
			b, _ := os.ReadFile(r.logPath)
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			t.Logf("last lines of replica %s's log:\n%s", r.name, strings.Join(lines[max(0, len(lines)-30):], "\n"))
		}
	})
	addrs := make(chan [2]string, 2)
	go func() {
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			logFile.Write(append(line, '\n'))
			var ev struct{ Msg, HTTP, SSH string }
			if json.Unmarshal(line, &ev) == nil {
				switch ev.Msg {
				case "gitgate listening":
					addrs <- [2]string{"http", ev.HTTP}
				case "gitgate ssh listening":
					addrs <- [2]string{"ssh", ev.SSH}
				}
			}
		}
	}()
	go func() { r.exitErr = r.cmd.Wait(); close(r.exited) }()
	deadline := time.After(120 * time.Second)
	for r.http == "" || r.ssh == "" {
		select {
		case a := <-addrs:
			if a[0] == "http" {
				r.http = a[1]
			} else {
				r.ssh = a[1]
			}
		case <-r.exited:
			b, _ := os.ReadFile(r.logPath)
			t.Errorf("replica %s exited at start: %v\n%s", name, r.exitErr, b)
			return nil
		case <-deadline:
			t.Errorf("replica %s did not start", name)
			return nil
		}
	}
	if code := c.readiness(r); code != http.StatusOK {
		t.Errorf("replica %s: readiness %d", name, code)
		return nil
	}
	return r
}

func (c *cluster) readiness(r *replica) int {
	resp, err := http.Get(r.url() + "/-/readiness")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// cli runs a gitgate command against the replicas' database and data.
func (c *cluster) cli(stdin string, args ...string) string {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(c.env(), "GITGATE_DATABASE_URL="+c.directURL)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		c.t.Fatalf("gitgate %s: %v\n%s", strings.Join(args, " "), err, stderr)
	}
	return string(out)
}

// token creates a token with the CLI and returns its id and value.
func (c *cluster) token(args ...string) (int64, string) {
	c.t.Helper()
	var tok struct {
		ID    int64  `json:"id"`
		Token string `json:"token"`
	}
	if err := json.Unmarshal([]byte(c.cli("", append([]string{"token", "create", "--json"}, args...)...)), &tok); err != nil || tok.Token == "" {
		c.t.Fatalf("token create %v: %v", args, err)
	}
	return tok.ID, tok.Token
}

// repoDir is the bare repository of a project id on the shared volume.
func (c *cluster) repoDir(id string) string {
	sum := sha256.Sum256([]byte(id))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(c.dataDir, "repositories", "@hashed", h[0:2], h[2:4], h+".git")
}

// createRepo creates a project with the CLI and returns its directory.
func (c *cluster) createRepo(path string) string {
	c.t.Helper()
	m := regexp.MustCompile(`id (\d+)`).FindStringSubmatch(c.cli("", "repo", "create", path))
	if m == nil {
		c.t.Fatalf("repo create %s printed no id", path)
	}
	return c.repoDir(m[1])
}

// api calls the API of replica r with a token.
func (c *cluster) api(r *replica, method, path, token string, body any) (int, string) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, r.url()+"/api/v4"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s on %s: %v", method, path, r.name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// gitHTTP asks replica r's Git HTTP door for alice/proj's refs with a
// token, as git's first request does, and returns the status.
func (c *cluster) gitHTTP(r *replica, repo, token string, forwardedFor string) int {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodGet, r.url()+"/"+repo+".git/info/refs?service=git-upload-pack", nil)
	if err != nil {
		c.t.Fatal(err)
	}
	req.SetBasicAuth("git", token)
	if forwardedFor != "" {
		req.Header.Set("X-Forwarded-For", forwardedFor)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("info/refs on %s: %v", r.name, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// git runs the real git as a client.
func (c *cluster) git(dir string, env []string, args ...string) testenv.Result {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "git", args...)
	cmd.Dir = dir
	cmd.Env = append(append(c.env(), "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false"), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return testenv.Result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

func (c *cluster) mustGit(dir string, env []string, args ...string) string {
	c.t.Helper()
	r := c.git(dir, env, args...)
	if r.Err != nil {
		c.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), r.Err, r.Stderr)
	}
	return strings.TrimSpace(r.Stdout)
}

func (c *cluster) httpURL(r *replica, token, repo string) string {
	return "http://alice:" + token + "@" + r.http + "/" + repo + ".git"
}

func (c *cluster) sshURL(r *replica, repo string) string {
	return "ssh://git@" + r.ssh + "/" + repo + ".git"
}

// sshBase is OpenSSH as the tests run it; quiet hides banners.
func (c *cluster) sshBase(quiet bool) string {
	s := "ssh -F /dev/null -o IdentityAgent=none -o UserKnownHostsFile=" + c.knownHosts + " -o StrictHostKeyChecking=accept-new"
	if quiet {
		s += " -o LogLevel=ERROR"
	}
	return s
}

// keyEnv makes git log in over SSH with a key file.
func (c *cluster) keyEnv(key string, quiet bool) []string {
	return []string{"GIT_SSH_COMMAND=" + c.sshBase(quiet) + " -o BatchMode=yes -o IdentitiesOnly=yes -i " + key}
}

// tokenEnv makes git log in over SSH with a token as the password.
func (c *cluster) tokenEnv(token string) []string {
	return []string{"SSHPASS=" + token, "GIT_SSH_VARIANT=ssh", "GIT_SSH_COMMAND=sshpass -e " + c.sshBase(true) +
		" -o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1"}
}

// lsRemote reports whether git can list url's refs with env.
func (c *cluster) lsRemote(url string, env []string) bool {
	c.t.Helper()
	return c.git("", env, "ls-remote", url).Err == nil
}

// newSSHKey writes an ed25519 key pair and returns the private key's
// path and the authorized_keys line.
func newSSHKey(t *testing.T) (string, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "test key")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return path, strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey())))
}

// metric reads one sample of replica r's /-/metrics ("name{labels}").
func (c *cluster) metric(r *replica, sample string) float64 {
	c.t.Helper()
	resp, err := http.Get(r.url() + "/-/metrics")
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

// eventually polls cond until it holds, or fails after a deadline that
// is about the machine being slow, not about the property under test.
func eventually(t *testing.T, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for deadline := start.Add(60 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: never happened", what)
		}
	}
	return time.Since(start)
}

// gitChildren lists the processes working in dir (git's working
// directory is the repository it serves), as "pid command".
func gitChildren(dir string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		cwd, err := os.Readlink("/proc/" + e.Name() + "/cwd")
		if err != nil || (cwd != dir && !strings.HasPrefix(cwd, dir+"/")) {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(stat)
		if i := strings.LastIndexByte(s, ')'); i > 0 && i+2 < len(s) && s[i+2] == 'Z' {
			continue // dead, waiting to be reaped
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		out = append(out, e.Name()+" "+strings.ReplaceAll(strings.TrimSpace(string(cmdline)), "\x00", " "))
	}
	return out
}

// fsck checks a bare repository the strictest way git has.
func (c *cluster) fsck(dir string) {
	c.t.Helper()
	r := c.git("", nil, "--git-dir="+dir, "fsck", "--strict", "--no-dangling")
	if r.Err != nil || strings.Contains(r.Stdout+r.Stderr, "error") || strings.Contains(r.Stdout+r.Stderr, "missing") {
		c.t.Fatalf("git fsck --strict %s: %v\n%s%s", dir, r.Err, r.Stdout, r.Stderr)
	}
}

// randomFile writes n bytes nobody can compress.
func randomFile(t *testing.T, path string, n int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.CopyN(f, rand.Reader, int64(n)); err != nil {
		t.Fatal(err)
	}
}

func TestReplicasBehaveAsOne(t *testing.T) {
	c := newCluster(t, 3)
	A, B, C := c.replicas[0], c.replicas[1], c.replicas[2]
	others := []*replica{B, C}

	c.cli("alice-password-1\n", "user", "create", "--username", "alice", "--email", "alice@example.com", "--password-stdin")
	_, rootToken := c.token("--user", "root", "--name", "admin", "--scopes", "api")
	_, aliceAPI := c.token("--user", "alice", "--name", "api", "--scopes", "api,write_repository")
	keyPath, authorized := newSSHKey(t)
	c.cli("", "key", "add", "--user", "alice", "--title", "laptop", "--key", authorized)
	projDir := c.createRepo("alice/proj")

	t.Run("a push through A is cloned through C", func(t *testing.T) {
		wt := t.TempDir()
		c.mustGit(wt, nil, "init", "-q")
		c.mustGit(wt, nil, "commit", "-q", "--allow-empty", "-m", "first")
		c.mustGit(wt, nil, "push", "-q", c.httpURL(A, aliceAPI, "alice/proj"), "main")
		head := c.mustGit(wt, nil, "rev-parse", "HEAD")
		for door, clone := range map[string]func(string) testenv.Result{
			"http": func(dir string) testenv.Result {
				return c.git("", nil, "clone", "-q", c.httpURL(C, aliceAPI, "alice/proj"), dir)
			},
			"ssh": func(dir string) testenv.Result {
				return c.git("", c.keyEnv(keyPath, true), "clone", "-q", c.sshURL(C, "alice/proj"), dir)
			},
		} {
			dir := filepath.Join(t.TempDir(), "c")
			if r := clone(dir); r.Err != nil {
				t.Fatalf("%s clone through C: %v\n%s", door, r.Err, r.Stderr)
			}
			if got := c.mustGit(dir, nil, "rev-parse", "HEAD"); got != head {
				t.Fatalf("%s clone through C has %s, want %s", door, got, head)
			}
		}
	})

	t.Run("a push through A is listed at once by B and C from their ref snapshots", func(t *testing.T) {
		listings := func() map[string]string {
			out := map[string]string{}
			for _, r := range others {
				out[r.name+" http"] = c.mustGit("", nil, "ls-remote", c.httpURL(r, aliceAPI, "alice/proj"))
				out[r.name+" ssh"] = c.mustGit("", c.keyEnv(keyPath, true), "ls-remote", c.sshURL(r, "alice/proj"))
			}
			return out
		}
		listings() // B and C now hold a snapshot of the repository
		wt := t.TempDir()
		c.mustGit(wt, nil, "clone", "-q", c.httpURL(A, aliceAPI, "alice/proj"), "w")
		c.mustGit(filepath.Join(wt, "w"), nil, "commit", "-q", "--allow-empty", "-m", "listed")
		c.mustGit(filepath.Join(wt, "w"), nil, "push", "-q", "origin", "HEAD:refs/heads/listed")
		want := c.mustGit(filepath.Join(wt, "w"), nil, "rev-parse", "HEAD") + "\trefs/heads/listed"
		for where, got := range listings() {
			if !strings.Contains(got, want) {
				t.Errorf("ls-remote through %s after a push through A:\n%s\nwant a line %q", where, got, want)
			}
		}
		for _, r := range others {
			if n := c.metric(r, `gitgate_ref_advertisements_total{source="snapshot"}`); n == 0 {
				t.Errorf("%s served no advertisement from its ref snapshot", r.name)
			}
		}
	})

	// Tokens, keys and users are read from the database on every
	// request: the first request to B or C after a change made through
	// A (or the CLI) already sees it. Nothing caches them.
	refusedEverywhere := func(t *testing.T, what, token string) {
		t.Helper()
		for _, r := range others {
			if code := c.gitHTTP(r, "alice/proj", token, ""); code != http.StatusUnauthorized {
				t.Errorf("%s: HTTP on %s: %d, want 401 at the first request", what, r.name, code)
			}
			if c.lsRemote(c.sshURL(r, "alice/proj"), c.tokenEnv(token)) {
				t.Errorf("%s: SSH with the token as password on %s still works", what, r.name)
			}
		}
	}
	acceptedEverywhere := func(t *testing.T, what, token string) {
		t.Helper()
		for _, r := range others {
			if code := c.gitHTTP(r, "alice/proj", token, ""); code != http.StatusOK {
				t.Fatalf("%s: HTTP on %s: %d, want 200", what, r.name, code)
			}
			if !c.lsRemote(c.sshURL(r, "alice/proj"), c.tokenEnv(token)) {
				t.Fatalf("%s: SSH with the token as password on %s refused", what, r.name)
			}
		}
	}

	t.Run("a token revoked through A's API is refused by B and C", func(t *testing.T) {
		id, tok := c.token("--user", "alice", "--name", "ci", "--scopes", "read_repository")
		acceptedEverywhere(t, "before", tok)
		if code, body := c.api(A, http.MethodDelete, "/personal_access_tokens/"+strconv.FormatInt(id, 10), rootToken, nil); code != http.StatusNoContent {
			t.Fatalf("revoke through A: %d %s", code, body)
		}
		refusedEverywhere(t, "revoked through A", tok)
	})

	t.Run("a token revoked with the CLI is refused by B and C", func(t *testing.T) {
		id, tok := c.token("--user", "alice", "--name", "ci2", "--scopes", "read_repository")
		acceptedEverywhere(t, "before", tok)
		c.cli("", "token", "revoke", "--id", strconv.FormatInt(id, 10))
		refusedEverywhere(t, "revoked with the CLI", tok)
	})

	t.Run("a token rotated through A works on B and C only as its new value", func(t *testing.T) {
		id, old := c.token("--user", "alice", "--name", "ci3", "--scopes", "read_repository")
		code, body := c.api(A, http.MethodPost, "/personal_access_tokens/"+strconv.FormatInt(id, 10)+"/rotate", rootToken, nil)
		var rotated struct {
			Token string `json:"token"`
		}
		if code != http.StatusOK || json.Unmarshal([]byte(body), &rotated) != nil || rotated.Token == "" {
			t.Fatalf("rotate through A: %d %s", code, body)
		}
		refusedEverywhere(t, "the rotated-away value", old)
		acceptedEverywhere(t, "the new value", rotated.Token)
	})

	t.Run("a key removed through A is refused by B and C", func(t *testing.T) {
		path, line := newSSHKey(t)
		var key struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal([]byte(c.cli("", "key", "add", "--user", "alice", "--title", "old laptop", "--key", line, "--json")), &key); err != nil {
			t.Fatal(err)
		}
		for _, r := range others {
			if !c.lsRemote(c.sshURL(r, "alice/proj"), c.keyEnv(path, true)) {
				t.Fatalf("the new key is refused on %s", r.name)
			}
		}
		if code, body := c.api(A, http.MethodDelete, "/user/keys/"+strconv.FormatInt(key.ID, 10), aliceAPI, nil); code != http.StatusNoContent {
			t.Fatalf("remove the key through A: %d %s", code, body)
		}
		for _, r := range others {
			if c.lsRemote(c.sshURL(r, "alice/proj"), c.keyEnv(path, true)) {
				t.Errorf("the removed key still works on %s", r.name)
			}
		}
	})

	t.Run("a user blocked through A or the CLI is refused by B and C", func(t *testing.T) {
		c.cli("", "user", "create", "--username", "bob", "--email", "bob@example.com")
		_, bobToken := c.token("--user", "bob", "--name", "bob", "--scopes", "read_repository,api")
		c.cli("", "member", "add", "alice/proj", "bob", "--access", "developer")
		var bob struct {
			ID int64 `json:"id"`
		}
		_, body := c.api(A, http.MethodGet, "/user", bobToken, nil)
		if err := json.Unmarshal([]byte(body), &bob); err != nil || bob.ID == 0 {
			t.Fatalf("GET /user as bob: %s", body)
		}
		acceptedEverywhere(t, "bob before", bobToken)
		if code, body := c.api(A, http.MethodPost, "/users/"+strconv.FormatInt(bob.ID, 10)+"/block", rootToken, nil); code != http.StatusCreated {
			t.Fatalf("block bob through A: %d %s", code, body)
		}
		refusedEverywhere(t, "bob blocked through A", bobToken)
		c.cli("", "user", "unblock", "bob")
		acceptedEverywhere(t, "bob unblocked with the CLI", bobToken)
		c.cli("", "user", "block", "bob")
		refusedEverywhere(t, "bob blocked with the CLI", bobToken)
	})

	t.Run("a setting changed through A applies on B and C", func(t *testing.T) {
		// Settings are cached for half a second per process; the change
		// shows on every replica without anything else happening.
		_, imp := c.token("--user", "alice", "--name", "support", "--scopes", "read_repository", "--impersonation")
		acceptedEverywhere(t, "an impersonation token", imp)
		if code, body := c.api(A, http.MethodPut, "/application/settings", rootToken, map[string]any{"impersonation_enabled": false}); code != http.StatusOK {
			t.Fatalf("PUT /application/settings through A: %d %s", code, body)
		}
		for _, r := range others {
			took := eventually(t, "impersonation refused on "+r.name, func() bool {
				return c.gitHTTP(r, "alice/proj", imp, "") == http.StatusUnauthorized
			})
			t.Logf("impersonation_enabled=false applied on %s after %v", r.name, took.Round(time.Millisecond))
		}
		c.cli("", "settings", "set", "impersonation_enabled=true")
		for _, r := range others {
			eventually(t, "impersonation accepted again on "+r.name, func() bool {
				return c.gitHTTP(r, "alice/proj", imp, "") == http.StatusOK
			})
		}
	})

	t.Run("30 failed authentications spread over A, B and C ban the address on all three", func(t *testing.T) {
		for i, tc := range []struct {
			door    string
			client  string
			fail    func(r *replica, client string)
			refused func(r *replica, client string) bool
		}{
			{"git", "203.0.113.61",
				func(r *replica, client string) {
					if code := c.gitHTTP(r, "alice/proj", "glpat-thisIsNotAValidToken00", client); code != http.StatusUnauthorized {
						t.Fatalf("a wrong token on %s: %d, want 401", r.name, code)
					}
				},
				func(r *replica, client string) bool {
					return c.gitHTTP(r, "alice/proj", aliceAPI, client) == http.StatusForbidden
				}},
			{"api", "203.0.113.62",
				func(r *replica, client string) {
					req, _ := http.NewRequest(http.MethodGet, r.url()+"/api/v4/user", nil)
					req.Header.Set("PRIVATE-TOKEN", "glpat-thisIsNotAValidToken00")
					req.Header.Set("X-Forwarded-For", client)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusUnauthorized {
						t.Fatalf("a wrong token on %s's API: %d, want 401", r.name, resp.StatusCode)
					}
				},
				func(r *replica, client string) bool {
					req, _ := http.NewRequest(http.MethodGet, r.url()+"/api/v4/user", nil)
					req.Header.Set("PRIVATE-TOKEN", aliceAPI)
					req.Header.Set("X-Forwarded-For", client)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					return resp.StatusCode == http.StatusForbidden
				}},
		} {
			t.Run(tc.door, func(t *testing.T) {
				for n := range 30 {
					tc.fail(c.replicas[(n+i)%3], tc.client)
				}
				for _, r := range c.replicas {
					took := eventually(t, tc.door+" ban on "+r.name, func() bool { return tc.refused(r, tc.client) })
					t.Logf("%s ban seen on %s after %v", tc.door, r.name, took.Round(time.Millisecond))
				}
				// Another address is not banned anywhere.
				for _, r := range c.replicas {
					if tc.refused(r, "203.0.113.99") {
						t.Fatalf("%s: an address that never failed is refused on %s", tc.door, r.name)
					}
				}
			})
		}
	})

	t.Run("two pushes at once to one repository through A and B leave it consistent", func(t *testing.T) {
		base := filepath.Join(t.TempDir(), "base")
		c.mustGit("", nil, "clone", "-q", c.httpURL(A, aliceAPI, "alice/proj"), base)
		for round := range 3 {
			var wg sync.WaitGroup
			results := make([]testenv.Result, 2)
			heads := make([]string, 2)
			start := c.mustGit(base, nil, "rev-parse", "HEAD")
			for i, r := range []*replica{A, B} {
				wt := filepath.Join(t.TempDir(), fmt.Sprintf("w%d", i))
				c.mustGit("", nil, "clone", "-q", base, wt)
				if err := os.WriteFile(filepath.Join(wt, "f"), []byte(fmt.Sprintf("%d/%d", round, i)), 0o644); err != nil {
					t.Fatal(err)
				}
				c.mustGit(wt, nil, "add", "f")
				c.mustGit(wt, nil, "commit", "-q", "-m", fmt.Sprintf("round %d via %s", round, r.name))
				heads[i] = c.mustGit(wt, nil, "rev-parse", "HEAD")
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Same branch, and each its own branch: the first
					// race is git's ref locking, the second must land twice.
					results[i] = c.git(wt, nil, "push", "--porcelain", c.httpURL(r, aliceAPI, "alice/proj"),
						"HEAD:refs/heads/main", fmt.Sprintf("HEAD:refs/heads/r%d-%s", round, r.name))
				}()
			}
			wg.Wait()
			main := c.mustGit("", nil, "--git-dir="+projDir, "rev-parse", "refs/heads/main")
			if main != heads[0] && main != heads[1] {
				t.Fatalf("round %d: main is %s, neither push's commit (%v); it was %s", round, main, heads, start)
			}
			landed := 0
			for i, res := range results {
				if res.Err == nil {
					landed++
				} else if !strings.Contains(res.Stdout+res.Stderr, "rejected") {
					t.Fatalf("round %d: push %d failed without a clean rejection: %v\n%s%s", round, i, res.Err, res.Stdout, res.Stderr)
				}
				if got := c.mustGit("", nil, "--git-dir="+projDir, "rev-parse", fmt.Sprintf("refs/heads/r%d-%s", round, []string{"A", "B"}[i])); got != heads[i] && res.Err == nil {
					t.Fatalf("round %d: push %d's own branch is %s, want %s", round, i, got, heads[i])
				}
			}
			if landed != 1 {
				t.Fatalf("round %d: %d of the two pushes to main succeeded, want exactly one", round, landed)
			}
			c.fsck(projDir)
			c.mustGit(base, nil, "pull", "-q", "--ff-only", "origin", "main")
		}
	})

	t.Run("housekeeping asked for by pushes on all three replicas repacks once", func(t *testing.T) {
		dir := c.createRepo("alice/hk")
		idle := func() bool {
			for _, r := range c.replicas {
				if c.metric(r, "gitgate_housekeeping_pending") != 0 {
					return false
				}
			}
			return true
		}
		eventually(t, "housekeeping idle before the test", idle)
		jobs := map[string]float64{}
		repacks := 0.0
		for _, r := range c.replicas {
			jobs[r.name] = c.metric(r, `gitgate_housekeeping_jobs_total{result="ok"}`)
			repacks += c.metric(r, `gitgate_housekeeping_repacks_total{kind="full"}`) + c.metric(r, `gitgate_housekeeping_repacks_total{kind="geometric"}`)
		}
		wt := t.TempDir()
		c.mustGit(wt, nil, "init", "-q")
		for _, r := range c.replicas {
			c.mustGit(wt, nil, "commit", "-q", "--allow-empty", "-m", "via "+r.name)
			c.mustGit(wt, nil, "push", "-q", c.httpURL(r, aliceAPI, "alice/hk"), "main")
		}
		for _, r := range c.replicas {
			eventually(t, "a housekeeping job on "+r.name, func() bool {
				return c.metric(r, `gitgate_housekeeping_jobs_total{result="ok"}`) > jobs[r.name]
			})
		}
		eventually(t, "housekeeping idle after the pushes", idle)
		after := 0.0
		for _, r := range c.replicas {
			after += c.metric(r, `gitgate_housekeeping_repacks_total{kind="full"}`) + c.metric(r, `gitgate_housekeeping_repacks_total{kind="geometric"}`)
		}
		if after-repacks != 1 {
			t.Fatalf("three replicas made %v repacks of the repository, want 1", after-repacks)
		}
		if bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap")); len(bitmaps) == 0 {
			t.Fatal("no bitmap: the repository was not repacked")
		}
		c.fsck(dir)
	})

	t.Run("PostgreSQL unreachable: 503 and a clear SSH message everywhere, then recovery without restart", func(t *testing.T) {
		c.proxy.Break()
		for _, r := range c.replicas {
			if code := c.gitHTTP(r, "alice/proj", aliceAPI, ""); code != http.StatusServiceUnavailable {
				t.Errorf("Git HTTP on %s: %d, want 503", r.name, code)
			}
			if code, body := c.api(r, http.MethodGet, "/user", aliceAPI, nil); code != http.StatusServiceUnavailable {
				t.Errorf("API on %s: %d %s, want 503", r.name, code, body)
			}
			if code := c.readiness(r); code != http.StatusServiceUnavailable {
				t.Errorf("readiness on %s: %d, want 503", r.name, code)
			}
			resp, err := http.Get(r.url() + "/-/health")
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Errorf("health on %s: %v %v, want 200", r.name, resp, err)
			}
			if resp != nil {
				resp.Body.Close()
			}
			res := c.git("", c.keyEnv(keyPath, false), "ls-remote", c.sshURL(r, "alice/proj"))
			if res.Err == nil || !strings.Contains(res.Stderr, "gitgate is temporarily unavailable, please try again later") {
				t.Errorf("SSH on %s: %v\n%s\nwant the unavailable message", r.name, res.Err, res.Stderr)
			}
		}
		c.proxy.Restore()
		for _, r := range c.replicas {
			eventually(t, "readiness on "+r.name, func() bool { return c.readiness(r) == http.StatusOK })
			eventually(t, "Git HTTP on "+r.name, func() bool { return c.gitHTTP(r, "alice/proj", aliceAPI, "") == http.StatusOK })
			if !c.lsRemote(c.sshURL(r, "alice/proj"), c.keyEnv(keyPath, true)) {
				t.Errorf("SSH on %s after PostgreSQL came back: refused", r.name)
			}
		}
	})

	t.Run("SIGTERM lets a clone through the stopping replica finish while the others serve", func(t *testing.T) {
		c.createRepo("alice/big")
		wt := t.TempDir()
		c.mustGit(wt, nil, "init", "-q")
		randomFile(t, filepath.Join(wt, "blob"), 20<<20)
		c.mustGit(wt, nil, "add", "blob")
		c.mustGit(wt, nil, "commit", "-q", "-m", "big")
		head := c.mustGit(wt, nil, "rev-parse", "HEAD")
		c.mustGit(wt, nil, "push", "-q", c.httpURL(C, aliceAPI, "alice/big"), "main")

		// A fetch through B that reads slowly: upload-pack is still
		// sending when B is told to stop.
		want := fmt.Sprintf("want %s\n", head)
		body := fmt.Sprintf("%04x%s0000%04xdone\n", 4+len(want), want, 4+len("done\n"))
		req, _ := http.NewRequest(http.MethodPost, B.url()+"/alice/big.git/git-upload-pack", strings.NewReader(body))
		req.SetBasicAuth("alice", aliceAPI)
		req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("upload-pack on B: %d", resp.StatusCode)
		}
		first := make([]byte, 1<<20)
		if _, err := io.ReadFull(resp.Body, first); err != nil {
			t.Fatal(err)
		}
		if err := B.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatalf("the fetch through B was cut by SIGTERM after %d bytes: %v", len(first)+len(rest), err)
		}
		pack := append(first, rest...)
		if !bytes.HasPrefix(pack, []byte("0008NAK\nPACK")) || len(pack) < 20<<20 {
			t.Fatalf("the fetch through B got %d bytes starting %q, want the whole pack", len(pack), pack[:min(len(pack), 16)])
		}
		// The pack is whole: git can index it.
		idx := t.TempDir()
		c.mustGit(idx, nil, "init", "-q", "--bare")
		cmd := exec.Command("git", "index-pack", "--stdin")
		cmd.Dir = idx
		cmd.Stdin = bytes.NewReader(pack[len("0008NAK\n"):])
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("index the pack served while stopping: %v\n%s", err, out)
		}
		select {
		case <-B.exited:
		case <-time.After(60 * time.Second):
			t.Fatal("B did not exit after SIGTERM")
		}
		if B.exitErr != nil {
			t.Fatalf("B exited with %v after SIGTERM, want 0", B.exitErr)
		}
		for _, r := range []*replica{A, C} {
			if code := c.readiness(r); code != http.StatusOK {
				t.Fatalf("%s after B stopped: readiness %d", r.name, code)
			}
		}
	})

	t.Run("kill -9 during a 50 MB push leaves the repository fsck-clean with the ref old or new and no git behind", func(t *testing.T) {
		dir := c.createRepo("alice/killed")
		wt := t.TempDir()
		c.mustGit(wt, nil, "init", "-q")
		c.mustGit(wt, nil, "commit", "-q", "--allow-empty", "-m", "old")
		old := c.mustGit(wt, nil, "rev-parse", "HEAD")
		c.mustGit(wt, nil, "push", "-q", c.httpURL(C, aliceAPI, "alice/killed"), "main")
		randomFile(t, filepath.Join(wt, "big"), 50<<20)
		c.mustGit(wt, nil, "add", "big")
		c.mustGit(wt, nil, "commit", "-q", "-m", "new")
		newHead := c.mustGit(wt, nil, "rev-parse", "HEAD")

		push := exec.Command("git", "push", "-q", c.httpURL(A, aliceAPI, "alice/killed"), "main")
		push.Dir = wt
		push.Env = append(c.env(), "GIT_TERMINAL_PROMPT=0")
		var pushOut bytes.Buffer
		push.Stdout, push.Stderr = &pushOut, &pushOut
		if err := push.Start(); err != nil {
			t.Fatal(err)
		}
		pushDone := make(chan error, 1)
		go func() { pushDone <- push.Wait() }()
		// A's receive-pack is at work in the repository: kill A.
		eventually(t, "receive-pack running in the repository", func() bool { return len(gitChildren(dir)) > 0 })
		if err := A.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-A.exited
		pushErr := <-pushDone
		t.Logf("the push through A ended with %v", pushErr)

		eventually(t, "no git left working in the repository", func() bool {
			left := gitChildren(dir)
			if len(left) > 0 {
				t.Logf("still running: %v", left)
			}
			return len(left) == 0
		})
		c.fsck(dir)
		ref := c.mustGit("", nil, "--git-dir="+dir, "rev-parse", "refs/heads/main")
		if ref != old && ref != newHead {
			t.Fatalf("main is %s after the kill, want the old %s or the new %s", ref, old, newHead)
		}
		// C serves the repository, and takes the push that was cut.
		c.mustGit(wt, nil, "push", "-q", c.httpURL(C, aliceAPI, "alice/killed"), "main")
		c.fsck(dir)
	})
}
