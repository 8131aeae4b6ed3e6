// Package housekeeping keeps pushed repositories fast to serve: after
// pushes it repacks when needed, writes the commit-graph and packs refs,
// in the background, debounced, one job at a time per repository, at the
// lowest CPU priority and only when no Git operation is running.
//
// Why these jobs: every push lands as its own pack (receive.unpackLimit=1,
// see docs/repositories.md), so without repacking a busy repository ends
// up with thousands of packs and every fetch pays for searching them.
// "git repack --geometric=2" keeps the pack count logarithmic while
// rewriting little; the reachability bitmap lets
// upload-pack count objects without walking history. The commit-graph
// speeds up every walk (negotiation, merge-base in the protected-branch
// hook). Once a week a full repack moves unreachable objects into a cruft
// pack that expires after two weeks, so force-pushed-away objects do not
// pile up forever while an in-flight push's objects are never deleted
// under it.
package housekeeping

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gitgate/gitgate/gitproc"
)

// Defaults of Config.
const (
	DefaultDelay       = 30 * time.Second
	DefaultConcurrency = 2
	DefaultFullEvery   = 7 * 24 * time.Hour
	DefaultMaxDefer    = 10 * time.Minute
	// busyRetry is how soon a job deferred by Busy looks again.
	busyRetry = 2 * time.Second
)

// fullStamp is the file whose modification time records the last full
// repack of a repository.
const fullStamp = "gitgate-full-repack"

// Config tunes a Scheduler.
type Config struct {
	// Delay is how long after a push a repository's job starts; pushes
	// in the meantime share the job.
	Delay time.Duration
	// Concurrency bounds jobs running at once across repositories.
	Concurrency int
	// FullEvery is how often a repository gets a full (cruft) repack.
	FullEvery time.Duration
	// Busy, when set, reports whether the server is serving Git (or did
	// a moment ago). A due job waits for a quiet moment, so maintenance never takes
	// CPU or memory from a clone or push in progress — but not longer
	// than MaxDefer after the push that asked for it.
	Busy     func() bool
	MaxDefer time.Duration
	// GitBin is the git executable ("git" when empty).
	GitBin string
	Log    *slog.Logger
	// Done, when set, is called after each job (tests wait on it).
	Done func(repoDir string, err error)
	// Lock keeps a repository's jobs apart across processes (FileLocker
	// when nil; AdvisoryLocker on PostgreSQL).
	Lock Locker
	// Repacked, when set, is told each repack a job or task made: "full"
	// or "geometric".
	Repacked func(kind string)
}

// Scheduler runs housekeeping jobs. The zero value is not usable; call New.
type Scheduler struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu      sync.Mutex
	stopped bool
	repos   map[string]*repoState
}

type repoState struct {
	timer *time.Timer
	// since is when the pending job was first asked for (MaxDefer).
	since   time.Time
	running bool
	// again records a push during a running job: its objects may not be
	// in that job's repack, so another run follows.
	again bool
}

// New returns a running Scheduler.
func New(cfg Config) *Scheduler {
	if cfg.Delay <= 0 {
		cfg.Delay = DefaultDelay
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.FullEvery <= 0 {
		cfg.FullEvery = DefaultFullEvery
	}
	if cfg.MaxDefer <= 0 {
		cfg.MaxDefer = DefaultMaxDefer
	}
	if cfg.GitBin == "" {
		cfg.GitBin = "git"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.Lock == nil {
		cfg.Lock = FileLocker{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Scheduler{cfg: cfg, ctx: ctx, cancel: cancel, sem: make(chan struct{}, cfg.Concurrency), repos: map[string]*repoState{}}
}

// Pushed tells the scheduler repoDir received a push. It never blocks.
func (s *Scheduler) Pushed(repoDir string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	st, ok := s.repos[repoDir]
	if !ok {
		st = &repoState{}
		s.repos[repoDir] = st
	}
	switch {
	case st.running:
		st.again = true
	case st.timer == nil:
		st.since = time.Now()
		s.schedule(repoDir, st, s.cfg.Delay)
	}
}

// schedule starts st's timer; s.mu is held.
func (s *Scheduler) schedule(repoDir string, st *repoState, after time.Duration) {
	s.wg.Add(1)
	st.timer = time.AfterFunc(after, func() { s.run(repoDir) })
}

// Pending is the number of repositories with a job waiting or running.
func (s *Scheduler) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.repos)
}

func (s *Scheduler) run(repoDir string) {
	defer s.wg.Done()
	s.mu.Lock()
	st := s.repos[repoDir]
	if s.stopped || st == nil {
		s.mu.Unlock()
		return
	}
	if st.running {
		// A task asked for by a person (RunNow) is running: look again
		// once it is done.
		s.schedule(repoDir, st, busyRetry)
		s.mu.Unlock()
		return
	}
	if s.cfg.Busy != nil && s.cfg.Busy() && time.Since(st.since) < s.cfg.MaxDefer && !packsPiledUp(repoDir) {
		s.schedule(repoDir, st, busyRetry)
		s.mu.Unlock()
		return
	}
	st.timer, st.running = nil, true
	s.mu.Unlock()

	var err error
	select {
	case s.sem <- struct{}{}:
		err = s.housekeep(s.ctx, repoDir)
		<-s.sem
	case <-s.ctx.Done():
		err = s.ctx.Err()
	}
	if errors.Is(err, ErrBusy) {
		// Another process maintains the repository now: look again
		// shortly, and then do only what that job left to do.
		s.mu.Lock()
		defer s.mu.Unlock()
		st.running = false
		if !s.stopped {
			s.schedule(repoDir, st, busyRetry)
		}
		return
	}
	if err != nil && s.ctx.Err() == nil {
		s.cfg.Log.Warn("repository housekeeping failed", "repo", repoDir, "err", err)
	}
	if s.cfg.Done != nil {
		s.cfg.Done(repoDir, err)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st.running = false
	switch {
	case s.stopped:
	case st.again:
		st.again = false
		st.since = time.Now()
		s.schedule(repoDir, st, s.cfg.Delay)
	default:
		// Forget idle repositories: memory follows activity.
		delete(s.repos, repoDir)
	}
}

// IncrementalPackLimit is how many packs a repository may hold before a
// push's job rolls the small ones up. Each push adds one pack; below this,
// searching a few packs costs less than rewriting any of them.
const IncrementalPackLimit = 8

// BusyPackLimit is how many packs a repository may hold before its job
// stops waiting for a quiet moment. A server that is never quiet (a steady
// stream of pushes and fetches) would otherwise leave every push as its
// own pack until MaxDefer: a 10-minute soak run saw clones and fetches
// slow down twofold and git's memory grow with the pack count, which costs
// every request more than the repack costs once.
const BusyPackLimit = 4 * IncrementalPackLimit

// packsPiledUp reports whether dir holds BusyPackLimit packs or more.
func packsPiledUp(dir string) bool {
	packs, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.pack"))
	return len(packs) >= BusyPackLimit
}

// housekeep is one job on one repository. It does only what the
// repository needs, because every byte it rewrites competes with serving:
//   - no reachability bitmap yet (a new or freshly mirrored repository),
//     or the weekly full repack is due: one full repack with a bitmap,
//     unreachable objects moved to a cruft pack;
//   - IncrementalPackLimit packs or more: a geometric repack that merges
//     the small recent packs and leaves the big one alone, with a
//     multi-pack-index bitmap over the packs that remain;
//   - always: the commit-graph (incremental) and packed refs.
//
// It decides under the repository's lock (Config.Lock), so a job that
// follows another process's sees what that one did.
func (s *Scheduler) housekeep(ctx context.Context, dir string) error {
	packDir := filepath.Join(dir, "objects", "pack")
	if _, err := os.Stat(packDir); err != nil {
		// Deleted since the push: nothing to do.
		return nil
	}
	unlock, err := s.cfg.Lock.TryLock(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	removeStaleLocks(dir, time.Now())
	packs, _ := filepath.Glob(filepath.Join(packDir, "*.pack"))
	bitmaps, _ := filepath.Glob(filepath.Join(packDir, "*.bitmap"))
	fi, err := os.Stat(filepath.Join(dir, fullStamp))
	full := len(packs) > 0 && (len(bitmaps) == 0 || err != nil || time.Since(fi.ModTime()) >= s.cfg.FullEvery)
	var steps [][]gitproc.Arg
	repack := ""
	switch {
	case full:
		steps = append(steps, fullRepack(cruftExpiration))
		repack = "full"
	case len(packs) >= IncrementalPackLimit:
		steps = append(steps, []gitproc.Arg{"repack", "-q", "-d", "--geometric=2", "--write-midx", "-b"})
		repack = "geometric"
	}
	if len(packs) > 0 {
		steps = append(steps, []gitproc.Arg{"commit-graph", "write", "--reachable", "--split", "--changed-paths"})
	}
	steps = append(steps, []gitproc.Arg{"pack-refs", "--all", "--prune"})
	for i, args := range steps {
		if err := runGit(ctx, s.cfg.GitBin, dir, args...); err != nil {
			return err
		}
		if i == 0 && repack != "" && s.cfg.Repacked != nil {
			s.cfg.Repacked(repack)
		}
	}
	if full {
		return recordFullRepack(dir)
	}
	return nil
}

// staleLockAge is how old a lock file of the files housekeeping rewrites
// must be before a job removes it. A git killed outright (SIGKILL, the
// OOM killer) leaves its lock files behind, and git refuses to take a
// lock whose file exists: every later job would fail on it, forever. No
// git holds one of these for an hour: pushes hold packed-refs.lock for a
// moment, and the other two are written by housekeeping alone, under the
// repository's lock (GitLab's housekeeping removes them likewise).
const staleLockAge = time.Hour

// housekeepingLocks are the lock files of the files housekeeping writes.
var housekeepingLocks = []string{
	"packed-refs.lock",
	filepath.Join("objects", "info", "commit-graphs", "commit-graph-chain.lock"),
	filepath.Join("objects", "pack", "multi-pack-index.lock"),
}

// removeStaleLocks removes the lock files of housekeepingLocks in dir
// older than staleLockAge at now. The caller holds the repository's lock.
func removeStaleLocks(dir string, now time.Time) {
	for _, l := range housekeepingLocks {
		p := filepath.Join(dir, l)
		if fi, err := os.Lstat(p); err == nil && now.Sub(fi.ModTime()) >= staleLockAge {
			_ = os.Remove(p)
		}
	}
}

// cruftExpiration is how long the weekly full repack keeps unreachable
// objects (in a cruft pack) before they are deleted.
const cruftExpiration = "2.weeks.ago"

// fullRepack is the full repack that keeps reachable objects in one pack
// with a bitmap and moves unreachable ones into a cruft pack, deleting
// those older than expiration.
func fullRepack(expiration string) []gitproc.Arg {
	return []gitproc.Arg{"repack", "-q", "-a", "-d", "-b", "--cruft", gitproc.Arg("--cruft-expiration=" + expiration)}
}

func recordFullRepack(dir string) error {
	stamp := filepath.Join(dir, fullStamp)
	if err := os.WriteFile(stamp, nil, 0o640); err != nil {
		return fmt.Errorf("record full repack: %w", err)
	}
	now := time.Now()
	if err := os.Chtimes(stamp, now, now); err != nil {
		return fmt.Errorf("record full repack: %w", err)
	}
	return nil
}

// Task is maintenance asked for by a person (the API's
// POST /projects/:id/housekeeping, the CLI's repo prune) rather than by a
// push.
type Task string

// Tasks, named as GitLab's housekeeping API names them.
const (
	// TaskEager is a full repack with bitmap, commit-graph and packed
	// refs now, whatever state the repository is in.
	TaskEager Task = "eager"
	// TaskPrune also deletes unreachable objects (of deleted and
	// force-pushed branches) older than the grace, instead of keeping
	// them two weeks in the cruft pack.
	TaskPrune Task = "prune"
)

// DefaultPruneGrace is how old an unreachable object must be before a
// prune deletes it. A push's objects are unreachable from the moment they
// leave receive-pack's quarantine until its ref update a moment later;
// deleting them in between would corrupt the push. Ten minutes outlasts
// any ref update by far, needs no lock, and works across replicas sharing
// the storage; the price is that a branch deleted less than ten minutes
// before a prune keeps its objects until the next one.
const DefaultPruneGrace = 10 * time.Minute

// ValidTask reports whether t is a task Run knows.
func ValidTask(t Task) bool { return t == TaskEager || t == TaskPrune }

// Run performs task on the repository dir now and waits for it, under
// the repository's lock (FileLocker when lock is nil): ErrBusy when
// another job or task holds it. grace is the prune's grace (see
// DefaultPruneGrace); zero or less deletes every unreachable object,
// which is safe only when no push can be running. gitBin "" is "git".
func Run(ctx context.Context, lock Locker, gitBin, dir string, task Task, grace time.Duration) error {
	if !ValidTask(task) {
		return fmt.Errorf("unknown housekeeping task %q: use eager or prune", task)
	}
	if gitBin == "" {
		gitBin = "git"
	}
	if lock == nil {
		lock = FileLocker{}
	}
	if _, err := os.Stat(filepath.Join(dir, "objects")); err != nil {
		return fmt.Errorf("repository %s: %w", dir, err)
	}
	unlock, err := lock.TryLock(ctx, dir)
	if err != nil {
		return err
	}
	defer unlock()
	removeStaleLocks(dir, time.Now())
	expiration := cruftExpiration
	var steps [][]gitproc.Arg
	if task == TaskPrune {
		expiration = gitAgo(grace)
		// Reflog entries keep what they name alive; those of objects no
		// ref reaches go now (gitgate keeps no reflogs, but a repository
		// imported from elsewhere may carry them).
		steps = append(steps, []gitproc.Arg{"reflog", "expire", "--expire-unreachable=now", "--all"})
	}
	steps = append(steps, fullRepack(expiration),
		// Rewritten in full (no --split): a commit-graph layer may still
		// list commits the repack just deleted, and git finds commits
		// through it.
		[]gitproc.Arg{"commit-graph", "write", "--reachable", "--changed-paths"},
		[]gitproc.Arg{"pack-refs", "--all", "--prune"})
	for _, args := range steps {
		if err := runGit(ctx, gitBin, dir, args...); err != nil {
			return err
		}
	}
	return recordFullRepack(dir)
}

// gitAgo renders a grace as git's approxidate ("600.seconds.ago", "now").
func gitAgo(grace time.Duration) string {
	if grace <= 0 {
		return "now"
	}
	return fmt.Sprintf("%d.seconds.ago", int64(grace.Seconds()))
}

// ErrBusy means a housekeeping job is already running on the repository,
// in this process or another.
var ErrBusy = errors.New("housekeeping is already running for this repository")

// RunNow performs task on dir now, in the caller's goroutine, as one of
// the scheduler's jobs: never at the same time as another job on the same
// repository (ErrBusy then, GitLab's 409), and a push's job due meanwhile
// waits for it.
func (s *Scheduler) RunNow(ctx context.Context, dir string, task Task, grace time.Duration) error {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return errors.New("housekeeping is stopped")
	}
	st, ok := s.repos[dir]
	if !ok {
		st = &repoState{}
		s.repos[dir] = st
	}
	if st.running {
		s.mu.Unlock()
		return ErrBusy
	}
	st.running = true
	s.mu.Unlock()

	err := Run(ctx, s.cfg.Lock, s.cfg.GitBin, dir, task, grace)
	if err == nil && s.cfg.Repacked != nil {
		s.cfg.Repacked("full")
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	st.running = false
	switch {
	case st.again && st.timer == nil && !s.stopped:
		// A push's job was asked for while this ran.
		st.again = false
		st.since = time.Now()
		s.schedule(dir, st, s.cfg.Delay)
	case st.timer == nil:
		delete(s.repos, dir)
	}
	return err
}

// runGit runs one git command on the repository dir.
func runGit(ctx context.Context, gitBin, dir string, args ...gitproc.Arg) error {
	// At the lowest CPU priority (nice 19, inherited by repack's
	// pack-objects), a job that must run while Git is served takes only
	// idle CPU. In its own process group (gitproc's default), so a stop
	// kills repack's children too.
	var stderr bytes.Buffer
	g := gitproc.Git(args...).WithBin(gitBin).WithNice(19).WithGitDir(dir).WithStderr(&stderr)
	if err := g.Run(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("git %s in %s: %v: %s", g, dir, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Stop cancels pending jobs, kills running ones (git's repack and
// commit-graph writes are atomic renames, so an interrupted job leaves the
// repository as it was) and waits for them, bounded by ctx.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	s.stopped = true
	for _, st := range s.repos {
		if st.timer != nil && st.timer.Stop() {
			s.wg.Done()
			st.timer = nil
		}
	}
	s.mu.Unlock()
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return errors.Join(errors.New("housekeeping did not stop in time"), ctx.Err())
	}
}
