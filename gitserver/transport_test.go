package gitserver_test

import (
	"github.com/prometheus/client_golang/prometheus"

	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
	"github.com/gitgate/gitgate/throttle"
)

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// uploadRequest is a v0 upload-pack request wanting the commit id.
func uploadRequest(id string) string {
	return pkt("want "+id+" side-band-64k ofs-delta\n") + "0000" + pkt("done\n")
}

func TestShallowAndPartialClones(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	dir, r := f.clone(t, f.url("reporter", "grp/private"))
	if r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	_ = dir
	wt := f.WorkTree()
	for i := range 3 {
		f.commit(t, wt, fmt.Sprintf("f%d", i), "x")
	}
	f.MustGit(wt, "push", "-q", "--force", f.url("boss", "grp/private"), "main:refs/heads/history")
	for _, v := range []string{"0", "2"} {
		t.Run("shallow v"+v, func(t *testing.T) {
			dir, r := f.clone(t, f.url("reporter", "grp/private"), "-c", "protocol.version="+v, "--depth=1", "--branch=history")
			if r.Err != nil {
				t.Fatalf("shallow clone: %v\n%s", r.Err, r.Stderr)
			}
			if n := strings.TrimSpace(f.MustGit(dir, "rev-list", "--count", "HEAD")); n != "1" {
				t.Fatalf("shallow clone has %s commits, want 1", n)
			}
			f.MustGit(dir, "-c", "protocol.version="+v, "fetch", "-q", "--deepen=2")
			if n := strings.TrimSpace(f.MustGit(dir, "rev-list", "--count", "HEAD")); n != "3" {
				t.Fatalf("after --deepen=2: %s commits, want 3", n)
			}
		})
		t.Run("partial v"+v, func(t *testing.T) {
			dir, r := f.clone(t, f.url("reporter", "grp/private"), "-c", "protocol.version="+v, "--filter=blob:none", "--branch=history")
			if r.Err != nil {
				t.Fatalf("partial clone: %v\n%s", r.Err, r.Stderr)
			}
			if got := strings.TrimSpace(f.MustGit(dir, "config", "remote.origin.partialclonefilter")); got != "blob:none" {
				t.Fatalf("partialclonefilter = %q", got)
			}
			// Blobs come on demand through the same endpoint.
			if got := f.MustGit(dir, "show", "HEAD:f2"); got != "x" {
				t.Fatalf("lazy blob fetch returned %q", got)
			}
		})
	}
}

func TestBannedAddressIsRefusedEvenWithACorrectCredential(t *testing.T) {
	f := newFixture(t, store.SQLite, func(c *server.Config) { c.AuthLockoutFailures = 3 })
	for range 3 {
		checkAnswer(t, f, "grp/private", fetch, basic("x", "glpat-thisisnotarealtokenatall1"), denied)
	}
	resp, body := f.do(t, "GET", "/grp/private.git/info/refs?service="+fetch, basic("x", f.tokens["developer"]), nil)
	if resp.StatusCode != 403 || strings.TrimSpace(body) != throttle.Message {
		t.Fatalf("banned address with a valid token: %d %q", resp.StatusCode, body)
	}
	r := f.Git("", "clone", "-q", f.url("developer", "grp/private"), t.TempDir()+"/c")
	if want := "remote: " + throttle.Message; r.Err == nil || !strings.Contains(r.Stderr, want) {
		t.Fatalf("git clone while banned: err=%v\n%s\nwant %q", r.Err, r.Stderr, want)
	}
	if n := value(f.Server.Metrics.ThrottledRequests.WithLabelValues("http")); n < 2 {
		t.Errorf("throttled requests counted %v times, want ≥ 2", n)
	}
}

func TestSuccessfulAuthenticationResetsTheFailureCount(t *testing.T) {
	f := newFixture(t, store.SQLite, func(c *server.Config) { c.AuthLockoutFailures = 3 })
	for range 5 {
		for range 2 {
			checkAnswer(t, f, "grp/private", fetch, basic("x", "glpat-thisisnotarealtokenatall1"), denied)
		}
		checkAnswer(t, f, "grp/private", fetch, basic("x", f.tokens["developer"]), ok)
	}
}

func TestAnonymousProbesAreNotCountedAsFailures(t *testing.T) {
	f := newFixture(t, store.SQLite, func(c *server.Config) { c.AuthLockoutFailures = 2 })
	for range 5 {
		checkAnswer(t, f, "grp/private", fetch, nil, challenge)
	}
	checkAnswer(t, f, "grp/private", fetch, basic("x", f.tokens["developer"]), ok)
}

func TestGitProtocolHeaderInjectionIsDropped(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	cred := basic("x", f.tokens["reporter"])
	for _, bad := range []string{"version=2\tGIT_TRACE=1", "version=2,GIT_TRACE=1", "version=1:version=2 x", "version=2 --upload-pack=touch", "version=2:GIT_DIR=/etc", "version=2;x=1", "version=2:", "../version=2"} {
		t.Run(bad, func(t *testing.T) {
			h := cred.Clone()
			h.Set("Git-Protocol", bad)
			resp, body := f.do(t, "GET", "/grp/private.git/info/refs?service="+fetch, h, nil)
			if resp.StatusCode != 200 {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			// Dropped: git answers protocol v0, which starts with the service line.
			if !strings.HasPrefix(body, pkt("# service=git-upload-pack\n")+"0000") || strings.Contains(body, "version 2") {
				t.Fatalf("header %q was not dropped: %q", bad, body[:min(len(body), 80)])
			}
		})
	}
	t.Run("version=2 is passed on", func(t *testing.T) {
		h := cred.Clone()
		h.Set("Git-Protocol", "version=2")
		resp, body := f.do(t, "GET", "/grp/private.git/info/refs?service="+fetch, h, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(body, pkt("version 2\n")) {
			t.Fatalf("v2 advertisement: %d %q", resp.StatusCode, body[:min(len(body), 80)])
		}
	})
}

func TestGzipRequestBodiesAreAccepted(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	head := f.remoteRefs(t, "grp/private")["refs/heads/main"]
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	io.WriteString(zw, uploadRequest(head))
	zw.Close()
	h := basic("x", f.tokens["reporter"])
	h.Set("Content-Type", "application/x-git-upload-pack-request")
	h.Set("Content-Encoding", "gzip")
	resp, body := f.do(t, "POST", "/grp/private.git/git-upload-pack", h, &gz)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-git-upload-pack-result" {
		t.Fatalf("status %d, type %q: %q", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	if !strings.Contains(body, "PACK") {
		t.Fatalf("no pack in the answer: %q", body[:min(len(body), 200)])
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-cache") {
		t.Errorf("Cache-Control %q", cc)
	}
}

func TestMalformedRequests(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	cred := basic("x", f.tokens["reporter"])
	withType := func(ct string) http.Header { h := cred.Clone(); h.Set("Content-Type", ct); return h }
	tests := []struct {
		name, method, path string
		header             http.Header
		code               int
	}{
		{"wrong request content type", "POST", "/grp/private.git/git-upload-pack", withType("application/x-www-form-urlencoded"), 400},
		{"receive-pack content type on upload-pack", "POST", "/grp/private.git/git-upload-pack", withType("application/x-git-receive-pack-request"), 400},
		{"dumb HTTP info/refs", "GET", "/grp/private.git/info/refs", cred, 404},
		{"dumb HTTP objects", "GET", "/grp/private.git/objects/info/packs", cred, 404},
		{"dumb HTTP HEAD file", "GET", "/grp/private.git/HEAD", cred, 404},
		{"unknown service", "GET", "/grp/private.git/info/refs?service=git-upload-archive", cred, 400},
		{"GET on an RPC endpoint", "GET", "/grp/private.git/git-upload-pack", cred, 405},
		{"path traversal", "GET", "/grp/../etc/passwd/info/refs?service=git-upload-pack", cred, 404},
		{"no namespace", "GET", "/private.git/info/refs?service=git-upload-pack", cred, 404},
		// "/" is no repository: the pages door answers it (its sign-in page).
		{"root", "GET", "/", nil, 200},
		{"no repository at the root", "GET", "/info/refs?service=git-upload-pack", cred, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, tt.method, tt.path, tt.header, strings.NewReader(""))
			if resp.StatusCode != tt.code {
				t.Fatalf("status %d (%q), want %d", resp.StatusCode, body, tt.code)
			}
		})
	}
	t.Run("project path without .git and in other case", func(t *testing.T) {
		checkAnswer(t, f, "GRP/Private", fetch, cred, ok)
		resp, _ := f.do(t, "GET", "/grp/private/info/refs?service="+fetch, cred, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("without .git: %d", resp.StatusCode)
		}
	})
}

func TestNestedNamespaces(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx := context.Background()
	for _, g := range []string{"grp/sub", "grp/sub/deeper"} {
		if _, err := f.Server.Repos.CreateGroup(ctx, g, "", "private", 0); err != nil {
			t.Fatal(err)
		}
	}
	f.Project("grp/sub/deeper/project", "private")
	wt := f.WorkTree()
	// Developer on grp inherits developer on the nested project.
	f.MustGit(wt, "push", "-q", f.url("developer", "grp/sub/deeper/project"), "main:topic")
	if _, r := f.clone(t, f.url("reporter", "grp/sub/deeper/project")); r.Err != nil {
		t.Fatalf("clone nested: %v\n%s", r.Err, r.Stderr)
	}
}

func TestDatabaseDownAnswers503NotUnauthorized(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	token := f.tokens["developer"]
	f.Server.DB.Close()
	for _, cred := range []http.Header{basic("x", token), basic("developer", password), nil} {
		resp, body := f.do(t, "GET", "/grp/private.git/info/refs?service="+fetch, cred, nil)
		if resp.StatusCode != 503 {
			t.Fatalf("with the database down: %d %q, want 503", resp.StatusCode, body)
		}
	}
}

func TestSixteenParallelClones(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := f.Git("", "clone", "-q", "-c", fmt.Sprintf("protocol.version=%d", 2*(i%2)), f.url("reporter", "grp/private"), filepath.Join(t.TempDir(), "c"))
			if r.Err != nil {
				errs <- fmt.Sprintf("clone %d: %v: %s", i, r.Err, r.Stderr)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := value(f.Server.Metrics.GitProcesses); n != 0 {
		t.Errorf("%v git processes still running", n)
	}
}

// TestClientDisconnectLeavesNoGitProcess starts a clone of a large
// repository, reads a little of the pack and hangs up: the git process
// group must go away.
func TestClientDisconnectLeavesNoGitProcess(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	wt := f.WorkTree()
	big := make([]byte, 24<<20)
	rnd, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	io.ReadFull(rnd, big)
	rnd.Close()
	if err := os.WriteFile(filepath.Join(wt, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	f.MustGit(wt, "add", "big.bin")
	f.MustGit(wt, "commit", "-q", "-m", "big")
	f.MustGit(wt, "push", "-q", "--force", f.url("boss", "grp/private"), "main:big")
	head := strings.TrimSpace(f.MustGit(wt, "rev-parse", "HEAD"))

	conn, err := net.Dial("tcp", strings.TrimPrefix(f.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	body := uploadRequest(head)
	req, _ := http.NewRequest("POST", f.URL+"/grp/private.git/git-upload-pack", strings.NewReader(body))
	req.SetBasicAuth("x", f.tokens["reporter"])
	req.Header.Set("Content-Type", "application/x-git-upload-pack-request")
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("response: %v %v", resp, err)
	}
	buf := make([]byte, 4096)
	if _, err := io.ReadFull(resp.Body, buf); err != nil {
		t.Fatal(err)
	}
	if n := value(f.Server.Metrics.GitProcesses); n < 1 {
		t.Fatalf("no git process running mid-clone (gauge %v)", n)
	}
	conn.Close()
	waitFor(t, "the git process to be killed", func() bool {
		return value(f.Server.Metrics.GitProcesses) == 0
	})
	waitFor(t, "the operation to be counted as client_gone", func() bool {
		return value(f.Server.Metrics.GitOperations.WithLabelValues("http", string(gitproc.UploadPack), "client_gone")) == 1
	})
	// No process of git still has the repository open.
	dir := f.Server.Repos.DiskPath(mustFind(t, f, "grp/private").ID)
	waitFor(t, "no process in the repository", func() bool { return !processInDir(dir) })
}

func mustFind(t *testing.T, f *fixture, path string) *repos.Project {
	p, err := f.Server.Repos.Find(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// processInDir reports whether any process runs with its working
// directory in dir (git services run in the repository).
func processInDir(dir string) bool {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd"))
		if err == nil && strings.HasPrefix(cwd, dir) {
			return true
		}
	}
	return false
}

func TestMetricsCountOperationsBytesAndAuth(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	m := f.Server.Metrics
	if _, r := f.clone(t, f.url("reporter", "grp/private")); r.Err != nil {
		t.Fatal(r.Stderr)
	}
	checkAnswer(t, f, "grp/private", fetch, basic("x", "glpat-thisisnotarealtokenatall1"), denied)
	if n := value(m.GitOperations.WithLabelValues("http", fetch, "ok")); n < 1 {
		t.Errorf("ok upload-packs: %v", n)
	}
	if n := value(m.GitOperations.WithLabelValues("http", fetch, "denied")); n < 1 {
		t.Errorf("denied upload-packs: %v", n)
	}
	if n := value(m.GitBytes.WithLabelValues("http", "out")); n < 100 {
		t.Errorf("bytes out: %v", n)
	}
	if n := value(m.GitBytes.WithLabelValues("http", "in")); n < 10 {
		t.Errorf("bytes in: %v", n)
	}
	if n := value(m.AuthAttempts.WithLabelValues("http", "token", "success")); n < 1 {
		t.Errorf("successful token authentications: %v", n)
	}
	if n := value(m.AuthAttempts.WithLabelValues("http", "token", "failure")); n < 1 {
		t.Errorf("failed token authentications: %v", n)
	}
	if n := value(m.HTTPRequests.WithLabelValues("git", "200")); n < 2 {
		t.Errorf("git HTTP requests: %v", n)
	}
	if n := value(m.GitDuration.WithLabelValues("http", fetch).(prometheus.Metric)); n < 1 {
		t.Errorf("no duration observed")
	}
}
