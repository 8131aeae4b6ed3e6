package sshserver_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
)

// metric sums the samples of a metric family (with the labels given as
// name=value pairs) from the server's registry.
func metric(t *testing.T, e *sshEnv, name string, labels ...string) float64 {
	t.Helper()
	families, err := e.Server.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	samples:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue samples
				}
			}
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// eventually polls cond until it holds, failing after a generous deadline
// (a liveness bound, not a timing assertion).
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// gitSession is a Git command started on a session of its own, its
// streams held by the test.
type gitSession struct {
	sess   *gossh.Session
	stdin  io.WriteCloser
	stdout *bufio.Reader
	stderr bytes.Buffer
}

func startGit(t *testing.T, c *gossh.Client, command string) *gitSession {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	t.Cleanup(func() { sess.Close() })
	g := &gitSession{sess: sess}
	if g.stdin, err = sess.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	// Not read until the test says so: the channel's window stays shut.
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	g.stdout = bufio.NewReader(out)
	sess.Stderr = &g.stderr
	if err := sess.Start(command); err != nil {
		t.Fatal(err)
	}
	return g
}

// firstLine reads the first line of the ref advertisement.
func (g *gitSession) firstLine(t *testing.T) string {
	t.Helper()
	line, err := g.stdout.ReadString('\n')
	if err != nil {
		t.Fatalf("ref advertisement %q: %v", line, err)
	}
	return line
}

// complete waits for the ref advertisement, then ends the negotiation as
// end does; it reports instead of failing the test, for other goroutines.
func (g *gitSession) complete() error {
	if line, err := g.stdout.ReadString('\n'); err != nil {
		return fmt.Errorf("ref advertisement %q: %w", line, err)
	}
	if _, err := io.WriteString(g.stdin, "0000"); err != nil {
		return err
	}
	g.stdin.Close()
	_, _ = io.Copy(io.Discard, g.stdout)
	if err := g.sess.Wait(); err != nil {
		return fmt.Errorf("upload-pack: %w\n%s", err, g.stderr.String())
	}
	return nil
}

// end ends an upload-pack negotiation at once (a flush: the client wants
// nothing) and waits for a clean exit.
func (g *gitSession) end(t *testing.T) {
	t.Helper()
	if _, err := io.WriteString(g.stdin, "0000"); err != nil {
		t.Fatal(err)
	}
	g.stdin.Close()
	_, _ = io.Copy(io.Discard, g.stdout)
	if err := g.sess.Wait(); err != nil {
		t.Fatalf("upload-pack: %v\n%s", err, g.stderr.String())
	}
}

func TestOperationsBeyondTheQueueAreRefusedAtOnceAndQueuedOnesCompleteOverSSH(t *testing.T) {
	t.Parallel()
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) {
		c.GitMaxConcurrent = 2
		c.GitQueueLength = 4
	}})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	if r := e.pushNew(e.keyGit(kp), e.sshURL("alice/proj"), "main:main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const cmd = "git-upload-pack 'alice/proj.git'"
	var running, queued []*gitSession
	for i := 0; i < 2; i++ {
		g := startGit(t, c, cmd)
		g.firstLine(t) // upload-pack runs and waits for the client
		running = append(running, g)
	}
	for i := 0; i < 4; i++ {
		queued = append(queued, startGit(t, c, cmd))
	}
	eventually(t, "four sessions to queue", func() bool { return metric(t, e, "gitgate_git_queue_length") == 4 })

	// The seventh is refused without waiting: no slot frees until the
	// test ends the running sessions below.
	r := rawRun(t, c, cmd)
	if want := "ERROR: " + gitop.MsgQueueFull; r.exit == 0 || strings.TrimSpace(r.stderr) != want {
		t.Fatalf("seventh session: exit %d, stderr %q; want a non-zero exit and %q", r.exit, r.stderr, want)
	}
	if got := metric(t, e, "gitgate_git_operations_refused_total", "reason", "queue_full"); got != 1 {
		t.Errorf("refused{queue_full} = %v, want 1", got)
	}
	// Real git shows the line too.
	res := e.GitEnv("", e.keyGit(kp), "ls-remote", e.sshURL("alice/proj"))
	if res.Err == nil || !strings.Contains(res.Stderr, gitop.MsgQueueFull) {
		t.Errorf("git ls-remote with the queue full: %v\n%s", res.Err, res.Stderr)
	}

	for _, g := range running {
		g.end(t)
	}
	// The queue's order is the order in which the server took the
	// sessions, not the order the test opened them: each queued session is
	// finished as soon as it gets its slot, or none could free one.
	done := make(chan error, len(queued))
	for _, g := range queued {
		go func() { done <- g.complete() }()
	}
	for range queued {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if metric(t, e, "gitgate_git_queue_length") != 0 {
		t.Error("the queue is not empty")
	}
}

// pushOverHTTP pushes a commit holding size bytes of incompressible data
// to the new private project path of u, and returns the commit's id. It
// pushes over HTTP: the tests using it set an SSH idle timeout shorter
// than the time git takes to compress a pack before it sends anything.
func (e *sshEnv) pushOverHTTP(t *testing.T, u *auth.User, path string, size int) string {
	t.Helper()
	e.Project(path, access.Private)
	wt := e.WorkTree()
	data := make([]byte, size)
	rand.New(rand.NewSource(1)).Read(data)
	if err := os.WriteFile(filepath.Join(wt, "blob.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.MustGit(wt, "add", "blob.bin")
	e.MustGit(wt, "commit", "-q", "-m", "data")
	e.MustGit(wt, "push", "-q", e.RepoURL(u.Username, e.Token(u, "write_repository"), path), "main")
	return strings.TrimSpace(e.MustGit(wt, "rev-parse", "HEAD"))
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// nothingLeftBehind waits until no git process of the server is left and
// the test process has no more pipes and sockets open than before.
func nothingLeftBehind(t *testing.T, e *sshEnv, fdsBefore int) {
	t.Helper()
	eventually(t, "the git processes to be gone", func() bool {
		return metric(t, e, "gitgate_git_processes") == 0 && len(testenv.GitProcesses()) == 0
	})
	eventually(t, fmt.Sprintf("the pipes and sockets to return to %d", fdsBefore), func() bool { return testenv.OpenPipesAndSockets() <= fdsBefore })
}

// Not parallel (nor the next two): they count the processes and file
// descriptors of the whole test process.
func TestAStalledSSHDownloadIsCutAndLeavesNothingBehind(t *testing.T) {
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.SSHIdleTimeout = 2 * time.Second }})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	head := e.pushOverHTTP(t, alice, "alice/big", 12<<20)
	fds := testenv.OpenPipesAndSockets()

	// A small receive buffer, so that the socket buffers hold little of
	// the pack beyond the channel's window.
	d := net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
	}}
	addr := net.JoinHostPort(e.host, e.port)
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	cc, chans, reqs, err := gossh.NewClientConn(conn, addr, &gossh.ClientConfig{User: "git",
		Auth: []gossh.AuthMethod{gossh.PublicKeys(kp.signer)}, HostKeyCallback: gossh.InsecureIgnoreHostKey()})
	if err != nil {
		t.Fatal(err)
	}
	c := gossh.NewClient(cc, chans, reqs)
	defer c.Close()
	g := startGit(t, c, "git-upload-pack 'alice/big.git'")
	// Ask for the pack, then read nothing: the window shuts and git's
	// writes block.
	if _, err := io.WriteString(g.stdin, pkt("want "+head+" side-band-64k ofs-delta\n")+"0000"+pkt("done\n")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stalled download to be cut", func() bool {
		return metric(t, e, "gitgate_git_operations_total", "transport", "ssh", "result", "client_gone") == 1
	})
	// The server closed the connection.
	if err := c.Wait(); err == nil {
		t.Log("connection closed")
	}
	c.Close()
	nothingLeftBehind(t, e, fds)
}

func TestAStalledSSHUploadIsCutAndLeavesNothingBehind(t *testing.T) {
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.SSHIdleTimeout = 2 * time.Second }})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.pushOverHTTP(t, alice, "alice/proj", 1)
	fds := testenv.OpenPipesAndSockets()

	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := startGit(t, c, "git-receive-pack 'alice/proj.git'")
	g.firstLine(t)
	go func() { _, _ = io.Copy(io.Discard, g.stdout) }()
	// The start of a command line, then nothing: a push stalled mid-upload.
	if _, err := io.WriteString(g.stdin, "00a0"+strings.Repeat("0", 40)); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the stalled push to be cut", func() bool {
		return metric(t, e, "gitgate_git_operations_total", "transport", "ssh", "service", "git-receive-pack", "result", "client_gone") == 1
	})
	_ = c.Wait()
	c.Close()
	nothingLeftBehind(t, e, fds)
}

func TestAnEndlessFetchRequestOverSSHIsCutAtTheLimit(t *testing.T) {
	const limit = 64 << 10
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.UploadPackMaxRequestBytes = limit }})
	kp := e.userKey(e.User("alice", testenv.UserOpts{}))
	e.Project("alice/proj", access.Private)
	wt := e.WorkTree()
	if r := e.GitEnv(wt, e.keyGit(kp), "push", "-q", e.sshURL("alice/proj"), "main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	head := strings.TrimSpace(e.MustGit(wt, "rev-parse", "HEAD"))
	fds := testenv.OpenPipesAndSockets()

	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	g := startGit(t, c, "git-upload-pack 'alice/proj.git'")
	go func() { _, _ = io.Copy(io.Discard, g.stdout) }()
	// A bound for the test only, should the server never cut the client.
	guard := time.AfterFunc(60*time.Second, func() { c.Close() })
	defer guard.Stop()
	sent := make(chan int64, 1)
	go func() {
		n, _ := io.WriteString(g.stdin, pkt("want "+head+" side-band-64k\n")+"0000")
		total := int64(n)
		have := pkt("have " + strings.Repeat("1", 40) + "\n")
		for {
			n, err := io.WriteString(g.stdin, have)
			total += int64(n)
			if err != nil {
				sent <- total
				return
			}
		}
	}()
	err = g.sess.Wait()
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() == 0 || !strings.Contains(g.stderr.String(), fmt.Sprint(limit)) {
		t.Fatalf("endless haves: %v, stderr %q; want a non-zero exit and a line naming the limit", err, g.stderr.String())
	}
	if total := <-sent; total > 64*limit {
		t.Errorf("the client could send %d bytes past a limit of %d", total, limit)
	}
	if got := metric(t, e, "gitgate_git_operations_total", "transport", "ssh", "service", "git-upload-pack", "result", "denied"); got != 1 {
		t.Errorf("denied ssh upload-packs = %v, want 1", got)
	}
	c.Close()
	nothingLeftBehind(t, e, fds)

	// A real fetch stays far below the limit.
	if r := e.GitEnv("", e.keyGit(kp), "clone", "-q", e.sshURL("alice/proj"), filepath.Join(t.TempDir(), "c")); r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
}

func TestSSHSessionsKeepOnlyAFewSmallGitProtocolEnvRequests(t *testing.T) {
	t.Parallel()
	e := startSSH(t, testenv.Options{})
	kp := e.userKey(e.User("alice", testenv.UserOpts{}))
	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.Setenv("LANG", "C"); err == nil {
		t.Error("an env request other than GIT_PROTOCOL was accepted")
	}
	if err := sess.Setenv("GIT_PROTOCOL", strings.Repeat("v", 2000)); err == nil {
		t.Error("an oversized env request was accepted")
	}
	accepted := 0
	for i := 0; i < 100; i++ {
		if sess.Setenv("GIT_PROTOCOL", "version=2") == nil {
			accepted++
		}
	}
	if accepted == 0 || accepted > 4 {
		t.Errorf("%d of 100 GIT_PROTOCOL requests accepted, want 1 to 4", accepted)
	}
	// The session still works.
	var out bytes.Buffer
	sess.Stdout = &out
	err = sess.Shell()
	if err == nil {
		err = sess.Wait()
	}
	if err != nil || !strings.Contains(out.String(), "Welcome to gitgate, @alice!") {
		t.Errorf("session after the env requests: %v %q", err, out.String())
	}
}
