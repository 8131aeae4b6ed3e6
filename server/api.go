package server

import (
	"context"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/housekeeping"
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
	}), nil
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
	base := s.cfg.ExternalURL
	if strings.HasSuffix(base, ":0") || strings.Contains(base, ":0/") {
		base = "http://" + s.HTTPAddr()
	}
	ssh := s.cfg.SSHAddr
	if strings.HasSuffix(ssh, ":0") {
		// The SSH door binds later; an address with port 0 is no address.
		ssh = ""
	}
	return api.Links{BaseURL: strings.TrimRight(base, "/"), SSHAddr: ssh}
}
