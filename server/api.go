package server

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/internal/buildinfo"
	"github.com/gitgate/gitgate/throttle"
)

// newAPI is the REST API door: GitLab's v4 API under /api/v4/. It has a
// failed-authentication lockout of its own, with the Git doors' limits:
// token guessing through /api/v4 is throttled, and a ban there (one CI job
// with a revoked token behind a NAT) does not lock the address out of Git,
// nor a Git ban out of the API.
func (s *Server) newAPI() (http.Handler, error) {
	lockout, err := s.newLockout(throttle.ScopeAPI)
	if err != nil {
		return nil, err
	}
	return api.New(api.Config{
		Revision:       buildinfo.Get().Revision(),
		Auth:           s.Auth,
		Repos:          s.Repos,
		Log:            s.log,
		Links:          s.apiLinks,
		Throttle:       lockout,
		TrustedProxies: s.trustedProxies,
		Metrics:        s.Metrics,
		Housekeeping: func(ctx context.Context, dir string, task housekeeping.Task) error {
			return s.housekeeping.RunNow(ctx, dir, task, s.cfg.pruneGrace())
		},
		MaxFileBytes:   int64(s.cfg.APIMaxFileBytes),
		AfterRefChange: s.refsChanged,
	}), nil
}

// refsChanged is told the repository directory after the API created or
// deleted a branch or tag: what a push does after receive-pack (gitop
// schedules housekeeping and drops the ref snapshot, telling the other
// replicas) follows here too.
func (s *Server) refsChanged(repoDir string) {
	s.housekeeping.Pushed(repoDir)
	s.refs.Invalidate(context.Background(), repoDir)
}

// mountAPI mounts the API door under api.Prefix.
func mountAPI(mux *http.ServeMux, h http.Handler) {
	// One pattern per method: a method-less "/api/v4/" would conflict
	// with a door that registers "GET /" (neither would be more specific).
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		mux.Handle(m+" "+api.Prefix+"/", h)
	}
}

// apiLinks gives the addresses shown in API objects: the configured
// external URL, or the bound address when the configuration named port 0.
func (s *Server) apiLinks() api.Links {
	l := s.cfg.Links()
	if strings.HasSuffix(l.BaseURL, ":0") || strings.Contains(l.BaseURL, ":0/") {
		l.BaseURL = s.scheme() + "://" + s.HTTPAddr()
	}
	l.SSHAddr = sshLinkAddr(s.cfg.SSHAddr, s.SSHAddr(), l.BaseURL)
	return l
}

// Links are the addresses a configuration shows in API objects; the CLI's
// --json uses them too, so it prints the URLs the API would.
func (c Config) Links() api.Links {
	c = c.Defaults()
	base := strings.TrimRight(c.ExternalURL, "/")
	return api.Links{BaseURL: base, SSHAddr: sshLinkAddr(c.SSHAddr, c.SSHAddr, base)}
}

// sshLinkAddr is the host:port shown in SSH clone URLs. Port 0 is the
// port the SSH door bound (none yet: no address); a listener on every
// interface (0.0.0.0, ::) is reached at the external URL's host.
func sshLinkAddr(configured, bound, baseURL string) string {
	addr := configured
	if strings.HasSuffix(addr, ":0") {
		addr = bound
		if strings.HasSuffix(addr, ":0") {
			return ""
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		if u, err := url.Parse(baseURL); err == nil && u.Hostname() != "" {
			host = u.Hostname()
		}
	}
	return net.JoinHostPort(host, port)
}
