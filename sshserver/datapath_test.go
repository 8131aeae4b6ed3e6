package sshserver_test

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sshserver"
)

// bigWorkTree makes a repository of incompressible files, size bytes in
// all, in a few commits: its pack is about as large, many times the SSH
// channel window (2 MiB), the door's read buffer and its pipe.
func bigWorkTree(e *sshEnv, size int) string {
	dir := e.WorkTree()
	rng := rand.New(rand.NewChaCha8([32]byte{'g', 'i', 't', 'g', 'a', 't', 'e'}))
	const files = 6
	for i := range files {
		data := make([]byte, size/files)
		for j := 0; j < len(data); j += 8 {
			v := rng.Uint64()
			for k := 0; k < 8 && j+k < len(data); k++ {
				data[j+k] = byte(v >> (8 * k))
			}
		}
		if err := os.WriteFile(filepath.Join(dir, "blob"+string(rune('a'+i))), data, 0o644); err != nil {
			e.T.Fatal(err)
		}
		e.MustGit(dir, "add", ".")
		e.MustGit(dir, "commit", "-q", "-m", "blob "+string(rune('a'+i)))
	}
	return dir
}

// TestSSHLargeCloneIsByteCorrectWithEveryCipher clones a 12 MiB
// repository over SSH with each cipher offered: every object arrives
// intact (fsck checks each one's hash) and nothing is missing or extra.
func TestSSHLargeCloneIsByteCorrectWithEveryCipher(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/big", access.Private)
	src := bigWorkTree(e, 12<<20)
	// The push goes through the door's input path (channel to git's stdin).
	if r := e.GitEnv(src, e.keyGit(kp), "push", e.sshURL("alice/big"), "main:main"); r.Err != nil {
		t.Fatalf("push over ssh: %v\n%s", r.Err, r.Stderr)
	}
	wantObjects := e.MustGit(src, "rev-list", "--objects", "--all")
	wantHead := e.MustGit(src, "rev-parse", "HEAD")
	for _, cipher := range sshserver.DefaultCiphers {
		t.Run(cipher, func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "clone.git")
			env := e.keyGit(kp)
			env[0] += " -c " + cipher
			if r := e.GitEnv("", env, "clone", "-q", "--bare", e.sshURL("alice/big"), dst); r.Err != nil {
				t.Fatalf("clone with %s: %v\n%s", cipher, r.Err, r.Stderr)
			}
			if r := e.Git(dst, "fsck", "--full", "--strict", "--no-dangling"); r.Err != nil {
				t.Fatalf("fsck of the clone: %v\n%s%s", r.Err, r.Stdout, r.Stderr)
			}
			if got := e.MustGit(dst, "rev-list", "--objects", "--all"); got != wantObjects {
				t.Fatalf("clone has other objects than the source:\n%s\nwant\n%s", got, wantObjects)
			}
			if got := e.MustGit(dst, "rev-parse", "main"); got != wantHead {
				t.Fatalf("clone's main is %s, pushed %s", got, wantHead)
			}
		})
	}
}

// TestSSHOffersExactlyTheConfiguredCiphers: a client gets a connection
// only with a cipher the server offers, by default the AES ones, and with
// GITGATE_SSH_CIPHERS set only those.
func TestSSHOffersExactlyTheConfiguredCiphers(t *testing.T) {
	gcmOnly := []string{"aes128-gcm@openssh.com", "aes256-gcm@openssh.com"}
	rows := []struct {
		name       string
		configured []string // nil: the default
		client     string
		ok         bool
	}{
		{"default offers AES-GCM", nil, "aes128-gcm@openssh.com", true},
		{"default offers AES-CTR", nil, "aes128-ctr", true},
		{"default does not offer chacha20", nil, "chacha20-poly1305@openssh.com", false},
		{"GCM only offers GCM", gcmOnly, "aes256-gcm@openssh.com", true},
		{"GCM only refuses CTR", gcmOnly, "aes128-ctr", false},
		{"chacha20 when configured", []string{"chacha20-poly1305@openssh.com"}, "chacha20-poly1305@openssh.com", true},
	}
	// One server per configuration, each with a user's token to log in.
	type target struct {
		*sshEnv
		token string
	}
	servers := map[string]target{}
	for _, r := range rows {
		key := strings.Join(r.configured, ",")
		if _, ok := servers[key]; ok {
			continue
		}
		e := startSSH(t, testenv.Options{Configure: func(c *server.Config) { c.SSHCiphers = r.configured }})
		servers[key] = target{e, e.Token(e.User("alice", testenv.UserOpts{}), "read_repository")}
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := servers[strings.Join(r.configured, ",")]
			token := e.token
			c, err := gossh.Dial("tcp", e.host+":"+e.port, &gossh.ClientConfig{User: "git", Auth: []gossh.AuthMethod{gossh.Password(token)},
				HostKeyCallback: gossh.InsecureIgnoreHostKey(), Config: gossh.Config{Ciphers: []string{r.client}}})
			if !r.ok {
				if err == nil {
					c.Close()
					t.Fatalf("connected with %s, which the server must not offer", r.client)
				}
				if !strings.Contains(err.Error(), "no common algorithm") {
					t.Fatalf("refused with %v, want no common algorithm", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial with %s: %v", r.client, err)
			}
			defer c.Close()
			if res := rawRun(t, c, ""); res.exit != 0 || !strings.HasPrefix(res.stdout, "Welcome to gitgate") {
				t.Fatalf("welcome over %s: %+v", r.client, res)
			}
		})
	}
}

// TestSSHSlowClientGetsTheEndOfItsPackAfterGitExits: git may finish
// writing a clone long before a slow client has read it. The end of the
// pack, still on its way in the door, reaches the client however long
// that takes (os/exec used to give it 5 seconds after git exited, then
// cut it and report an internal error).
func TestSSHSlowClientGetsTheEndOfItsPackAfterGitExits(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	p := e.Project("alice/big", access.Private)
	src := bigWorkTree(e, 12<<20)
	if r := e.GitEnv(src, e.keyGit(kp), "push", e.sshURL("alice/big"), "main:main"); r.Err != nil {
		t.Fatalf("push over ssh: %v\n%s", r.Err, r.Stderr)
	}
	repoDir := e.Server.Repos.DiskPath(p.ID)

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
	sess.Stdin = bytes.NewReader(uploadPackRequest(t, filepath.Join(src, ".git")))
	out, err := sess.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Start("git-upload-pack 'alice/big'"); err != nil {
		t.Fatal(err)
	}
	// Read only while git runs: when it exits, the rest of the pack waits
	// in the door's pipe and the channel window.
	var got bytes.Buffer
	if _, err := io.CopyN(&got, out, 4); err != nil { // git has started
		t.Fatalf("reading the advertisement: %v", err)
	}
	for uploadPackRunning(t, repoDir) {
		if _, err := io.CopyN(&got, out, 32<<10); err != nil {
			t.Fatalf("reading while git runs: %v", err)
		}
	}
	// Longer than os/exec's WaitDelay (gitproc's 5 s), then the rest.
	time.Sleep(6 * time.Second)
	if _, err := io.Copy(&got, out); err != nil {
		t.Fatalf("reading the rest: %v", err)
	}
	if err := sess.Wait(); err != nil {
		t.Fatalf("upload-pack over ssh: %v", err)
	}
	pack := sidebandPack(t, got.Bytes())
	dst := filepath.Join(t.TempDir(), "dst.git")
	e.MustGit("", "init", "-q", "--bare", dst)
	cmd := exec.Command("git", "-C", dst, "index-pack", "--stdin", "--strict")
	cmd.Stdin = bytes.NewReader(pack)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the pack received (%d bytes) does not index: %v\n%s", len(pack), err, out)
	}
}

// uploadPackRunning reports whether a git upload-pack of dir runs.
func uploadPackRunning(t *testing.T, dir string) bool {
	t.Helper()
	procs, err := filepath.Glob("/proc/[0-9]*/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) >= 3 && slices.Contains(args, "upload-pack") && slices.Contains(args, dir) {
			return true
		}
	}
	return false
}

// sidebandPack takes a protocol v0 upload-pack response apart (the
// advertisement, NAK, then side-band-64k packets) and returns the pack
// sent on band 1.
func sidebandPack(t *testing.T, resp []byte) []byte {
	t.Helper()
	var pack bytes.Buffer
	flushes := 0
	for len(resp) > 0 {
		if len(resp) < 4 {
			t.Fatalf("truncated pkt-line header %q", resp)
		}
		n, err := strconv.ParseUint(string(resp[:4]), 16, 16)
		if err != nil {
			t.Fatalf("bad pkt-line header %q", resp[:4])
		}
		if n == 0 {
			flushes++
			resp = resp[4:]
			continue
		}
		if int(n) > len(resp) || n < 5 {
			t.Fatalf("truncated pkt-line: %d bytes announced, %d left", n, len(resp))
		}
		line := resp[4:n]
		resp = resp[n:]
		if flushes == 1 && !bytes.HasPrefix(line, []byte("NAK")) {
			switch line[0] {
			case 1:
				pack.Write(line[1:])
			case 3:
				t.Fatalf("upload-pack error: %s", line[1:])
			}
		}
	}
	if flushes != 2 {
		t.Fatalf("response ends after %d flush packets, want 2 (advertisement, pack)", flushes)
	}
	return pack.Bytes()
}
