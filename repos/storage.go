package repos

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// StorageError is repository storage that cannot be read: a volume not
// mounted, gone stale, or without permission. It matches ErrUnavailable
// (errors.Is), so every door answers it as it answers a database it
// cannot reach: 503, try again, never "not found" (docs/replicas.md).
type StorageError struct {
	Dir string
	Err error
}

func (e *StorageError) Error() string {
	return fmt.Sprintf("repository storage unavailable at %s: %v", e.Dir, e.Err)
}

// Unwrap makes a StorageError both its cause and ErrUnavailable.
func (e *StorageError) Unwrap() []error { return []error{e.Err, ErrUnavailable} }

// CheckDisk checks that the repository at dir (a DiskPath) can be read
// before git is started on it. A repository missing from a readable
// storage is a plain error: the database and the disk disagree.
func (s *Service) CheckDisk(dir string) error {
	_, err := os.Stat(filepath.Join(dir, "HEAD"))
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, rerr := os.ReadDir(s.root); rerr != nil {
			return &StorageError{Dir: s.root, Err: rerr}
		}
		return fmt.Errorf("repository %s is missing from the storage", dir)
	}
	return &StorageError{Dir: dir, Err: err}
}

// writeError classifies a failure to write a new repository under the
// storage: the storage refusing the write (gone, read-only, full, without
// permission) is a StorageError, answered 503 like an unreadable one;
// any other failure (git itself failing) stays what it is.
func writeError(dir string, err error) error {
	var pathErr *fs.PathError
	var linkErr *os.LinkError
	if errors.As(err, &pathErr) || errors.As(err, &linkErr) {
		return &StorageError{Dir: dir, Err: err}
	}
	return err
}
