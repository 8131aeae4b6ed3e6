package sshserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/internal/testenv"
)

// The benchmarks of the SSH data path (docs/benchmarks.md#ssh-data-path).
// They serve the benchmark corpus's medium repository (150 MiB packed;
// docs/bench/run-gitgate.sh makes it) and skip without it:
//
//	go test ./sshserver -run XXX -bench 'SSH(Clone|UploadPack|Channel)' -benchtime 3x -cpuprofile cpu.out

// mediumRepo is the benchmark corpus's medium repository, or a skip.
func mediumRepo(b *testing.B) string {
	dir := os.Getenv("GITGATE_BENCH_CORPUS")
	if dir == "" {
		dir = "/tmp/gitbench-corpus"
	}
	repo := filepath.Join(dir, "medium.git")
	if _, err := os.Stat(filepath.Join(repo, "packed-refs")); err != nil {
		b.Skipf("no benchmark corpus in %s (docs/bench/run-gitgate.sh makes one): %v", dir, err)
	}
	return repo
}

// benchServer is a server holding a copy of the medium repository as
// bench/medium, and a key that may read it.
type benchServer struct {
	*sshEnv
	src  string // the corpus repository
	key  keyPair
	path string
}

func startBenchServer(b *testing.B) *benchServer {
	src := mediumRepo(b)
	e := startSSH(b, testenv.Options{})
	u := e.User("bench", testenv.UserOpts{})
	p := e.Project("bench/medium", access.Private)
	copyRepo(b, src, e.Server.Repos.DiskPath(p.ID))
	return &benchServer{sshEnv: e, src: src, key: e.userKey(u), path: "bench/medium"}
}

// copyRepo puts src's packs, refs and HEAD into the bare repository dst
// (hard links where the file system allows): as the harness's mirror push,
// without spending a minute indexing 150 MiB.
func copyRepo(t testing.TB, src, dst string) {
	t.Helper()
	for _, sub := range []string{"objects/pack", "refs"} {
		err := filepath.Walk(filepath.Join(src, sub), func(path string, fi os.FileInfo, err error) error {
			if err != nil || fi.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(src, path)
			return linkOrCopy(path, filepath.Join(dst, rel))
		})
		if err != nil {
			t.Fatalf("copy %s: %v", sub, err)
		}
	}
	for _, f := range []string{"packed-refs", "HEAD"} {
		if err := linkOrCopy(filepath.Join(src, f), filepath.Join(dst, f)); err != nil {
			t.Fatal(err)
		}
	}
}

func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	_ = os.Remove(dst)
	if os.Link(src, dst) == nil {
		return nil
	}
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}

// packSize is the size of src's packs: the bytes a full clone moves.
func packSize(t testing.TB, src string) int64 {
	t.Helper()
	packs, _ := filepath.Glob(filepath.Join(src, "objects/pack/*.pack"))
	var n int64
	for _, p := range packs {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		n += fi.Size()
	}
	return n
}

// BenchmarkSSHClone is the harness's clone-medium: a bare clone by the
// git client over OpenSSH (with the ciphers it negotiates by default),
// next to the same clone over file://, the target's yardstick.
func BenchmarkSSHClone(b *testing.B) {
	s := startBenchServer(b)
	urls := map[string]string{"file": "file://" + s.src, "ssh": s.sshURL(s.path)}
	for _, name := range []string{"file", "ssh"} {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(packSize(b, s.src))
			cpu := startCPU()
			defer cpu.report(b)
			for i := 0; b.Loop(); i++ {
				dst := filepath.Join(b.TempDir(), fmt.Sprint("clone", i))
				if r := s.GitEnv("", s.keyGit(s.key), "clone", "-q", "--bare", urls[name], dst); r.Err != nil {
					b.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
				}
				b.StopTimer()
				_ = os.RemoveAll(dst)
				b.StartTimer()
			}
		})
	}
}

// uploadPackRequest is a protocol v0 request for every ref of repo: what a
// clone asks for, written before the advertisement arrives (upload-pack
// reads it only after advertising).
func uploadPackRequest(t testing.TB, repo string) []byte {
	t.Helper()
	out, err := exec.Command("git", "--git-dir", repo, "for-each-ref", "--format=%(objectname)").Output()
	if err != nil {
		t.Fatalf("for-each-ref: %v", err)
	}
	var req bytes.Buffer
	seen := map[string]bool{}
	for _, id := range strings.Fields(string(out)) {
		if seen[id] {
			continue
		}
		line := "want " + id
		if len(seen) == 0 {
			line += " side-band-64k ofs-delta thin-pack no-progress"
		}
		seen[id] = true
		fmt.Fprintf(&req, "%04x%s\n", len(line)+5, line)
	}
	req.WriteString("00000009done\n")
	return req.Bytes()
}

// BenchmarkSSHUploadPack is the server's side of a clone alone: OpenSSH
// runs git-upload-pack, sends a clone's request and throws the pack away,
// so no client-side indexing competes with the server for the CPU. The
// in-process profile is then the door's data path only.
func BenchmarkSSHUploadPack(b *testing.B) {
	s := startBenchServer(b)
	req := uploadPackRequest(b, s.src)
	// aes128-ctr (with hmac-sha2-256-etm) is what OpenSSH chooses from
	// what gitgate offers; GCM is what it gets when told to.
	for _, cipher := range []string{"aes128-ctr", "aes128-gcm@openssh.com"} {
		b.Run(cipher, func(b *testing.B) {
			b.SetBytes(packSize(b, s.src))
			args := append(s.sshOpts(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", s.key.path,
				"-c", cipher, "-p", s.port, "git@"+s.host, "git-upload-pack '"+s.path+"'")
			cpu := startCPU()
			defer cpu.report(b)
			for b.Loop() {
				cmd := exec.Command("ssh", args...)
				cmd.Env = []string{"HOME=" + s.Home, "PATH=" + os.Getenv("PATH")}
				cmd.Stdin = bytes.NewReader(req)
				if n := runToFile(b, cmd); n < packSize(b, s.src) {
					b.Fatalf("upload-pack sent %d bytes, less than the pack", n)
				}
			}
		})
	}
}

// cpuMeter reports the CPU time a benchmark spent per operation: in this
// process (the server, and the client when it is x/crypto) and in the
// children it waited for (the OpenSSH client; git's processes are the
// server's children too). Wall time on a shared machine says little;
// CPU time is what the door costs.
type cpuMeter struct{ self, children time.Duration }

func startCPU() cpuMeter {
	var self, children syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &self)
	_ = syscall.Getrusage(syscall.RUSAGE_CHILDREN, &children)
	return cpuMeter{rusageTime(&self), rusageTime(&children)}
}

func rusageTime(r *syscall.Rusage) time.Duration {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

func (m cpuMeter) report(b *testing.B) {
	now := startCPU()
	b.ReportMetric(float64((now.self-m.self).Milliseconds())/float64(b.N), "ms-cpu-self/op")
	b.ReportMetric(float64((now.children-m.children).Milliseconds())/float64(b.N), "ms-cpu-children/op")
}

type countWriter struct{ n atomic.Int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n.Add(int64(len(p))); return len(p), nil }

// channelBytes is what BenchmarkSSHChannel moves per run: about a medium
// clone.
const channelBytes = 150 << 20

// BenchmarkSSHChannel measures golang.org/x/crypto/ssh alone, no git and
// no gitgate: a bare x/crypto server writes 150 MiB into a session
// channel, in writes of the given size, to a client over loopback that
// throws it away. With OpenSSH as the client it is the ceiling of the SSH
// door's clone throughput for that cipher.
func BenchmarkSSHChannel(b *testing.B) {
	addr := startRawServer(b)
	host, port, _ := net.SplitHostPort(addr)
	for _, client := range []string{"openssh", "xcrypto"} {
		for _, cipher := range []string{"aes128-ctr", "aes128-gcm@openssh.com", "chacha20-poly1305@openssh.com"} {
			for _, chunk := range []int{32 << 10, 256 << 10} {
				b.Run(fmt.Sprintf("%s/%s/write=%dk", client, cipher, chunk>>10), func(b *testing.B) {
					b.SetBytes(channelBytes)
					command := fmt.Sprint(chunk)
					args := []string{"-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
						"-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "PubkeyAuthentication=no",
						"-c", cipher, "-p", port, "bench@" + host, command}
					cpu := startCPU()
					defer cpu.report(b)
					for b.Loop() {
						var n int64
						if client == "openssh" {
							n = runToFile(b, exec.Command("ssh", args...))
						} else {
							n = xcryptoRead(b, addr, cipher, command)
						}
						if n != channelBytes {
							b.Fatalf("read %d bytes, want %d", n, channelBytes)
						}
					}
				})
			}
		}
	}
}

// runToFile runs a client command with its standard output in a file (so
// that no copy in this process counts as the server's CPU) and returns
// how many bytes it wrote.
func runToFile(b *testing.B, cmd *exec.Cmd) int64 {
	f, err := os.CreateTemp(b.TempDir(), "out")
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout = f
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", cmd.Path, err, errb.String())
	}
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

func xcryptoRead(b *testing.B, addr, cipher, command string) int64 {
	c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "bench", HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		Config: gossh.Config{Ciphers: []string{cipher}}, Timeout: 10 * time.Second})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		b.Fatal(err)
	}
	defer sess.Close()
	var n countWriter
	sess.Stdout = &n
	if err := sess.Run(command); err != nil {
		b.Fatal(err)
	}
	return n.n.Load()
}

// startRawServer runs a bare x/crypto SSH server: no authentication, and
// an exec request "N" writes channelBytes in writes of N bytes.
func startRawServer(b *testing.B) string {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		b.Fatal(err)
	}
	cfg := &gossh.ServerConfig{NoClientAuth: true,
		Config: gossh.Config{Ciphers: []string{"aes128-gcm@openssh.com", "aes128-ctr", "chacha20-poly1305@openssh.com"}}}
	cfg.AddHostKey(signer)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(func() { cancel(); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go serveRaw(ctx, conn, cfg)
		}
	}()
	return ln.Addr().String()
}

func serveRaw(ctx context.Context, conn net.Conn, cfg *gossh.ServerConfig) {
	defer conn.Close()
	sc, chans, reqs, err := gossh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer sc.Close()
	go gossh.DiscardRequests(reqs)
	for nc := range chans {
		if ctx.Err() != nil {
			return
		}
		ch, creqs, err := nc.Accept()
		if err != nil {
			return
		}
		go func() {
			defer ch.Close()
			for req := range creqs {
				if req.Type != "exec" {
					_ = req.Reply(false, nil)
					continue
				}
				_ = req.Reply(true, nil)
				var chunk int
				cmd := string(req.Payload[4:])
				if _, err := fmt.Sscan(cmd, &chunk); err != nil || chunk <= 0 {
					return
				}
				buf := make([]byte, chunk)
				for left := channelBytes; left > 0; left -= chunk {
					if _, err := ch.Write(buf[:min(chunk, left)]); err != nil {
						return
					}
				}
				_, _ = ch.SendRequest("exit-status", false, []byte{0, 0, 0, 0})
				return
			}
		}()
	}
}
