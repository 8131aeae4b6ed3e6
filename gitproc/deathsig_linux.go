package gitproc

import "syscall"

// dieWithParent makes git get SIGTERM when the process that started it
// dies, however it dies (kill -9, an OOM kill): a git in its own process
// group is no longer reached by signals sent to gitgate's group, so
// without this a push or clone would go on as an orphan, holding the
// repository's locks, after its gitgate is gone (docs/replicas.md). SIGTERM
// rather than SIGKILL lets git run its own clean-up: it removes its lock
// files and a push's quarantine directory, and kills the children it
// started with clean-on-exit, before it dies; the children it does not
// (index-pack, pack-objects) read from or write to the pipes of the dead
// processes and end on EOF or SIGPIPE.
//
// The kernel sends the signal when the thread that started git ends. Go
// ends threads only under goroutines locked to them with
// runtime.LockOSThread, which gitgate never does around a start.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
}
