package housekeeping

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Locker keeps the maintenance of one repository to one job at a time
// across every process that shares the repository storage: the replicas
// of a server and the CLI (docs/replicas.md). Two repacks of one
// repository at once could each delete the packs the other is still
// reading from. A Locker never waits: a job that finds the lock taken is
// postponed (a push's job) or refused with ErrBusy (a task asked for by
// a person), and serving never waits on it.
type Locker interface {
	// TryLock takes the lock of the repository repoDir, or returns an
	// error wrapping ErrBusy when someone holds it. unlock releases it.
	TryLock(ctx context.Context, repoDir string) (unlock func(), err error)
}

// lockFile is the file FileLocker locks, in the repository directory. It
// is never deleted: deleting a lock file races with its next locker.
const lockFile = "gitgate-housekeeping.lock"

// FileLocker locks a file in the repository with flock(2): enough for
// processes of one machine (the server and `gitgate repo prune` beside
// an SQLite database), and across machines on NFS, whose Linux client
// turns flock into NFS byte-range locks. Its zero value is ready.
type FileLocker struct{}

// TryLock implements Locker.
func (FileLocker) TryLock(_ context.Context, repoDir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(repoDir, lockFile), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("housekeeping lock of %s: %w", repoDir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, fmt.Errorf("housekeeping lock of %s: %w", repoDir, err)
	}
	// Closing the file releases the lock, also when the process dies.
	return func() { f.Close() }, nil
}

// AdvisoryDB is a database that holds named session advisory locks
// (PostgreSQL's pg_try_advisory_lock): *store.DB on PostgreSQL.
type AdvisoryDB interface {
	TryAdvisoryLock(ctx context.Context, name string) (unlock func(), ok bool, err error)
}

// AdvisoryLocker locks a repository with a PostgreSQL advisory lock named
// after its project (LockName): every replica of one database sees it,
// whatever the storage's own locking is worth, and PostgreSQL releases it
// when the holder's connection ends, so a killed replica leaves no stale
// lock behind.
type AdvisoryLocker struct {
	DB AdvisoryDB
}

// TryLock implements Locker.
func (l AdvisoryLocker) TryLock(ctx context.Context, repoDir string) (func(), error) {
	unlock, ok, err := l.DB.TryAdvisoryLock(ctx, LockName(repoDir))
	if err != nil {
		return nil, fmt.Errorf("housekeeping lock of %s: %w", repoDir, err)
	}
	if !ok {
		return nil, ErrBusy
	}
	return unlock, nil
}

// LockName is the advisory lock name of a repository: its directory's
// name, which in gitgate's hashed storage is derived from the project's
// id alone (repos.Service.DiskPath). The name, not the whole path, so
// replicas that mount the storage at different paths agree; the prefix
// keeps it apart from any other advisory lock.
func LockName(repoDir string) string {
	return "housekeeping/" + filepath.Base(filepath.Clean(repoDir))
}
