package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
)

// scratchDirs lists the process directories under <dataDir>/cache.
func scratchDirs(t *testing.T, dataDir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dataDir, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// Replicas mounting one data directory each keep their pack cache in a
// directory of their own: a replica that restarts (and empties its
// cache) leaves alone the packs another one is serving.
func TestARestartingReplicaLeavesTheOtherReplicasPacksAlone(t *testing.T) {
	dataDir := t.TempDir()
	shared := func(c *server.Config) { c.DataDir = dataDir }
	a := testenv.Start(t, testenv.Options{Configure: shared})
	dirs := scratchDirs(t, dataDir)
	if len(dirs) != 1 {
		t.Fatalf("cache directories after one start: %v", dirs)
	}
	aPacks := filepath.Join(dataDir, "cache", dirs[0], "pack-objects")
	// A pack replica A is streaming to a clone.
	serving := filepath.Join(aPacks, "being-served.pack")
	if err := os.WriteFile(serving, []byte("PACK"), 0o600); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for range 2 {
		// Replica B starts, and later restarts.
		b, err := server.New(ctx, server.Config{DataDir: dataDir, HTTPAddr: "127.0.0.1:0", SSHAddr: "127.0.0.1:0",
			InitialRootPassword: "root-password-for-tests"}, logging.Discard())
		if err != nil {
			t.Fatal(err)
		}
		if got := scratchDirs(t, dataDir); len(got) != 2 {
			t.Fatalf("cache directories with two processes running: %v", got)
		}
		if err := b.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(serving); err != nil {
		t.Fatalf("another replica's start deleted a pack replica A serves: %v", err)
	}
	if got := scratchDirs(t, dataDir); !slices.Equal(got, dirs) {
		t.Fatalf("after B stopped, cache directories %v, want only A's %v", got, dirs)
	}

	// A still serves through its cache.
	cloneThroughPackCache(t, a)
}

// cloneThroughPackCache pushes a commit and clones it back, and checks
// that the pack came from the pack cache.
func cloneThroughPackCache(t *testing.T, env *testenv.Env) {
	t.Helper()
	alice := env.User("alice", testenv.UserOpts{})
	env.Project("alice/proj", access.Public)
	wt := env.WorkTree()
	env.MustGit(wt, "push", "-q", env.RepoURL("alice", env.Token(alice, auth.ScopeWriteRepository), "alice/proj"), "main")
	if r := env.Git("", "clone", "-q", env.RepoURL("", "", "alice/proj"), filepath.Join(t.TempDir(), "c")); r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	resp, err := http.Get(env.URL + "/-/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), `gitgate_pack_cache_requests_total{result="miss"} 1`) {
		t.Fatalf("the clone's pack did not come from the pack cache:\n%s", grepLines(string(b), "pack_cache"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestStartSweepsTheCacheDirectoriesOfProcessesLongGone(t *testing.T) {
	dataDir := t.TempDir()
	cache := filepath.Join(dataDir, "cache")
	mk := func(name string, heartbeat time.Duration) string {
		dir := filepath.Join(cache, name)
		if err := os.MkdirAll(filepath.Join(dir, "pack-objects"), 0o700); err != nil {
			t.Fatal(err)
		}
		if heartbeat > 0 {
			hb := filepath.Join(dir, ".heartbeat")
			if err := os.WriteFile(hb, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			at := time.Now().Add(-heartbeat)
			if err := os.Chtimes(hb, at, at); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	gone := mk("oldhost-41-0a0b0c0d", 2*time.Hour)
	live := mk("otherhost-7-01020304", time.Second) // a replica on another machine
	legacy := mk("pack-objects", 0)                 // an older gitgate's cache: not ours to judge
	testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.DataDir = dataDir }})
	if _, err := os.Stat(gone); err == nil {
		t.Error("the directory of a process silent for two hours is still there")
	}
	for _, dir := range []string{live, legacy} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
}

func TestAnExplicitCacheDirIsRefusedToASecondProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scratch")
	testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.CacheDir = dir }})
	if _, err := os.Stat(filepath.Join(dir, "pack-objects")); err != nil {
		t.Fatalf("the pack cache is not in GITGATE_CACHE_DIR: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := server.New(ctx, server.Config{DataDir: t.TempDir(), CacheDir: dir, HTTPAddr: "127.0.0.1:0", SSHAddr: "127.0.0.1:0",
		InitialRootPassword: "root-password-for-tests"}, logging.Discard())
	if err == nil || !strings.Contains(err.Error(), "in use by another running gitgate process") {
		t.Fatalf("second process on one GITGATE_CACHE_DIR: %v", err)
	}
}

// A data directory too deep for a unix socket path still gets a working
// pack cache: its socket moves to a short temporary directory.
func TestADeepDataDirectoryStillServesThroughThePackCache(t *testing.T) {
	deep := filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	env := testenv.Start(t, testenv.Options{Configure: func(c *server.Config) { c.DataDir = deep }})
	cloneThroughPackCache(t, env)
}
