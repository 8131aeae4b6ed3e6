package replay_test

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/replay"
	"github.com/gitgate/gitgate/internal/testenv"
)

func TestSecondIdenticalRequestIsAnsweredFromMemory(t *testing.T) {
	var calls atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Body", string(body))
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/big") {
			_, _ = w.Write(bytes.Repeat([]byte("x"), replay.MaxRecorded+1))
			return
		}
		_, _ = io.WriteString(w, r.URL.RequestURI()+" "+string(body))
	}))
	defer upstream.Close()
	u, _ := url.Parse(upstream.URL)
	proxy := httptest.NewServer(replay.New(u))
	defer proxy.Close()

	send := func(path, body string, withAuth bool) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, proxy.URL+path, strings.NewReader(body))
		if withAuth {
			req.SetBasicAuth("u", "p")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.Header.Get("X-Body") != body {
			t.Errorf("%s: header X-Body %q, want %q", path, resp.Header.Get("X-Body"), body)
		}
		return resp.StatusCode, string(b)
	}
	for _, c := range []struct {
		path, body string
		auth       bool
		status     int
		calls      int32
	}{
		{"/a", "one", true, 200, 1},
		{"/a", "one", true, 200, 1},  // replayed
		{"/a", "two", true, 200, 2},  // another body
		{"/a", "one", false, 401, 3}, // no credentials: another answer
		{"/a", "one", false, 401, 3}, // replayed 401
		{"/big", "", true, 200, 4},
		{"/big", "", true, 200, 5}, // too big to keep
	} {
		status, body := send(c.path, c.body, c.auth)
		if status != c.status || calls.Load() != c.calls {
			t.Fatalf("%s %q auth=%v: status %d after %d upstream calls, want %d after %d", c.path, c.body, c.auth, status, calls.Load(), c.status, c.calls)
		}
		if c.status == 200 && c.path == "/a" && body != "/a "+c.body {
			t.Errorf("%s %q: body %q", c.path, c.body, body)
		}
	}
}

func TestGitLsRemoteThroughTheReplayMatchesTheServer(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	u := env.User("bench", testenv.UserOpts{})
	token := env.Token(u, auth.ScopeWriteRepository)
	env.Project("bench/small", access.Private)
	env.MustGit(env.WorkTree(), "push", "-q", env.RepoURL("bench", token, "bench/small"), "main")

	upstream, _ := url.Parse(env.URL)
	p := replay.New(upstream)
	proxy := httptest.NewServer(p)
	defer proxy.Close()
	direct := env.MustGit("", "ls-remote", env.RepoURL("bench", token, "bench/small"))
	via := strings.Replace(env.RepoURL("bench", token, "bench/small"), strings.TrimPrefix(env.URL, "http://"), strings.TrimPrefix(proxy.URL, "http://"), 1)
	for i := 0; i < 2; i++ {
		if got := env.MustGit("", "ls-remote", via); got != direct {
			t.Fatalf("ls-remote through the replay, run %d:\n%s\nwant\n%s", i+1, got, direct)
		}
	}
	if p.Replayed() < 3 {
		t.Fatalf("%d requests replayed; the second ls-remote should have been answered from memory (3 requests)", p.Replayed())
	}
}
