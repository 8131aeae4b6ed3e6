package housekeeping

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitgate/gitgate/repos"
)

// pushedRepo is a gitgate repository that received three pushes (three
// packs, since receive.unpackLimit=1).
func pushedRepo(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "r.git")
	if err := repos.InitBare(context.Background(), dir, "main"); err != nil {
		t.Fatal(err)
	}
	wt := t.TempDir()
	git := func(args ...string) {
		cmd := exec.Command("git", args...)
		cmd.Dir = wt
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	git("init", "-q", "-b", "main")
	for i := range 3 {
		os.WriteFile(filepath.Join(wt, fmt.Sprint(i)), []byte(fmt.Sprint(i)), 0o644)
		git("add", ".")
		git("commit", "-q", "-m", fmt.Sprint(i))
		git("push", "-q", dir, fmt.Sprintf("main:b%d", i))
	}
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	if len(packs) != 3 {
		t.Fatalf("%d packs after three pushes, want 3", len(packs))
	}
	return dir
}

func TestFirstHousekeepingWritesABitmapAndCommitGraph(t *testing.T) {
	dir := pushedRepo(t)
	done := make(chan error, 4)
	s := New(Config{Delay: time.Millisecond, Done: func(_ string, err error) { done <- err }})
	defer s.Stop(context.Background())
	s.Pushed(dir)
	s.Pushed(dir) // shares the pending job
	if err := <-done; err != nil {
		t.Fatalf("job: %v", err)
	}
	for _, p := range []string{"objects/info/commit-graphs/commit-graph-chain", "packed-refs", fullStamp} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("after housekeeping: %v", err)
		}
	}
	if bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap")); len(bitmaps) == 0 {
		t.Error("no bitmap written")
	}
	if out, err := exec.Command("git", "--git-dir="+dir, "fsck", "--no-progress").CombinedOutput(); err != nil {
		t.Fatalf("fsck after housekeeping: %v\n%s", err, out)
	}
	select {
	case err := <-done:
		t.Fatalf("a second job ran for pushes that shared one (%v)", err)
	default:
	}
}

func TestStopCancelsPendingJobs(t *testing.T) {
	dir := pushedRepo(t)
	ran := make(chan struct{}, 1)
	s := New(Config{Delay: time.Hour, Done: func(string, error) { ran <- struct{}{} }})
	s.Pushed(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	s.Pushed(dir) // after Stop: ignored
	select {
	case <-ran:
		t.Fatal("a job ran after Stop")
	default:
	}
}

func TestDeletedRepositoryIsSkipped(t *testing.T) {
	done := make(chan error, 1)
	s := New(Config{Delay: time.Millisecond, Done: func(_ string, err error) { done <- err }})
	defer s.Stop(context.Background())
	s.Pushed(filepath.Join(t.TempDir(), "gone.git"))
	if err := <-done; err != nil {
		t.Fatalf("job on a deleted repository: %v", err)
	}
}

func TestJobWaitsWhileGitIsServedUntilMaxDefer(t *testing.T) {
	dir := pushedRepo(t)
	var busy atomic.Bool
	busy.Store(true)
	done := make(chan error, 2)
	s := New(Config{Delay: time.Millisecond, Busy: busy.Load, MaxDefer: time.Hour, Done: func(_ string, err error) { done <- err }})
	defer s.Stop(context.Background())
	s.Pushed(dir)
	select {
	case <-done:
		t.Fatal("a job ran while Git was being served")
	case <-time.After(3 * busyRetry):
	}
	if s.Pending() != 1 {
		t.Fatalf("pending jobs = %d, want 1", s.Pending())
	}
	busy.Store(false)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Past MaxDefer a job runs even on a busy server.
	busy.Store(true)
	s2 := New(Config{Delay: time.Millisecond, Busy: busy.Load, MaxDefer: time.Millisecond, Done: func(_ string, err error) { done <- err }})
	defer s2.Stop(context.Background())
	s2.Pushed(dir)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// addPacks adds n packs of one new blob each to the repository dir.
func addPacks(t *testing.T, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		blob := exec.Command("git", "--git-dir="+dir, "hash-object", "-w", "--stdin")
		blob.Stdin = strings.NewReader(fmt.Sprintf("loose object %d %d", i, time.Now().UnixNano()))
		out, err := blob.Output()
		if err != nil {
			t.Fatal(err)
		}
		pack := exec.Command("git", "--git-dir="+dir, "pack-objects", "-q", filepath.Join(dir, "objects", "pack", "pack"))
		pack.Stdin = strings.NewReader(string(out))
		if out, err := pack.CombinedOutput(); err != nil {
			t.Fatalf("%v %s", err, out)
		}
	}
}

func TestJobOnAServerThatIsNeverQuietRunsOncePacksPileUp(t *testing.T) {
	dir := pushedRepo(t)
	done := make(chan error, 2)
	never := func() bool { return true }
	s := New(Config{Delay: time.Millisecond, Busy: never, MaxDefer: time.Hour, Done: func(_ string, err error) { done <- err }})
	defer s.Stop(context.Background())
	addPacks(t, dir, BusyPackLimit-4)
	s.Pushed(dir)
	select {
	case <-done:
		t.Fatalf("a job ran on a busy server with %d packs, below the limit of %d", packCount(t, dir), BusyPackLimit)
	case <-time.After(3 * busyRetry):
	}
	addPacks(t, dir, 1) // the limit reached: the waiting job runs on its next look
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := packCount(t, dir); n > 2 {
		t.Fatalf("%d packs after the job, want them rolled up", n)
	}
}

func packCount(t *testing.T, dir string) int {
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	return len(packs)
}

func TestLaterJobsRepackOnlyWhenPacksPileUpAndFullyAfterTheInterval(t *testing.T) {
	dir := pushedRepo(t)
	done := make(chan error, 2)
	s := New(Config{Delay: time.Millisecond, FullEvery: time.Hour, Done: func(_ string, err error) { done <- err }})
	defer s.Stop(context.Background())
	job := func() {
		t.Helper()
		s.Pushed(dir)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	job() // first: full, with a bitmap
	if n := packCount(t, dir); n != 1 {
		t.Fatalf("%d packs after the first job, want 1", n)
	}
	addPacks := func(n int) { t.Helper(); addPacks(t, dir, n) }
	addPacks(2)
	job() // few packs: left alone
	if n := packCount(t, dir); n != 3 {
		t.Fatalf("%d packs after a job on a tidy repository, want the 3 left alone", n)
	}
	addPacks(IncrementalPackLimit)
	job() // many packs: geometric roll-up of the small ones
	if n := packCount(t, dir); n >= 3+IncrementalPackLimit {
		t.Fatalf("%d packs after a job on %d packs: nothing was rolled up", n, 3+IncrementalPackLimit)
	}
	if bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap")); len(bitmaps) != 1 {
		t.Fatalf("want one bitmap after the incremental repack, have %v", bitmaps)
	}
	stamp := filepath.Join(dir, fullStamp)
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stamp, old, old); err != nil {
		t.Fatal(err)
	}
	job() // the full repack is due
	if fi, err := os.Stat(stamp); err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Fatalf("the full repack due after FullEvery did not run (%v)", err)
	}
	// Reachable objects in one bitmapped pack; the unreachable loose
	// blobs in a cruft pack.
	if n := packCount(t, dir); n > 2 {
		t.Fatalf("%d packs after a full repack, want at most 2 (main and cruft)", n)
	}
	if out, err := exec.Command("git", "--git-dir="+dir, "fsck", "--no-progress").CombinedOutput(); err != nil {
		t.Fatalf("fsck: %v\n%s", err, out)
	}
}

func TestRunNowNeverOverlapsAnotherJobOnTheSameRepository(t *testing.T) {
	dir := pushedRepo(t)
	s := New(Config{Delay: time.Hour})
	defer s.Stop(context.Background())
	// A job (a push's, or another person's task) is running.
	s.mu.Lock()
	s.repos[dir] = &repoState{running: true}
	s.mu.Unlock()
	if err := s.RunNow(context.Background(), dir, TaskPrune, 0); err != ErrBusy {
		t.Fatalf("RunNow during a job: %v, want ErrBusy", err)
	}
	s.mu.Lock()
	s.repos[dir].running = false
	s.mu.Unlock()
	if err := s.RunNow(context.Background(), dir, TaskPrune, 0); err != nil {
		t.Fatalf("RunNow: %v", err)
	}
	// A push during the task schedules the push's own job afterwards.
	s.mu.Lock()
	s.repos[dir] = &repoState{running: true}
	s.mu.Unlock()
	s.Pushed(dir)
	s.mu.Lock()
	again := s.repos[dir].again
	s.repos[dir].running = false
	s.mu.Unlock()
	if !again {
		t.Fatal("a push during a running task was not remembered")
	}
	if got := s.Pending(); got != 1 {
		t.Fatalf("pending jobs: %d, want 1", got)
	}
	if err := s.RunNow(context.Background(), dir, "gc", 0); err == nil || !strings.Contains(err.Error(), "unknown housekeeping task") {
		t.Fatalf("unknown task: %v", err)
	}
}

// A git killed outright (the OOM killer) leaves its lock files behind,
// and git refuses to take a lock whose file exists: without clean-up
// every later job would fail on them, and a failed job never records its
// full repack, so every push would pay for another one. Locks older than
// any git holds one are removed by the job, under the repository's lock;
// a fresh one is left alone.
func TestLockFilesLeftByAKilledGitDoNotStopHousekeepingForever(t *testing.T) {
	locks := []string{"packed-refs.lock", "objects/info/commit-graphs/commit-graph-chain.lock", "objects/pack/multi-pack-index.lock"}
	for _, tt := range []struct {
		name string
		run  func(dir string) error
	}{
		{"a push's job", func(dir string) error {
			done := make(chan error, 1)
			s := New(Config{Delay: time.Millisecond, Done: func(_ string, err error) { done <- err }})
			defer s.Stop(context.Background())
			s.Pushed(dir)
			return <-done
		}},
		{"a task", func(dir string) error { return Run(context.Background(), nil, "", dir, TaskEager, DefaultPruneGrace) }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := pushedRepo(t)
			old := time.Now().Add(-2 * staleLockAge)
			for _, l := range locks {
				p := filepath.Join(dir, l)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, nil, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.Chtimes(p, old, old); err != nil {
					t.Fatal(err)
				}
			}
			if err := tt.run(dir); err != nil {
				t.Fatalf("housekeeping with stale lock files: %v", err)
			}
			for _, p := range []string{"packed-refs", fullStamp} {
				if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
					t.Errorf("after housekeeping: %v", err)
				}
			}
			for _, l := range locks {
				if _, err := os.Stat(filepath.Join(dir, l)); err == nil {
					t.Errorf("the stale %s is still there", l)
				}
			}
			// A lock taken a moment ago belongs to a git still running.
			fresh := filepath.Join(dir, "packed-refs.lock")
			if err := os.WriteFile(fresh, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := tt.run(dir); err == nil {
				t.Error("housekeeping took a lock a running git holds")
			}
			if _, err := os.Stat(fresh); err != nil {
				t.Errorf("a fresh lock file was removed: %v", err)
			}
		})
	}
}
