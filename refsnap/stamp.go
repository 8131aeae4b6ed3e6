package refsnap

import (
	"io/fs"
	"os"
	"time"
)

// stamp is what a snapshot was read from: the metadata of every file and
// directory that a change of the refs (or of what git makes of them)
// touches. git updates a ref by renaming a lock file onto it, which moves
// the mtime of its directory; it rewrites packed-refs and HEAD the same
// way, which gives them a new inode.
type stamp struct {
	files  []fileStamp
	newest time.Time
	// racy: something changed too recently for its mtime to be trusted
	// (see racyWindow).
	racy bool
}

type fileStamp struct {
	path   string
	exists bool
	size   int64
	mtime  int64 // Unix nanoseconds
	ino    uint64
}

// add stats path and records it (as absent when it does not exist); it
// returns the file's info, nil when absent.
func (s *stamp) add(path string) fs.FileInfo {
	fi, err := os.Stat(path)
	if err != nil {
		s.files = append(s.files, fileStamp{path: path})
		return nil
	}
	s.record(path, fi)
	return fi
}

func (s *stamp) record(path string, fi fs.FileInfo) {
	s.files = append(s.files, stampOf(path, fi))
	if fi.ModTime().After(s.newest) {
		s.newest = fi.ModTime()
	}
}

func stampOf(path string, fi fs.FileInfo) fileStamp {
	fs := fileStamp{path: path, exists: true, mtime: fi.ModTime().UnixNano(), ino: inode(fi)}
	if !fi.IsDir() {
		fs.size = fi.Size()
	}
	return fs
}

// current reports whether nothing recorded has changed.
func (s *stamp) current() bool {
	for _, f := range s.files {
		fi, err := os.Stat(f.path)
		if err != nil {
			if f.exists {
				return false
			}
			continue
		}
		if !f.exists || stampOf(f.path, fi) != f {
			return false
		}
	}
	return true
}
