package packcache

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// repoWithCommits makes a bare repository under root with a few commits
// and returns its path and HEAD.
func repoWithCommits(t *testing.T, root string) (string, string) {
	t.Helper()
	dir := filepath.Join(root, "r.git")
	wt := t.TempDir()
	run := func(d string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = d
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(wt, "init", "-q", "-b", "main")
	for i := 0; i < 5; i++ {
		os.WriteFile(filepath.Join(wt, fmt.Sprint(i)), bytes.Repeat([]byte(fmt.Sprint(i)), 10000), 0o644)
		run(wt, "add", ".")
		run(wt, "commit", "-q", "-m", fmt.Sprint(i))
	}
	run(wt, "clone", "-q", "--bare", wt, dir)
	return dir, run(dir, "rev-parse", "HEAD")
}

type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(r string) { c.mu.Lock(); c.m[r]++; c.mu.Unlock() }

func newCache(t *testing.T, root string) (*Cache, string, *counts) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	n := &counts{m: map[string]int{}}
	c, err := New(Config{Dir: t.TempDir(), RepoRoot: root, Socket: sock, Counted: n.add})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, sock, n
}

var packArgs = []string{"git", "pack-objects", "--revs", "--thin", "--stdout", "--delta-base-offset"}

// verifyPack checks that b is a complete, valid pack.
func verifyPack(t *testing.T, b []byte) {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	cmd := exec.Command("git", "index-pack", "--stdin")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(b)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("index-pack refused the pack (%d bytes): %v\n%s", len(b), err, out)
	}
}

func TestIdenticalConcurrentRequestsShareOnePack(t *testing.T) {
	root := t.TempDir()
	repo, head := repoWithCommits(t, root)
	_, sock, n := newCache(t, root)
	const clients = 6
	outs := make([]bytes.Buffer, clients)
	codes := make([]int, clients)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			var stderr bytes.Buffer
			codes[i] = runHook(packArgs, repo, sock, strings.NewReader(head+"\n"), &outs[i], &stderr)
		}(i)
	}
	wg.Wait()
	for i := range outs {
		if codes[i] != 0 || !bytes.Equal(outs[i].Bytes(), outs[0].Bytes()) {
			t.Fatalf("client %d: exit %d, %d bytes (client 0: %d)", i, codes[i], outs[i].Len(), outs[0].Len())
		}
	}
	verifyPack(t, outs[0].Bytes())
	if n.m[ResultMiss] != 1 || n.m[ResultShared]+n.m[ResultHit] != clients-1 {
		t.Fatalf("results %v: want one pack produced and %d shared", n.m, clients-1)
	}
	// A later identical request is served from the finished pack.
	var again bytes.Buffer
	if code := runHook(packArgs, repo, sock, strings.NewReader(head+"\n"), &again, &bytes.Buffer{}); code != 0 || !bytes.Equal(again.Bytes(), outs[0].Bytes()) {
		t.Fatalf("later request: exit %d", code)
	}
	if n.m[ResultHit] == 0 {
		t.Fatalf("results %v: the later request was not a hit", n.m)
	}
}

func TestRequestsTheCacheMustNotRunArePackedByTheHookItself(t *testing.T) {
	root := t.TempDir()
	elsewhere := t.TempDir()
	repo, head := repoWithCommits(t, elsewhere)
	_, sock, n := newCache(t, root)
	var out bytes.Buffer
	if code := runHook(packArgs, repo, sock, strings.NewReader(head+"\n"), &out, &bytes.Buffer{}); code != 0 {
		t.Fatalf("exit %d", code)
	}
	verifyPack(t, out.Bytes())
	if n.m[ResultBypass] != 1 {
		t.Fatalf("results %v: a repository outside the storage root was not bypassed", n.m)
	}
}

func TestAFailedPackFailsEveryRequestWithoutHanging(t *testing.T) {
	root := t.TempDir()
	repo, _ := repoWithCommits(t, root)
	_, sock, _ := newCache(t, root)
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var stderr bytes.Buffer
			code := runHook(packArgs, repo, sock, strings.NewReader(strings.Repeat("1", 40)+"\n"), &bytes.Buffer{}, &stderr)
			if code == 0 {
				t.Errorf("a pack of a missing object succeeded")
			}
		}()
	}
	wg.Wait()
}

func TestOnlyUploadPacksArgumentsAreAccepted(t *testing.T) {
	c := &Cache{root: "/srv/repos"}
	repo := "/srv/repos/@hashed/ab/cd/x.git"
	for _, r := range []struct {
		dir  string
		args []string
		ok   bool
	}{
		{repo, packArgs, true},
		{repo, []string{"git", "--shallow-file", "", "pack-objects", "--revs", "--shallow", "--stdout", "--filter=blob:none", "--include-tag", "--progress"}, true},
		{repo, []string{"git", "--shallow-file", repo + "/shallow_abc", "pack-objects", "--stdout"}, true},
		{repo, []string{"git", "--shallow-file", "/etc/passwd", "pack-objects", "--stdout"}, false},
		{repo, []string{"git", "pack-objects", "/tmp/out"}, false},
		{repo, []string{"git", "-c", "core.sshCommand=x", "pack-objects", "--stdout"}, false},
		{repo, []string{"git", "repack", "-a"}, false},
		{"/srv/repos/../etc", packArgs, false},
		{"/srv/reposx/a.git", packArgs, false},
		{"relative.git", packArgs, false},
	} {
		if got := c.acceptable(&request{dir: r.dir, args: r.args}); got != r.ok {
			t.Errorf("acceptable(%s, %q) = %v, want %v", r.dir, r.args, got, r.ok)
		}
	}
}
