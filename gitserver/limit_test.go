package gitserver_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
)

// gathered sums the samples of a metric family (with the labels given
// as name=value pairs) from the server's registry.
func gathered(t *testing.T, e *testenv.Env, name string, labels ...string) float64 {
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
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metrics
				}
			}
			switch {
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// heldFetch is a raw upload-pack POST whose body is sent only in part:
// once admitted, its git waits for the rest, holding a slot of the
// operation limiter until finish sends it.
type heldFetch struct {
	conn net.Conn
	rest string
}

func holdFetch(t *testing.T, e *testenv.Env, repo, head string) *heldFetch {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	body := uploadRequest(head)
	first := body[:20]
	req := "POST /" + repo + ".git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n", len(first), first)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	return &heldFetch{conn: conn, rest: fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body)-20, body[20:])}
}

// finish sends the rest of the body and returns the response's status
// and body.
func (h *heldFetch) finish(t *testing.T) (int, string) {
	t.Helper()
	if _, err := io.WriteString(h.conn, h.rest); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(h.conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// postFetch POSTs a whole upload-pack request and returns the response.
func postFetch(t *testing.T, e *testenv.Env, repo, head string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("POST", e.URL+"/"+repo+".git/git-upload-pack", strings.NewReader(uploadRequest(head)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestOperationsBeyondTheQueueAreRefusedAtOnceAndQueuedOnesCompleteOverHTTP(t *testing.T) {
	e, head := bodyEnv(t, func(c *server.Config) {
		c.GitMaxConcurrent = 2
		c.GitQueueLength = 4
	})
	running := e.Server.Metrics.GitProcesses
	waits := gathered(t, e, "gitgate_git_queue_wait_seconds")
	denied := gathered(t, e, "gitgate_git_operations_total", "transport", "http", "result", "denied")
	var held []*heldFetch
	for i := 0; i < 2; i++ {
		held = append(held, holdFetch(t, e, "alice/pub", head))
	}
	waitFor(t, "two upload-packs to run", func() bool { return value(running) == 2 })
	// One at a time, so that the queue's order is the order finished
	// below: a fetch given a slot waits for the rest of its body.
	for i := 0; i < 4; i++ {
		held = append(held, holdFetch(t, e, "alice/pub", head))
		waitFor(t, "the fetch to queue", func() bool { return gathered(t, e, "gitgate_git_queue_length") == float64(i+1) })
	}

	// The seventh: refused without waiting for a slot, which no one frees
	// until the held fetches are finished below.
	resp, body := postFetch(t, e, "alice/pub", head)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		strings.TrimSpace(body) != gitop.MsgQueueFull {
		t.Fatalf("seventh fetch: %d Retry-After %q %q, want 503 with Retry-After and %q", resp.StatusCode,
			resp.Header.Get("Retry-After"), body, gitop.MsgQueueFull)
	}
	// git shows the line: the advertisement is refused like the RPC.
	r := e.Git("", "ls-remote", e.RepoURL("", "", "alice/pub"))
	if r.Err == nil || !strings.Contains(r.Stderr, gitop.MsgQueueFull) {
		t.Fatalf("git ls-remote with the queue full: %v\n%s", r.Err, r.Stderr)
	}
	if got := gathered(t, e, "gitgate_git_operations_refused_total", "reason", "queue_full"); got != 2 {
		t.Errorf("refused{queue_full} = %v, want 2", got)
	}
	if got := gathered(t, e, "gitgate_git_operations_total", "transport", "http", "result", "denied") - denied; got != 2 {
		t.Errorf("denied http operations = %v, want 2", got)
	}
	if value(running) != 2 || gathered(t, e, "gitgate_git_queue_length") != 4 {
		t.Fatal("the refusals changed what runs or waits")
	}

	// As slots free up, the queued fetches run and complete.
	for i, h := range held {
		code, out := h.finish(t)
		if code != http.StatusOK || !strings.Contains(out, "PACK") {
			t.Errorf("held fetch %d: %d, %d bytes without a pack", i, code, len(out))
		}
	}
	if got := gathered(t, e, "gitgate_git_queue_wait_seconds") - waits; got != 6 {
		t.Errorf("%v waits observed, want 6", got)
	}
	waitFor(t, "every upload-pack to end", func() bool { return value(running) == 0 })
	// And the server serves again.
	dir := filepath.Join(t.TempDir(), "c")
	e.MustGit("", "clone", "-q", e.RepoURL("", "", "alice/pub"), dir)
}

func TestAFullRepositoryQueuesOnlyItsOwnOperationsOverHTTP(t *testing.T) {
	e, head := bodyEnv(t, func(c *server.Config) {
		c.GitMaxConcurrent = 4
		c.GitMaxPerRepo = 1
	})
	u := e.User("bob", testenv.UserOpts{})
	e.Project("bob/other", access.Public)
	e.MustGit(e.WorkTree(), "push", "-q", e.RepoURL("bob", e.Token(u, "write_repository"), "bob/other"), "main")

	first := holdFetch(t, e, "alice/pub", head)
	waitFor(t, "the first fetch to run", func() bool { return value(e.Server.Metrics.GitProcesses) == 1 })
	second := holdFetch(t, e, "alice/pub", head)
	waitFor(t, "the second fetch of the same repository to queue", func() bool {
		return gathered(t, e, "gitgate_git_queue_length") == 1
	})
	// Another repository is not held up.
	e.MustGit("", "clone", "-q", e.RepoURL("", "", "bob/other"), filepath.Join(t.TempDir(), "other"))
	if gathered(t, e, "gitgate_git_queue_length") != 1 {
		t.Fatal("the queued fetch left the queue while its repository was busy")
	}
	for i, h := range []*heldFetch{first, second} {
		if code, out := h.finish(t); code != http.StatusOK || !strings.Contains(out, "PACK") {
			t.Errorf("fetch %d: %d %q", i, code, out[:min(len(out), 200)])
		}
	}
}

func TestAnOperationWaitingTooLongIsRefusedOverHTTP(t *testing.T) {
	e, head := bodyEnv(t, func(c *server.Config) {
		c.GitMaxConcurrent = 1
		c.GitQueueTimeout = 100 * time.Millisecond
	})
	held := holdFetch(t, e, "alice/pub", head)
	waitFor(t, "the first fetch to run", func() bool { return value(e.Server.Metrics.GitProcesses) == 1 })
	resp, body := postFetch(t, e, "alice/pub", head)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
		strings.TrimSpace(body) != gitop.MsgQueueTimeout {
		t.Fatalf("fetch behind a held one: %d %q, want 503 %q", resp.StatusCode, body, gitop.MsgQueueTimeout)
	}
	if got := gathered(t, e, "gitgate_git_operations_refused_total", "reason", "timeout"); got != 1 {
		t.Errorf("refused{timeout} = %v, want 1", got)
	}
	if code, _ := held.finish(t); code != http.StatusOK {
		t.Errorf("held fetch: %d", code)
	}
}

// bigRepo pushes a commit holding size bytes of incompressible data to a
// new public project and returns its commit id: a pack larger than what
// the kernel's socket buffers and an SSH channel window hold.
func bigRepo(t *testing.T, e *testenv.Env, path string, size int) string {
	t.Helper()
	ns, _, _ := strings.Cut(path, "/")
	u := e.User(ns, testenv.UserOpts{})
	e.Project(path, access.Public)
	wt := e.WorkTree()
	data := make([]byte, size)
	rand.New(rand.NewSource(1)).Read(data)
	if err := os.WriteFile(filepath.Join(wt, "blob.bin"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	e.MustGit(wt, "add", "blob.bin")
	e.MustGit(wt, "commit", "-q", "-m", "big")
	e.MustGit(wt, "push", "-q", e.RepoURL(ns, e.Token(u, "write_repository"), path), "main")
	return strings.TrimSpace(e.MustGit(wt, "rev-parse", "HEAD"))
}

// noneLeftBehind waits until no git process of the server is left and
// the test process has no more file descriptors open than before.
func noneLeftBehind(t *testing.T, running prometheus.Gauge, fdsBefore int) {
	t.Helper()
	waitFor(t, "the git processes to be gone", func() bool {
		return value(running) == 0 && len(testenv.GitProcesses()) == 0
	})
	waitFor(t, fmt.Sprintf("the file descriptors to return to %d", fdsBefore), func() bool { return testenv.OpenFDs() <= fdsBefore })
}

// Not parallel: it counts the processes and file descriptors of the
// whole test process.
func TestAStalledHTTPDownloadIsCutAndLeavesNothingBehind(t *testing.T) {
	e := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.HTTPResponseIdleTimeout = 300 * time.Millisecond }})
	head := bigRepo(t, e, "alice/big", 12<<20)
	// A first fetch read to the end warms up what the server keeps open
	// (database connections, the pack cache).
	if resp, body := postFetch(t, e, "alice/big", head); resp.StatusCode != http.StatusOK || len(body) < 12<<20 {
		t.Fatalf("warm-up fetch: %d, %d bytes", resp.StatusCode, len(body))
	}
	http.DefaultClient.CloseIdleConnections()
	fds := testenv.OpenFDs()
	started := value(e.Server.Metrics.GitProcessesStarted)

	// A client that asks for the pack and then reads nothing, with a
	// small receive buffer so that the server's writes block soon.
	conn, err := smallReceiveBuffer.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	body := uploadRequest(head)
	req := "POST /alice/big.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\n" +
		fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "upload-pack to start", func() bool { return value(e.Server.Metrics.GitProcessesStarted) > started })
	waitFor(t, "the stalled download to be cut", func() bool {
		return gathered(t, e, "gitgate_git_operations_total", "transport", "http", "result", "client_gone") == 1
	})
	// The server has closed the connection: what it sent ends there.
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	got, err := io.Copy(io.Discard, conn)
	if err != nil || got >= 12<<20 {
		t.Errorf("after the cut the client read %d bytes and %v, want a short response ending in EOF", got, err)
	}
	conn.Close()
	noneLeftBehind(t, e.Server.Metrics.GitProcesses, fds)
}

// smallReceiveBuffer dials with a small socket receive buffer, so that
// the server's writes block as soon as the client stops reading.
var smallReceiveBuffer = net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
	return c.Control(func(fd uintptr) { _ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096) })
}}

// A client reading slowly but steadily is never cut: the idle timeout
// bounds one write, not the download.
func TestASlowButSteadyHTTPDownloadIsNeverCut(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.HTTPResponseIdleTimeout = time.Second }})
	head := bigRepo(t, e, "alice/big", 8<<20)
	req, err := http.NewRequest("POST", e.URL+"/alice/big.git/git-upload-pack", strings.NewReader(uploadRequest(head)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	client := &http.Client{Transport: &http.Transport{DialContext: smallReceiveBuffer.DialContext}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	// 256 KiB every 100 ms: more than the socket buffers hold, so the
	// server's writes wait on the reader, and the whole response takes a
	// few times the idle timeout; but every write soon finds room.
	var out bytes.Buffer
	for {
		n, err := io.CopyN(&out, resp.Body, 256<<10)
		if err != nil || n == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !bytes.Contains(out.Bytes(), []byte("PACK")) || out.Len() < 8<<20 {
		t.Fatalf("slow download: %d bytes", out.Len())
	}
	if got := gathered(t, e, "gitgate_git_operations_total", "transport", "http", "service", "git-upload-pack", "result", "ok"); got < 1 {
		t.Errorf("the slow download was not counted ok")
	}
}
