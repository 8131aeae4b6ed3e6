package sshserver

import (
	"net"
	"syscall"
)

// quickAckConn acknowledges every segment at once. OpenSSH clients leave
// Nagle's algorithm on for non-interactive sessions (git), so a small
// message they send right after another waits for the server's ACK of the
// first — which Linux delays by up to 40 ms when the server has nothing to
// send back yet. That happened several times per git command (key
// exchange, authentication, exec), adding 40–80 ms to each. Linux clears
// TCP_QUICKACK after it is used, so it is set again before every read.
type quickAckConn struct {
	net.Conn
	raw syscall.RawConn
}

func withQuickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return &quickAckConn{Conn: c, raw: raw}
}

func (c *quickAckConn) Read(b []byte) (int, error) {
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return c.Conn.Read(b)
}
