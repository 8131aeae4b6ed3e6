// Package sshserver is gitgate's Git-over-SSH door (docs/ssh.md), on
// gliderlabs/ssh: public-key and token-as-password authentication where
// the session's identity comes only from the method that succeeded,
// strict command parsing (git-upload-pack, git-receive-pack,
// git-upload-archive, personal_access_token), the same Git operation path
// as HTTP (gitop: decision, git, housekeeping, metrics), and connection
// hygiene (login and idle timeouts,
// keepalives, session limits, recover, graceful drain).
package sshserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/throttle"
)

// GitUser is the SSH user name for key logins (git@host).
const GitUser = "git"

// Config tunes the SSH door. Every value must be set: server.Config
// supplies them, with the defaults of its settings table (server/configtable.go).
type Config struct {
	// Addr is the TCP address to listen on ("127.0.0.1:0" picks a port).
	Addr string
	// DataDir holds the host keys (in DataDir/ssh).
	DataDir string
	// LoginTimeout bounds the handshake and authentication.
	LoginTimeout time.Duration
	// IdleTimeout closes a connection that has run no session for this
	// long, and one whose Git command has moved no data either way, or
	// has had a write to the client blocked, for this long (a stalled
	// client; its git is killed). A Git command that keeps moving data is
	// never idle: long clones and pushes live, and dead peers are found
	// by keepalives.
	IdleTimeout time.Duration
	// KeepAliveInterval is how often the server pings the client;
	// KeepAliveCountMax unanswered pings in a row close the connection.
	// A negative interval disables keepalives.
	KeepAliveInterval time.Duration
	KeepAliveCountMax int
	// MaxSessions bounds concurrent connections and sessions in total,
	// MaxSessionsPerAddr those from one client address, and
	// MaxSessionsPerConn the sessions multiplexed on one connection.
	MaxSessions        int
	MaxSessionsPerAddr int
	MaxSessionsPerConn int
	// MaxAuthTries bounds authentication attempts per connection.
	MaxAuthTries int
	// UploadPackMaxInput bounds the bytes a client may send to one
	// git-upload-pack (its wants and haves); beyond them the command is
	// cut. Zero or negative: no limit.
	UploadPackMaxInput int64
	// Ciphers are the ciphers offered (DefaultCiphers, CheckCiphers).
	Ciphers []string
}

func (c Config) validate() error {
	if c.LoginTimeout <= 0 || c.IdleTimeout <= 0 || c.KeepAliveInterval == 0 || c.KeepAliveCountMax <= 0 ||
		c.MaxSessions <= 0 || c.MaxSessionsPerAddr <= 0 || c.MaxSessionsPerConn <= 0 || c.MaxAuthTries <= 0 {
		return errors.New("sshserver: every timeout and limit of Config must be set")
	}
	if err := CheckCiphers(c.Ciphers); err != nil {
		return fmt.Errorf("sshserver: %w", err)
	}
	return nil
}

// Deps are the services the door uses.
type Deps struct {
	Auth *auth.Service
	// Git is the operation path shared with the HTTP door.
	Git     *gitop.Engine
	Metrics *metrics.Metrics
	Log     *slog.Logger
	// Throttle is the failed-authentication lockout shared with HTTP;
	// nil disables it.
	Throttle *throttle.Limiter
}

// Server is the SSH door.
type Server struct {
	cfg  Config
	deps Deps
	log  *slog.Logger
	ssh  *ssh.Server
	fps  []string

	mu       sync.Mutex
	ln       net.Listener
	conns    map[*connState]struct{}
	perAddr  map[netip.Addr]int
	sessions int // running sessions, all connections
	addrSess map[netip.Addr]int
	draining bool
	serving  sync.WaitGroup
}

// New loads (or on first start creates) the host keys and builds the
// server; it does not listen yet.
func New(cfg Config, deps Deps) (*Server, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if deps.Auth == nil || deps.Git == nil || deps.Metrics == nil {
		return nil, errors.New("sshserver: Auth, Git and Metrics are required")
	}
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	signers, err := LoadOrCreateHostKeys(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("ssh host keys: %w", err)
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Log.With("door", "ssh"),
		conns: map[*connState]struct{}{}, perAddr: map[netip.Addr]int{}, addrSess: map[netip.Addr]int{}}
	s.ssh = &ssh.Server{
		Version:              "gitgate",
		Handler:              s.handleSession,
		PublicKeyHandler:     s.keyOffered,
		ServerConfigCallback: s.serverConfig,
		ConnCallback:         s.acceptConn,
		// No PTY, no forwarding of any kind, no subsystems (sftp):
		// gliderlabs denies forwarding when these callbacks are nil.
		PtyCallback: func(ssh.Context, ssh.Pty) bool { return false },
		ChannelHandlers: map[string]ssh.ChannelHandler{
			"session": s.sessionChannel,
		},
		SubsystemHandlers: map[string]ssh.SubsystemHandler{},
		RequestHandlers:   map[string]ssh.RequestHandler{},
		ConnectionFailedCallback: func(conn net.Conn, err error) {
			s.log.Debug("ssh handshake failed", "remote", conn.RemoteAddr().String(), "err", err)
		},
	}
	for _, signer := range signers {
		s.ssh.AddHostKey(signer)
		s.fps = append(s.fps, fingerprintLine(signer.PublicKey()))
	}
	return s, nil
}

// Fingerprints are the host key fingerprints ("type SHA256:…").
func (s *Server) Fingerprints() []string { return append([]string(nil), s.fps...) }

// Listen binds the configured address and serves in the background.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("ssh listen on %s: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.ln = ln
	s.mu.Unlock()
	s.log.Info("gitgate ssh listening", "ssh", ln.Addr().String())
	for _, fp := range s.fps {
		s.log.Info("ssh host key", "fingerprint", fp)
	}
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		s.serve(ln)
	}()
	return nil
}

// Addr is the bound address, or the configured one before Listen.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return s.cfg.Addr
	}
	return s.ln.Addr().String()
}

// serve is gliderlabs' accept loop with a recover() around each
// connection: a bug in one connection must not take the server down.
func (s *Server) serve(ln net.Listener) {
	var delay time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// Out of file descriptors and the like: back off, as net/http does.
			if delay == 0 {
				delay = 5 * time.Millisecond
			} else if delay *= 2; delay > time.Second {
				delay = time.Second
			}
			s.log.Warn("ssh accept failed", "err", err, "retry_in", delay)
			time.Sleep(delay)
			continue
		}
		delay = 0
		go func() {
			defer s.recoverPanic("connection", conn.RemoteAddr().String())
			s.ssh.HandleConn(withQuickAck(conn))
		}()
	}
}

func (s *Server) recoverPanic(where, remote string) {
	if r := recover(); r != nil {
		s.log.Error("ssh panic recovered", "in", where, "remote", remote, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
	}
}

// Shutdown stops accepting, closes connections that run nothing, lets
// running sessions finish until ctx ends, then closes everything.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining = true
	var lnErr error
	if s.ln != nil {
		if err := s.ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			lnErr = err
		}
	}
	for c := range s.conns {
		c.closeIfIdle()
	}
	s.mu.Unlock()
	s.serving.Wait()
	// gliderlabs' Shutdown waits for the connections it tracks (those
	// past the handshake); connections still in the handshake are closed
	// by their login timeout or just below.
	err := s.ssh.Shutdown(ctx)
	if err != nil {
		s.log.Warn("ssh shutdown: closing connections with sessions still running", "err", err)
		_ = s.ssh.Close()
	}
	s.mu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("ssh shutdown: %w", err)
	}
	return lnErr
}

// remoteAddr is the client's IP address for limits and the lockout.
func remoteAddr(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
