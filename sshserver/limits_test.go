package sshserver_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/throttle"
)

func TestSSHRefusesSessionsAndConnectionsBeyondTheLimits(t *testing.T) {
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) {
		c.SSHMaxSessionsPerConn = 1
		c.SSHMaxSessionsPerAddr = 2
	}})
	kp := e.userKey(e.User("alice", testenv.UserOpts{}))
	c1, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c1.Close()
	s1, err := c1.NewSession()
	if err != nil {
		t.Fatalf("first session: %v", err)
	}
	defer s1.Close()
	if _, err := c1.NewSession(); err == nil || !strings.Contains(err.Error(), "too many concurrent sessions") {
		t.Fatalf("second session on one connection: %v, want refusal", err)
	}
	c2, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatalf("second connection: %v", err)
	}
	defer c2.Close()
	if c3, err := e.dialRaw("git", gossh.PublicKeys(kp.signer)); err == nil {
		c3.Close()
		t.Fatal("third connection from one address accepted beyond the limit of 2")
	}
	if !strings.Contains(scrape(t, e.URL), `gitgate_ssh_sessions_total{result="refused"}`) {
		t.Error("refusals not counted in gitgate_ssh_sessions_total")
	}
}

func TestSSHClosesConnectionsThatDoNotLogIn(t *testing.T) {
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.SSHLoginTimeout = 200 * time.Millisecond }})
	conn, err := net.Dial("tcp", net.JoinHostPort(e.host, e.port))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A safety bound for the test only; the server closes long before.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	banner, err := r.ReadString('\n')
	if err != nil || !strings.HasPrefix(banner, "SSH-2.0-gitgate") {
		t.Fatalf("server banner %q: %v", banner, err)
	}
	// Say nothing: the server must hang up.
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("connection not closed by the server: %v", err)
	}
}

func TestSSHShutdownLetsRunningGitOperationsFinish(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	if r := e.pushNew(e.keyGit(kp), e.sshURL("alice/proj"), "main:main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	busy, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	idle, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()

	// upload-pack advertises its refs, then waits for the client.
	sess, err := busy.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	stdin, err := sess.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("git-upload-pack 'alice/proj.git'"); err != nil {
		t.Fatal(err)
	}
	adv := bufio.NewReader(stdout)
	first, err := adv.ReadString('\n')
	if err != nil || !strings.Contains(first, "refs/heads/main") {
		t.Fatalf("ref advertisement %q: %v", first, err)
	}

	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		done <- e.Server.Shutdown(ctx)
	}()
	// The idle connection is closed by the shutdown...
	if err := idle.Wait(); err == nil {
		t.Log("idle connection closed cleanly")
	}
	// ...and no new connection is accepted.
	if c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer)); err == nil {
		c.Close()
		t.Fatal("new connection accepted during shutdown")
	}
	// The running operation finishes normally: the client ends the
	// negotiation with a flush packet and upload-pack exits 0.
	if _, err := io.WriteString(stdin, "0000"); err != nil {
		t.Fatal(err)
	}
	stdin.Close()
	_, _ = io.Copy(io.Discard, adv)
	if err := sess.Wait(); err != nil {
		t.Fatalf("upload-pack during shutdown: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

func TestSSHLocksOutAnAddressAfterRepeatedAuthFailures(t *testing.T) {
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.AuthLockoutFailures = 3 }})
	alice := e.User("alice", testenv.UserOpts{})
	token := e.Token(alice, auth.ScopeReadRepository)
	kp := e.userKey(alice)
	for i := 0; i < 3; i++ {
		if c, err := e.dialRaw("git", gossh.Password("glpat-wrongwrongwrongwrong")); err == nil {
			c.Close()
			t.Fatal("wrong token accepted")
		}
	}
	var banner string
	_, err := gossh.Dial("tcp", net.JoinHostPort(e.host, e.port), &gossh.ClientConfig{
		User: "git", Auth: []gossh.AuthMethod{gossh.Password(token), gossh.PublicKeys(kp.signer)},
		HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		BannerCallback:  func(m string) error { banner = m; return nil },
	})
	if err == nil {
		t.Fatal("banned address logged in with a correct token and key")
	}
	if !strings.Contains(banner, throttle.Message) {
		t.Errorf("banner %q does not say why", banner)
	}
	if !strings.Contains(scrape(t, e.URL), `gitgate_throttled_requests_total{transport="ssh"}`) {
		t.Error("throttled ssh attempts not counted")
	}
}

func TestSSHClosesIdleConnections(t *testing.T) {
	e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.SSHIdleTimeout = 200 * time.Millisecond }})
	kp := e.userKey(e.User("alice", testenv.UserOpts{}))
	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Wait returns when the server closes the connection.
	_ = c.Wait()
	if _, err := c.NewSession(); err == nil {
		t.Fatal("session opened on a connection closed for idleness")
	}
}
