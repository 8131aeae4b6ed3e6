//go:build unix

package refsnap

import (
	"io/fs"
	"syscall"
)

// inode is the file's inode number: a file replaced by a rename has a new
// one even when its size and mtime look the same.
func inode(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Ino)
	}
	return 0
}
