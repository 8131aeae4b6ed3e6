package server_test

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
)

// metricValue reads one sample of the server's metrics (0 when absent).
func metricValue(t *testing.T, env *testenv.Env, sample string) float64 {
	t.Helper()
	resp, err := http.Get(env.URL + "/-/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestThePackCacheKeepsPacksWithinItsSizeCap(t *testing.T) {
	for _, tc := range []struct {
		name          string
		maxBytes      int
		hits, tooBig  float64
		bytesOnDiskOK func(float64) bool
	}{
		{"a pack within the cap is kept and served again", 1 << 30, 1, 0, func(b float64) bool { return b > 0 && b < 1<<20 }},
		{"a pack bigger than the cap is streamed but not kept", 64, 0, 2, func(b float64) bool { return b == 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.PackCacheMaxBytes = tc.maxBytes }})
			alice := env.User("alice", testenv.UserOpts{})
			env.Project("alice/proj", access.Public)
			env.MustGit(env.WorkTree(), "push", "-q", env.RepoURL("alice", env.Token(alice, auth.ScopeWriteRepository), "alice/proj"), "main")
			for i := range 2 {
				dir := filepath.Join(t.TempDir(), fmt.Sprint(i))
				env.MustGit("", "clone", "-q", env.RepoURL("", "", "alice/proj"), dir)
				if got := env.MustGit(dir, "cat-file", "-p", "HEAD:README.md"); got != "# test\n" {
					t.Fatalf("clone %d: README.md is %q", i, got)
				}
			}
			hits := metricValue(t, env, `gitgate_pack_cache_requests_total{result="hit"}`)
			tooBig := metricValue(t, env, `gitgate_pack_cache_evictions_total{reason="too_big"}`)
			bytes := metricValue(t, env, `gitgate_pack_cache_bytes`)
			if hits != tc.hits || tooBig != tc.tooBig || !tc.bytesOnDiskOK(bytes) {
				t.Fatalf("hits %v, deleted as too big %v, bytes on disk %v; want %v hits, %v too big", hits, tooBig, bytes, tc.hits, tc.tooBig)
			}
		})
	}
}
