package server

import (
	"net/http"
	"strings"

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
		SecureCookies:  secureCookies(s.cfg),
		Links: func() web.Links {
			l := s.apiLinks()
			return web.Links{BaseURL: l.BaseURL, SSHAddr: l.SSHAddr}
		},
		Metrics: s.Metrics,
	})
}

// secureCookies says whether browsers reach gitgate over https, so that
// every cookie must be Secure (docs/web.md#cookies). The external URL is
// what people type; a server that terminates TLS itself is https too.
func secureCookies(cfg Config) bool {
	return strings.HasPrefix(strings.ToLower(cfg.ExternalURL), "https://")
}
