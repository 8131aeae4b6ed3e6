package sshserver

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gliderlabs/ssh"
)

// connCtx is the little of an ssh.Context the connection bookkeeping
// reads: its end.
type connCtx struct {
	context.Context
	sync.Mutex
}

func (*connCtx) User() string                  { return GitUser }
func (*connCtx) SessionID() string             { return "test" }
func (*connCtx) ClientVersion() string         { return "SSH-2.0-test" }
func (*connCtx) ServerVersion() string         { return "SSH-2.0-test" }
func (*connCtx) RemoteAddr() net.Addr          { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (*connCtx) LocalAddr() net.Addr           { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (*connCtx) Permissions() *ssh.Permissions { return &ssh.Permissions{} }
func (*connCtx) SetValue(key, value any)       {}

func TestASessionEndingAfterItsConnectionLeavesNoIdleTimerHoldingIt(t *testing.T) {
	s := &Server{cfg: Config{IdleTimeout: time.Hour, MaxSessions: 4, MaxSessionsPerAddr: 4, MaxSessionsPerConn: 4},
		conns: map[*connState]struct{}{}, perAddr: map[netip.Addr]int{}, addrSess: map[netip.Addr]int{}}
	ctx, cancel := context.WithCancel(context.Background())
	st := &connState{srv: s, addr: netip.MustParseAddr("127.0.0.1"), ctx: &connCtx{Context: ctx}, authed: make(chan struct{})}
	s.conns[st] = struct{}{}
	s.perAddr[st.addr] = 1
	st.markAuthenticated()
	st.idle = time.AfterFunc(time.Hour, st.idleExpired)
	if why := s.acquireSession(st); why != "" {
		t.Fatalf("session refused: %s", why)
	}
	// The client has its exit status and hangs up before the session's
	// handler has released the session.
	cancel()
	st.end()
	s.releaseSession(st)
	if st.idle.Stop() {
		t.Fatal("the idle timer was re-armed after the connection ended: it keeps the connection in memory for the idle timeout")
	}
	if len(s.conns) != 0 || len(s.perAddr) != 0 || len(s.addrSess) != 0 || s.sessions != 0 {
		t.Fatalf("bookkeeping left: %d conns, %v per address, %v sessions per address, %d sessions", len(s.conns), s.perAddr, s.addrSess, s.sessions)
	}

	// A connection that lives on re-arms it when its last session ends.
	live := &connState{srv: s, addr: st.addr, ctx: &connCtx{Context: context.Background()}, authed: make(chan struct{})}
	live.idle = time.AfterFunc(time.Hour, live.idleExpired)
	if why := s.acquireSession(live); why != "" {
		t.Fatalf("session refused: %s", why)
	}
	s.releaseSession(live)
	if !live.idle.Stop() {
		t.Fatal("the idle timer of a live connection was not re-armed when its last session ended")
	}
}
