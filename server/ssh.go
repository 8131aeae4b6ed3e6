package server

import (
	"context"
	"fmt"

	"github.com/gitgate/gitgate/sshserver"
)

// The Git-over-SSH door (docs/ssh.md): started with the server, drained on
// shutdown. It shares the process runner, the failed-authentication
// lockout and housekeeping with the HTTP door (git.go).
func init() {
	components = append(components, component{
		name:     "git-ssh",
		start:    startSSH,
		shutdown: stopSSH,
	})
}

func (s *Server) sshConfig() sshserver.Config {
	return sshserver.Config{
		Addr:               s.cfg.SSHAddr,
		DataDir:            s.cfg.DataDir,
		LoginTimeout:       s.cfg.SSHLoginTimeout,
		IdleTimeout:        s.cfg.SSHIdleTimeout,
		KeepAliveInterval:  s.cfg.SSHKeepAliveInterval,
		KeepAliveCountMax:  s.cfg.SSHKeepAliveCountMax,
		MaxSessions:        s.cfg.SSHMaxSessions,
		MaxSessionsPerAddr: s.cfg.SSHMaxSessionsPerAddr,
		MaxSessionsPerConn: s.cfg.SSHMaxSessionsPerConn,
		MaxAuthTries:       s.cfg.SSHMaxAuthTries,
	}
}

func startSSH(s *Server) error {
	g := s.gitShared()
	if g.err != nil {
		return g.err
	}
	srv, err := sshserver.New(s.sshConfig(), sshserver.Deps{
		Auth:      s.Auth,
		Repos:     s.Repos,
		Runner:    g.Runner,
		Metrics:   s.Metrics,
		Log:       s.log,
		Throttle:  g.Throttle,
		AfterPush: g.Housekeeping.Pushed,
	})
	if err != nil {
		return fmt.Errorf("ssh: %w", err)
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	s.ssh = srv
	return nil
}

// stopSSH stops accepting and lets running Git operations finish within
// ctx (the server's shutdown timeout).
func stopSSH(s *Server, ctx context.Context) error {
	if s.ssh == nil {
		return nil
	}
	return s.ssh.Shutdown(ctx)
}

// SSHAddr is the bound SSH address (useful with port 0), or the
// configured one before Start.
func (s *Server) SSHAddr() string {
	if s.ssh == nil {
		return s.cfg.SSHAddr
	}
	return s.ssh.Addr()
}
