//go:build !unix

package refsnap

import "io/fs"

// inode is unknown here; size and mtime alone decide.
func inode(fs.FileInfo) uint64 { return 0 }
