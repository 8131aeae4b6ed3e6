package server

import (
	"fmt"

	"github.com/gitgate/gitgate/throttle"
)

// newLockout builds a failed-authentication lockout with the configured
// limits. The Git doors share one and the API has its own (docs/api.md):
// a client failing on one must not lock the other out of its address.
func (s *Server) newLockout() (*throttle.Limiter, error) {
	allow, err := throttle.ParsePrefixes(s.cfg.AuthLockoutAllowList)
	if err != nil {
		err = fmt.Errorf("GITGATE_AUTH_LOCKOUT_ALLOWLIST: %w", err)
	}
	return throttle.New(throttle.Config{
		MaxFailures: s.cfg.AuthLockoutFailures,
		Window:      s.cfg.AuthLockoutWindow,
		BanDuration: s.cfg.AuthLockoutDuration,
		AllowList:   allow,
		Now:         s.cfg.Now,
	}), err
}
