package housekeeping

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // a second process's connection

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// lockers are the two Lockers, each with a second, independent holder:
// what another process sharing the storage or the database would be.
func lockers(t *testing.T) map[string]struct{ mine, other Locker } {
	mine, other := twoPools(t)
	return map[string]struct{ mine, other Locker }{
		"file":              {FileLocker{}, FileLocker{}},
		"postgres advisory": {AdvisoryLocker{DB: mine}, AdvisoryLocker{DB: other}},
	}
}

// twoPools opens one PostgreSQL database twice: two processes.
func twoPools(t *testing.T) (*store.DB, *store.DB) {
	t.Helper()
	url := testdb.URL(t, store.Postgres)
	open := func() *store.DB {
		db, err := store.Open(context.Background(), t.TempDir(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	}
	return open(), open()
}

func TestATaskIsRefusedWhileAnotherProcessHoldsTheRepositorysLock(t *testing.T) {
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			dir := pushedRepo(t)
			unlock, err := l.other.TryLock(context.Background(), dir)
			if err != nil {
				t.Fatalf("the other process's lock: %v", err)
			}
			if err := Run(context.Background(), l.mine, "", dir, TaskEager, 0); !errors.Is(err, ErrBusy) {
				t.Fatalf("Run while another process holds the lock: %v, want ErrBusy", err)
			}
			if _, err := os.Stat(filepath.Join(dir, fullStamp)); err == nil {
				t.Fatal("the refused task repacked anyway")
			}
			unlock()
			if err := Run(context.Background(), l.mine, "", dir, TaskEager, 0); err != nil {
				t.Fatalf("Run once the lock is free: %v", err)
			}
		})
	}
}

// countingLocker counts the attempts that found the lock taken.
type countingLocker struct {
	Locker
	busy chan struct{}
}

func (c countingLocker) TryLock(ctx context.Context, dir string) (func(), error) {
	unlock, err := c.Locker.TryLock(ctx, dir)
	if errors.Is(err, ErrBusy) {
		select {
		case c.busy <- struct{}{}:
		default:
		}
	}
	return unlock, err
}

func TestAPushsJobWaitsForTheOtherProcessAndThenDoesOnlyWhatIsLeft(t *testing.T) {
	for name, l := range lockers(t) {
		t.Run(name, func(t *testing.T) {
			dir := pushedRepo(t)
			unlock, err := l.other.TryLock(context.Background(), dir)
			if err != nil {
				t.Fatal(err)
			}
			busy := make(chan struct{}, 1)
			done := make(chan error, 4)
			var repacks []string
			var mu sync.Mutex
			s := New(Config{Delay: time.Millisecond, Lock: countingLocker{l.mine, busy},
				Done: func(_ string, err error) { done <- err },
				Repacked: func(kind string) {
					mu.Lock()
					repacks = append(repacks, kind)
					mu.Unlock()
				}})
			defer s.Stop(context.Background())
			s.Pushed(dir)
			// Two refusals: the job came back after the first.
			<-busy
			<-busy
			select {
			case err := <-done:
				t.Fatalf("the job ran while another process held the lock (%v)", err)
			default:
			}
			// The other process repacks fully, then lets go.
			if err := Run(context.Background(), nopLocker{}, "", dir, TaskEager, time.Hour); err != nil {
				t.Fatal(err)
			}
			unlock()
			if err := <-done; err != nil {
				t.Fatalf("job: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(repacks) != 0 {
				t.Fatalf("the job repacked again (%v) after the other process's full repack", repacks)
			}
		})
	}
}

// nopLocker is a lock already held by the caller.
type nopLocker struct{}

func (nopLocker) TryLock(context.Context, string) (func(), error) { return func() {}, nil }

func TestTheAdvisoryLockDependsOnTheRepositoryNotOnWhereTheStorageIsMounted(t *testing.T) {
	a := LockName("/data/repositories/@hashed/6b/86/6b86b273.git")
	if b := LockName("/mnt/other/@hashed/6b/86/6b86b273.git/"); a != b {
		t.Fatalf("one repository, two names: %q and %q", a, b)
	}
	if c := LockName("/data/repositories/@hashed/d4/73/d4735e3a.git"); a == c {
		t.Fatal("two repositories share a name")
	}
}

// Advisory locks belong to the database: two instances in two schemas
// (two tests, or two installations on one PostgreSQL database) with a
// project of the same id must not lock each other out.
func TestAdvisoryLocksOfAnotherSchemaDoNotBlock(t *testing.T) {
	mine, _ := twoPools(t)
	other, _ := twoPools(t)
	dir := pushedRepo(t)
	unlock, err := (AdvisoryLocker{DB: other}).TryLock(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	u, err := (AdvisoryLocker{DB: mine}).TryLock(context.Background(), dir)
	if err != nil {
		t.Fatalf("a lock held in another schema: %v", err)
	}
	u()
}

func TestAnAdvisoryLockDiesWithTheProcessThatHeldIt(t *testing.T) {
	url := testdb.URL(t, store.Postgres)
	db, err := store.Open(context.Background(), t.TempDir(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dir := pushedRepo(t)
	if _, err := (AdvisoryLocker{DB: db}).TryLock(context.Background(), dir); err != nil {
		t.Fatal(err)
	}
	// Another process, whose connection to PostgreSQL ends without an
	// unlock: what a replica killed while repacking leaves.
	other, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	k, err := db.AdvisoryLockKey(context.Background(), LockName(dir))
	if err != nil {
		t.Fatal(err)
	}
	key := uint64(k)
	var killed int
	if err := other.Get(&killed, `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2 AND objsubid = 1`,
		int64(key>>32), int64(key&0xffffffff)); err != nil || killed != 1 {
		t.Fatalf("end the holder's session: %d sessions, %v", killed, err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		unlock, err := (AdvisoryLocker{DB: db}).TryLock(context.Background(), dir)
		if err == nil {
			unlock()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the lock of an ended session is still held: %v", err)
		}
	}
}
