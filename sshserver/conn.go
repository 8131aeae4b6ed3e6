package sshserver

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// connStateKey finds a connection's state in its gliderlabs context.
type connStateKey struct{}

// connState is what the door tracks per connection: limits, timers and
// whether authentication succeeded. It never holds the identity: that
// lives in the Permissions x/crypto returns for the successful method.
type connState struct {
	srv  *Server
	conn net.Conn
	addr netip.Addr
	ctx  ssh.Context

	authOnce sync.Once
	authed   chan struct{}

	mu       sync.Mutex
	sessions int
	idle     *time.Timer
	closed   bool
	// ended is set once the connection is gone: a session that finishes
	// after that must not re-arm the idle timer, which would keep the
	// whole connection (keys, buffers, cipher state) in memory until it
	// fired, IdleTimeout later — 5 minutes of every connection a busy
	// server accepted.
	ended bool
	// keyRejected and failureCounted decide whether a connection that
	// never authenticates counts once against the lockout (see end).
	keyRejected    bool
	failureCounted bool
}

// noDeadlineConn hides SetDeadline from gliderlabs, which clears the
// deadline on every read and write when it has no idle timeout of its
// own; the door's timers (login, idle, keepalive) close the connection
// instead, so a long clone is never cut by a deadline.
type noDeadlineConn struct{ net.Conn }

func (noDeadlineConn) SetDeadline(time.Time) error      { return nil }
func (noDeadlineConn) SetReadDeadline(time.Time) error  { return nil }
func (noDeadlineConn) SetWriteDeadline(time.Time) error { return nil }

// acceptConn admits a new TCP connection (gliderlabs ConnCallback):
// nil refuses it, before any handshake work is spent on it.
func (s *Server) acceptConn(ctx ssh.Context, conn net.Conn) net.Conn {
	addr := remoteAddr(conn.RemoteAddr())
	s.mu.Lock()
	switch {
	case s.draining:
		s.mu.Unlock()
		return nil
	case len(s.conns) >= s.cfg.MaxSessions, s.perAddr[addr] >= s.cfg.MaxSessionsPerAddr:
		s.mu.Unlock()
		s.deps.Metrics.SSHSessionsTotal.WithLabelValues("refused").Inc()
		s.log.Warn("ssh connection refused: too many concurrent connections", "remote", conn.RemoteAddr().String())
		return nil
	}
	st := &connState{srv: s, conn: conn, addr: addr, ctx: ctx, authed: make(chan struct{})}
	s.conns[st] = struct{}{}
	s.perAddr[addr]++
	s.mu.Unlock()
	ctx.SetValue(connStateKey{}, st)
	go func() {
		defer s.recoverPanic("connection watchdog", conn.RemoteAddr().String())
		st.watch()
	}()
	return noDeadlineConn{conn}
}

func stateOf(ctx ssh.Context) *connState {
	st, _ := ctx.Value(connStateKey{}).(*connState)
	return st
}

// markAuthenticated stops the login timer.
func (c *connState) markAuthenticated() { c.authOnce.Do(func() { close(c.authed) }) }

func (c *connState) isAuthenticated() bool {
	select {
	case <-c.authed:
		return true
	default:
		return false
	}
}

// watch enforces the login timeout, then the idle timeout and keepalives
// until the connection ends, and finally releases its slot.
func (c *connState) watch() {
	cfg := c.srv.cfg
	defer c.end()
	login := time.NewTimer(cfg.LoginTimeout)
	select {
	case <-c.authed:
		login.Stop()
	case <-login.C:
		c.srv.log.Info("ssh login timeout", "remote", c.conn.RemoteAddr().String())
		c.close()
		<-c.ctx.Done()
		return
	case <-c.ctx.Done():
		login.Stop()
		return
	}
	c.mu.Lock()
	if c.sessions == 0 {
		c.idle = time.AfterFunc(cfg.IdleTimeout, c.idleExpired)
	}
	c.mu.Unlock()
	if cfg.KeepAliveInterval < 0 {
		<-c.ctx.Done()
		return
	}
	ticker := time.NewTicker(cfg.KeepAliveInterval)
	defer ticker.Stop()
	replies := make(chan struct{}, 1)
	pending, missed := false, 0
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-replies:
			pending, missed = false, 0
		case <-ticker.C:
			if pending {
				if missed++; missed >= cfg.KeepAliveCountMax {
					c.srv.log.Info("ssh client stopped answering keepalives", "remote", c.conn.RemoteAddr().String())
					c.close()
					continue
				}
				continue
			}
			sc, ok := c.ctx.Value(ssh.ContextKeyConn).(*gossh.ServerConn)
			if !ok {
				continue // handshake still finishing
			}
			pending = true
			go func() {
				// Any answer, even "unsupported", proves the peer alive.
				if _, _, err := sc.SendRequest("keepalive@openssh.com", true, nil); err == nil {
					replies <- struct{}{}
				}
			}()
		}
	}
}

func (c *connState) idleExpired() {
	c.mu.Lock()
	idle := c.sessions == 0
	c.mu.Unlock()
	if idle {
		c.srv.log.Info("ssh idle timeout", "remote", c.conn.RemoteAddr().String())
		c.close()
	}
}

// end runs when the connection is gone: its slot is freed, and a client
// that offered only keys we do not know counts one failure.
func (c *connState) end() {
	<-c.ctx.Done()
	s := c.srv
	c.mu.Lock()
	c.ended = true
	if c.idle != nil {
		c.idle.Stop()
	}
	countFailure := !c.isAuthenticated() && c.keyRejected && !c.failureCounted
	c.mu.Unlock()
	if countFailure {
		s.deps.Metrics.AuthAttempts.WithLabelValues("ssh", string(authMethodKey), "failure").Inc()
		s.recordFailure(c.addr)
	}
	s.mu.Lock()
	delete(s.conns, c)
	if s.perAddr[c.addr]--; s.perAddr[c.addr] <= 0 {
		delete(s.perAddr, c.addr)
	}
	s.mu.Unlock()
}

func (c *connState) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	_ = c.conn.Close()
}

// closeIfIdle closes the connection unless a session runs (shutdown).
func (c *connState) closeIfIdle() {
	c.mu.Lock()
	idle := c.sessions == 0
	c.mu.Unlock()
	if idle {
		c.close()
	}
}

// sessionChannel admits a session channel within the limits, then runs
// it (gliderlabs' DefaultSessionHandler returns when the channel closes).
func (s *Server) sessionChannel(srv *ssh.Server, conn *gossh.ServerConn, newChan gossh.NewChannel, ctx ssh.Context) {
	defer s.recoverPanic("session channel", conn.RemoteAddr().String())
	st := stateOf(ctx)
	if st == nil {
		_ = newChan.Reject(gossh.ConnectionFailed, "internal error")
		return
	}
	if reason := s.acquireSession(st); reason != "" {
		s.deps.Metrics.SSHSessionsTotal.WithLabelValues("refused").Inc()
		_ = newChan.Reject(gossh.ResourceShortage, reason)
		return
	}
	defer s.releaseSession(st)
	s.deps.Metrics.SSHSessions.Inc()
	defer s.deps.Metrics.SSHSessions.Dec()
	ssh.DefaultSessionHandler(srv, conn, filteredChannel{newChan}, ctx)
}

// agentRequest is OpenSSH's request to forward the client's agent.
const agentRequest = "auth-agent-req@openssh.com"

// Bounds of the env requests a session channel passes on: gliderlabs keeps
// every one it is given, and gitgate uses GIT_PROTOCOL alone.
const (
	maxEnvRequests = 4
	maxEnvPayload  = 1024
)

// filteredChannel refuses some requests on a session channel before
// gliderlabs sees them:
//   - agent forwarding: its session handler answers "yes" to it although
//     gitgate never opens an agent channel, which would tell the client
//     its agent is reachable from here;
//   - env requests other than a few small GIT_PROTOCOL ones: gliderlabs
//     appends each to the session's environment, so a client sending
//     them without end would grow the server's memory without end.
//
// Every other request passes on in order.
type filteredChannel struct{ gossh.NewChannel }

func (c filteredChannel) Accept() (gossh.Channel, <-chan *gossh.Request, error) {
	ch, reqs, err := c.NewChannel.Accept()
	if err != nil {
		return ch, reqs, err
	}
	out := make(chan *gossh.Request)
	go func() {
		defer close(out)
		envs := 0
		for req := range reqs {
			if req.Type == agentRequest || (req.Type == "env" && !keepEnv(req.Payload, &envs)) {
				_ = req.Reply(false, nil)
				continue
			}
			out <- req
		}
	}()
	return ch, out, nil
}

// keepEnv decides whether an env request passes on, counting those that
// do in n.
func keepEnv(payload []byte, n *int) bool {
	if *n >= maxEnvRequests || len(payload) > maxEnvPayload {
		return false
	}
	var kv struct{ Key, Value string }
	if err := gossh.Unmarshal(payload, &kv); err != nil || kv.Key != "GIT_PROTOCOL" {
		return false
	}
	*n++
	return true
}

func (s *Server) acquireSession(st *connState) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.draining:
		return "server is shutting down"
	case s.sessions >= s.cfg.MaxSessions, s.addrSess[st.addr] >= s.cfg.MaxSessionsPerAddr:
		return "too many concurrent sessions"
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.sessions >= s.cfg.MaxSessionsPerConn {
		return "too many concurrent sessions"
	}
	st.sessions++
	if st.idle != nil {
		st.idle.Stop()
	}
	s.sessions++
	s.addrSess[st.addr]++
	return ""
}

func (s *Server) releaseSession(st *connState) {
	s.mu.Lock()
	s.sessions--
	if s.addrSess[st.addr]--; s.addrSess[st.addr] <= 0 {
		delete(s.addrSess, st.addr)
	}
	draining := s.draining
	s.mu.Unlock()
	st.mu.Lock()
	st.sessions--
	last := st.sessions == 0
	if last && !draining && !st.ended && st.idle != nil {
		st.idle.Reset(s.cfg.IdleTimeout)
	}
	st.mu.Unlock()
	if last && draining {
		st.close()
	}
}
