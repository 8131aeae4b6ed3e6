package sshserver

import (
	"os"

	"golang.org/x/sys/unix"
)

// growPipe asks for a pipe buffer of size bytes. Failure is harmless (a
// user over fs.pipe-user-pages-soft, an old kernel): the pipe keeps its
// size.
func growPipe(f *os.File, size int) {
	raw, err := f.SyscallConn()
	if err != nil {
		return
	}
	_ = raw.Control(func(fd uintptr) {
		_, _ = unix.FcntlInt(fd, unix.F_SETPIPE_SZ, size)
	})
}
