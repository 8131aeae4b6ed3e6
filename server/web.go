package server

import (
	"net/http"

	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/web"
)

// newWeb is the pages door. It is the Git HTTP door's fallback: every
// path that is not a Git route (gitserver.ParseRoute decides, in one
// place) and not the API or the server's own /-/ endpoints is a page.
func (s *Server) newWeb(keys *secrets.Keyring) (http.Handler, error) {
	return web.New(web.Config{
		Auth:           s.Auth,
		Repos:          s.Repos,
		Sealer:         keys,
		Log:            s.log,
		Throttle:       s.throttle,
		TrustedProxies: s.trustedProxies,
		SecureCookies:  s.cfg.HTTPS() || s.cfg.NativeTLS(),
		Links: func() web.Links {
			l := s.apiLinks()
			return web.Links{BaseURL: l.BaseURL, SSHAddr: l.SSHAddr}
		},
		Metrics: s.Metrics,
	})
}
