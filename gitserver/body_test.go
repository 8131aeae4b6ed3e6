package gitserver_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
)

// bodyEnv is a server with one public repository holding one commit.
func bodyEnv(t *testing.T, configure func(*server.Config)) (*testenv.Env, string) {
	t.Helper()
	t.Parallel()
	e := testenv.Start(t, testenv.Options{Configure: configure})
	u := e.User("alice", testenv.UserOpts{})
	e.Project("alice/pub", access.Public)
	wt := e.WorkTree()
	e.MustGit(wt, "push", "-q", e.RepoURL("alice", e.Token(u, "write_repository"), "alice/pub"), "main")
	head := strings.TrimSpace(e.MustGit(wt, "rev-parse", "HEAD"))
	return e, head
}

func TestStalledRequestBodyIsCutAndItsGitKilled(t *testing.T) {
	e, head := bodyEnv(t, func(c *server.Config) { c.HTTPBodyIdleTimeout = time.Second })
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A chunked POST that sends the start of a request and then nothing,
	// keeping the connection open (slow loris).
	req := "POST /alice/pub.git/git-upload-pack HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-git-upload-pack-request\r\n" +
		"Transfer-Encoding: chunked\r\n\r\n"
	first := uploadRequest(head)[:20]
	req += fmt.Sprintf("%x\r\n%s\r\n", len(first), first)
	m := e.Server.Metrics
	before := value(m.GitProcessesStarted)
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "upload-pack to start", func() bool { return value(m.GitProcessesStarted) > before })
	waitFor(t, "the stalled upload-pack to be killed", func() bool { return value(m.GitProcesses) == 0 })
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestTimeout {
		t.Errorf("stalled body answered %d %q, want 408", resp.StatusCode, body)
	}
}

func TestSlowButSteadyRequestBodyIsNeverCut(t *testing.T) {
	e, head := bodyEnv(t, func(c *server.Config) { c.HTTPBodyIdleTimeout = 2 * time.Second })
	body := uploadRequest(head)
	pr, pw := io.Pipe()
	go func() {
		// Byte by byte, 100 ms apart: the whole body takes several times
		// the idle timeout, but every read makes progress.
		for i := 0; i < len(body); i += 4 {
			if _, err := io.WriteString(pw, body[i:min(i+4, len(body))]); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", e.URL+"/alice/pub.git/git-upload-pack", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !bytes.Contains(out, []byte("PACK")) {
		t.Fatalf("slow request answered %d, %d bytes without a pack: %q", resp.StatusCode, len(out), out[:min(len(out), 200)])
	}
}

func TestGzipBombOfHavesIsRefusedAtTheLimit(t *testing.T) {
	const limit = 64 << 10
	e, head := bodyEnv(t, func(c *server.Config) { c.UploadPackMaxRequestBytes = limit })
	// 1 MiB of have lines that gzip squeezes to a few KiB.
	var raw bytes.Buffer
	raw.WriteString(pkt("want " + head + " side-band-64k no-progress\n"))
	raw.WriteString("0000")
	have := pkt("have " + strings.Repeat("1", 40) + "\n")
	for raw.Len() < 1<<20 {
		raw.WriteString(have)
	}
	raw.WriteString(pkt("done\n"))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw.Bytes())
	zw.Close()
	if gz.Len() >= limit {
		t.Fatalf("the compressed body (%d bytes) is not below the limit", gz.Len())
	}
	req, err := http.NewRequest("POST", e.URL+"/alice/pub.git/git-upload-pack", bytes.NewReader(gz.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	req.Header.Set("Content-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(out), fmt.Sprint(limit)) {
		t.Errorf("gzip bomb answered %d %q, want 413 naming the limit", resp.StatusCode, out)
	}
	waitFor(t, "upload-pack to be gone", func() bool { return value(e.Server.Metrics.GitProcesses) == 0 })

	// Real clients stay far below the limit: clone and fetch work.
	dir := t.TempDir() + "/c"
	e.MustGit("", "clone", "-q", "-c", "protocol.version=0", e.RepoURL("", "", "alice/pub"), dir)
	e.MustGit(dir, "fetch", "-q", "origin")
}
