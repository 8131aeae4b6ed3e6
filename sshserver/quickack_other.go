//go:build !linux

package sshserver

import "net"

// withQuickAck is Linux-only (see quickack_linux.go).
func withQuickAck(c net.Conn) net.Conn { return c }
