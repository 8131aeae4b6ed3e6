package main_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gitgate/gitgate/store"
)

// These tests run the binary on a real pseudo-terminal, as a person at a
// shell does: tables and colour appear there (not through pipes),
// NO_COLOR turns the colour off, passwords are typed without echo, and a
// deletion asks to type what goes.

// session is the binary running on a pseudo-terminal.
type session struct {
	t      *testing.T
	master *os.File
	// slave is the test's own handle on the terminal, to see its modes;
	// closed once the command ends, so that reading the master ends.
	slave *os.File
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   bytes.Buffer
	done  chan struct{}
}

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetUint32(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// onTerminal starts gitgate with stdin, stdout and stderr on one
// pseudo-terminal.
func (c *cli) onTerminal(env []string, args ...string) *session {
	c.t.Helper()
	master, slave := openPTY(c.t)
	cmd := exec.Command(binary, args...)
	cmd.Env = append(c.env(), env...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	s := &session{t: c.t, master: master, slave: slave, cmd: cmd, done: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			s.mu.Lock()
			s.out.Write(buf[:n])
			s.mu.Unlock()
			if err != nil {
				close(s.done)
				return
			}
		}
	}()
	c.t.Cleanup(func() { _ = cmd.Process.Kill(); master.Close(); slave.Close() })
	return s
}

func (s *session) output() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.out.String()
}

// waitFor waits until the terminal shows text (a deadline against a hung
// test, not a measurement).
func (s *session) waitFor(text string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(s.output(), text) {
		if time.Now().After(deadline) {
			s.t.Fatalf("the terminal never showed %q; it shows %q", text, s.output())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// typeSecret waits until the terminal no longer echoes (the prompt is
// written just before echo goes off), then types line.
func (s *session) typeSecret(line string) {
	s.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(s.slave.Fd()), unix.TCGETS)
		if err != nil {
			s.t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			s.t.Fatal("the terminal never stopped echoing")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s.typeLine(line)
}

func (s *session) typeLine(line string) {
	s.t.Helper()
	if _, err := s.master.Write([]byte(line + "\r")); err != nil {
		s.t.Fatal(err)
	}
}

// wait returns the exit status and everything the terminal showed.
func (s *session) wait() (int, string) {
	s.t.Helper()
	err := s.cmd.Wait()
	s.slave.Close()
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		s.t.Fatal("the terminal output never ended")
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		s.t.Fatal(err)
	}
	return code, s.output()
}

func TestTablesAndColourOnlyOnATerminalAndNO_COLORRespected(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.seed()
	code, out := c.onTerminal(nil, "token", "list").wait()
	if code != 0 || !strings.Contains(out, "\x1b[1mID\x1b[0m") || !strings.Contains(out, "──") ||
		!strings.Contains(out, "\x1b[32mactive\x1b[0m") || !strings.Contains(out, "\x1b[33mexpired\x1b[0m") {
		t.Errorf("token list on a terminal: exit %d %q", code, out)
	}
	code, out = c.onTerminal([]string{"NO_COLOR=1"}, "token", "list").wait()
	if code != 0 || strings.Contains(out, "\x1b[") || !strings.Contains(out, "──") {
		t.Errorf("token list on a terminal with NO_COLOR: exit %d %q", code, out)
	}
	// token create prints the token alone, terminal or not.
	code, out = c.onTerminal(nil, "token", "create", "--user", "bob", "--name", "tty", "--scopes", "api").wait()
	if code != 0 || !regexpToken.MatchString(out) {
		t.Errorf("token create on a terminal: exit %d %q", code, out)
	}
}

var regexpToken = regexp.MustCompile(`^glpat-[0-9A-Za-z]{20,}\r\n$`)

func TestAPasswordIsTypedTwiceWithoutEchoOnATerminal(t *testing.T) {
	c := newCLI(t, store.SQLite)
	base := c.serveBinary(t)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	c.must("repo", "create", "alice/proj")
	const pw = "typed-at-the-terminal-1"

	mismatch := c.onTerminal(nil, "user", "password", "alice")
	mismatch.waitFor("New password: ")
	mismatch.typeSecret(pw)
	mismatch.waitFor("Repeat it: ")
	mismatch.typeSecret(pw + "x")
	if code, out := mismatch.wait(); code != 1 || !strings.Contains(out, "the two passwords differ") {
		t.Fatalf("two different passwords: exit %d %q", code, out)
	}
	if code, _ := lsRemoteAs(t, base, "alice", pw, "alice/proj"); code == 0 {
		t.Fatal("a password typed differently twice was set")
	}

	s := c.onTerminal(nil, "user", "password", "alice")
	s.waitFor("New password: ")
	s.typeSecret(pw)
	s.waitFor("Repeat it: ")
	s.typeSecret(pw)
	code, out := s.wait()
	if code != 0 || !strings.Contains(out, "Password of alice changed") {
		t.Fatalf("user password on a terminal: exit %d %q", code, out)
	}
	if strings.Contains(out, pw) {
		t.Errorf("the terminal echoed the password: %q", out)
	}
	if code, stderr := lsRemoteAs(t, base, "alice", pw, "alice/proj"); code != 0 {
		t.Fatalf("the typed password does not work: %s", stderr)
	}
}

func TestRepoDeleteAsksToTypeThePathOnATerminal(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	c.must("repo", "create", "alice/proj")
	dir := c.onDisk("alice/proj")

	no := c.onTerminal(nil, "repo", "delete", "alice/proj")
	no.waitFor(`Type "alice/proj" to confirm: `)
	no.typeLine("alice/other")
	if code, out := no.wait(); code != 2 || !strings.Contains(out, "not confirmed: nothing was changed") || !exists(dir) {
		t.Fatalf("a wrong confirmation: exit %d %q", code, out)
	}
	yes := c.onTerminal(nil, "repo", "delete", "alice/proj")
	yes.waitFor(`Type "alice/proj" to confirm: `)
	yes.typeLine("alice/proj")
	if code, out := yes.wait(); code != 0 || !strings.Contains(out, "Deleted repository alice/proj") || exists(dir) {
		t.Fatalf("a right confirmation: exit %d %q, directory still there: %v", code, out, exists(dir))
	}
}
