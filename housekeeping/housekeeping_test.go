package housekeeping

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"gitgate/repos"
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

func TestHousekeepingAfterPushWritesMIDXBitmapAndCommitGraph(t *testing.T) {
	dir := pushedRepo(t)
	done := make(chan error, 4)
	s := New(Config{Delay: time.Millisecond, Done: func(_ string, err error) { done <- err }})
	defer s.Stop(context.Background())
	s.Pushed(dir)
	s.Pushed(dir) // shares the pending job
	if err := <-done; err != nil {
		t.Fatalf("job: %v", err)
	}
	for _, p := range []string{"objects/pack/multi-pack-index", "objects/info/commit-graphs/commit-graph-chain", "packed-refs", fullStamp} {
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
