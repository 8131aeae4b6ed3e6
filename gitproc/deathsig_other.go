//go:build !linux

package gitproc

import "syscall"

// dieWithParent: only Linux can tie a child's life to its parent's; on
// other systems git outlives a gitgate that is killed.
func dieWithParent() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
