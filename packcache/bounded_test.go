package packcache

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// repoWithBranches makes a bare repository under root with n branches,
// each one commit holding size bytes of incompressible data, and returns
// its path and the branches' commits: each commit's pack is a little over
// size bytes and shares nothing with the others.
func repoWithBranches(t *testing.T, root string, n, size int) (string, []string) {
	t.Helper()
	dir := filepath.Join(root, "big.git")
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	rnd := rand.New(rand.NewSource(1))
	var heads []string
	for i := 0; i < n; i++ {
		data := make([]byte, size)
		rnd.Read(data)
		f := filepath.Join(t.TempDir(), "blob")
		if err := os.WriteFile(f, data, 0o600); err != nil {
			t.Fatal(err)
		}
		blob := run("hash-object", "-w", f)
		cmd := exec.Command("git", "mktree")
		cmd.Dir = dir
		cmd.Stdin = strings.NewReader(fmt.Sprintf("100644 blob %s\tdata%d\n", blob, i))
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		commit := run("commit-tree", "-m", fmt.Sprint(i), strings.TrimSpace(string(out)))
		run("update-ref", fmt.Sprintf("refs/heads/b%d", i), commit)
		heads = append(heads, commit)
	}
	return dir, heads
}

// evictions records the cache's gauge and eviction reasons.
type evictions struct {
	mu      sync.Mutex
	reasons map[string]int
	bytes   int64
}

func (e *evictions) evicted(r string) { e.mu.Lock(); e.reasons[r]++; e.mu.Unlock() }
func (e *evictions) sized(b int64)    { e.mu.Lock(); e.bytes = b; e.mu.Unlock() }
func (e *evictions) get() (map[string]int, int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	m := map[string]int{}
	for k, v := range e.reasons {
		m[k] = v
	}
	return m, e.bytes
}

// fakeClock is an injectable clock for the TTL.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func newBoundedCache(t *testing.T, root string, maxBytes int64, clock *fakeClock) (*Cache, string, *counts, *evictions) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "s")
	n := &counts{m: map[string]int{}}
	ev := &evictions{reasons: map[string]int{}}
	c, err := New(Config{Dir: t.TempDir(), RepoRoot: root, Socket: sock, Counted: n.add,
		MaxBytes: maxBytes, Sized: ev.sized, Evicted: ev.evicted, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, sock, n, ev
}

// fetch asks the cache for the pack of commit and checks it is whole.
func fetch(t *testing.T, repo, sock, commit string) []byte {
	t.Helper()
	var out, stderr bytes.Buffer
	if code := runHook(packArgs, repo, sock, strings.NewReader(commit+"\n"), &out, &stderr); code != 0 {
		t.Fatalf("hook exit %d: %s", code, stderr.String())
	}
	verifyPack(t, out.Bytes())
	return out.Bytes()
}

func packFiles(t *testing.T, c *Cache) int {
	t.Helper()
	names, err := os.ReadDir(c.dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(names)
}

func TestTheSizeCapDeletesTheOldestFinishedPacksFirst(t *testing.T) {
	const size = 100 << 10
	for _, tc := range []struct {
		name     string
		maxBytes int64
		fetches  []int // branches fetched in order, one clock second apart
		results  map[string]int
		evicted  map[string]int
		kept     int // pack files left on disk
	}{
		{"all fit", 10 * size, []int{0, 1, 2, 0}, map[string]int{ResultMiss: 3, ResultHit: 1}, map[string]int{}, 3},
		{"two fit: the third deletes the oldest", 5 * size / 2, []int{0, 1, 2, 2, 1}, map[string]int{ResultMiss: 3, ResultHit: 2}, map[string]int{EvictedSize: 1}, 2},
		{"the oldest is fetched again after its deletion", 5 * size / 2, []int{0, 1, 2, 0}, map[string]int{ResultMiss: 4}, map[string]int{EvictedSize: 2}, 2},
		{"a pack bigger than the cap is streamed but not kept", size / 2, []int{0, 0}, map[string]int{ResultMiss: 2}, map[string]int{EvictedTooBig: 2}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			repo, heads := repoWithBranches(t, root, 3, size)
			clock := &fakeClock{t: time.Unix(1e9, 0)}
			c, sock, n, ev := newBoundedCache(t, root, tc.maxBytes, clock)
			for _, b := range tc.fetches {
				fetch(t, repo, sock, heads[b])
				clock.Advance(time.Second)
			}
			reasons, bytes := ev.get()
			if fmt.Sprint(n.m) != fmt.Sprint(tc.results) || fmt.Sprint(reasons) != fmt.Sprint(tc.evicted) {
				t.Fatalf("results %v, evictions %v; want %v, %v", n.m, reasons, tc.results, tc.evicted)
			}
			if bytes > tc.maxBytes {
				t.Fatalf("the cache reports %d bytes, over its cap of %d", bytes, tc.maxBytes)
			}
			if got := packFiles(t, c); got != tc.kept {
				t.Fatalf("%d pack files on disk, want %d", got, tc.kept)
			}
		})
	}
}

func TestPacksOlderThanTheTTLAreDeleted(t *testing.T) {
	root := t.TempDir()
	repo, heads := repoWithBranches(t, root, 2, 1<<10)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c, sock, n, ev := newBoundedCache(t, root, DefaultMaxBytes, clock)
	fetch(t, repo, sock, heads[0])
	clock.Advance(TTL - time.Second)
	fetch(t, repo, sock, heads[0])
	clock.Advance(2 * time.Second)
	// Any sweep (here the one after the next pack) deletes the old pack.
	fetch(t, repo, sock, heads[1])
	reasons, _ := ev.get()
	if n.m[ResultHit] != 1 || reasons[EvictedAge] != 1 || packFiles(t, c) != 1 {
		t.Fatalf("results %v, evictions %v, %d files: want the pack served once from the cache, then deleted at its TTL",
			n.m, reasons, packFiles(t, c))
	}
}

// blockingWriter is a client that stops reading: its first write blocks
// until release is closed.
type blockingWriter struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
	buf     bytes.Buffer
}

func (w *blockingWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.started) })
	<-w.release
	return w.buf.Write(p)
}

// A follower that stops reading holds up neither the producer nor another
// client of the same pack, and the pack it is reading stays readable to
// it after the cap has deleted it.
func TestAStalledReaderNeitherBlocksOthersNorLosesItsDeletedPack(t *testing.T) {
	const size = 2 << 20 // several of the hook's 256 KiB reads
	root := t.TempDir()
	repo, heads := repoWithBranches(t, root, 2, size)
	clock := &fakeClock{t: time.Unix(1e9, 0)}
	c, sock, n, ev := newBoundedCache(t, root, size*3/2, clock)

	stalled := &blockingWriter{started: make(chan struct{}), release: make(chan struct{})}
	code := make(chan int, 1)
	go func() {
		code <- runHook(packArgs, repo, sock, strings.NewReader(heads[0]+"\n"), stalled, &bytes.Buffer{})
	}()
	select {
	case <-stalled.started:
	case <-time.After(60 * time.Second):
		t.Fatal("the first client never got data")
	}
	// Another client of the same pack completes while the first reads nothing.
	other := fetch(t, repo, sock, heads[0])
	// A second pack pushes the first out of the cache: deleted on disk.
	clock.Advance(time.Second)
	fetch(t, repo, sock, heads[1])
	reasons, _ := ev.get()
	if reasons[EvictedSize] != 1 {
		t.Fatalf("evictions %v: the first pack was not deleted", reasons)
	}
	if got := packFiles(t, c); got != 1 {
		t.Fatalf("%d pack files on disk, want only the second", got)
	}
	close(stalled.release)
	if got := <-code; got != 0 {
		t.Fatalf("the stalled client failed after its pack was deleted: exit %d", got)
	}
	if !bytes.Equal(stalled.buf.Bytes(), other) {
		t.Fatalf("the stalled client got %d bytes, the other %d", stalled.buf.Len(), len(other))
	}
	if n.m[ResultMiss] != 2 {
		t.Fatalf("results %v: want the two packs produced once each", n.m)
	}
}
