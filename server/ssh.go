package server

import (
	"fmt"

	"github.com/gitgate/gitgate/sshserver"
)

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
		UploadPackMaxInput: int64(s.cfg.UploadPackMaxRequestBytes),
		Ciphers:            s.cfg.SSHCiphers,
	}
}

// newSSH is the Git-over-SSH door: it loads (or on first start
// creates) the host keys, and shares the process runner, the
// failed-authentication lockout and housekeeping with the HTTP door
// (git.go). Start makes it listen; Shutdown drains it.
func (s *Server) newSSH() (*sshserver.Server, error) {
	srv, err := sshserver.New(s.sshConfig(), sshserver.Deps{
		Auth:     s.Auth,
		Git:      s.gitOps,
		Metrics:  s.Metrics,
		Log:      s.log,
		Throttle: s.throttle,
	})
	if err != nil {
		return nil, fmt.Errorf("ssh: %w", err)
	}
	return srv, nil
}

// SSHAddr is the bound SSH address (useful with port 0), or the
// configured one before Start.
func (s *Server) SSHAddr() string {
	if s.ssh == nil {
		return s.cfg.SSHAddr
	}
	return s.ssh.Addr()
}
