// Package api serves gitgate's GitLab-v4-compatible REST API under
// /api/v4: the same paths, JSON shapes, status codes, error bodies,
// pagination headers and authentication (PRIVATE-TOKEN, Bearer,
// private_token, Sudo) as GitLab, so unchanged GitLab clients work.
//
// Every credential goes through auth.Authenticate, every scope decision
// through auth.AllowsAPI and every project decision through
// repos.Authorize: the API adds no rules of its own.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/throttle"
)

// Prefix is where the API lives.
const Prefix = "/api/v4"

// MaxBodyBytes bounds a request body; more is 413.
const MaxBodyBytes = 1 << 20

// Config is what the API needs from the server.
type Config struct {
	Auth  *auth.Service
	Repos *repos.Service
	Log   *slog.Logger // optional
	// Links returns the external addresses at request time (the server
	// learns its bound port only when it starts).
	Links func() Links
	// Revision is reported by /version.
	Revision string
	// Throttle locks out addresses whose token attempts keep failing; the
	// API's own, apart from the Git doors' (docs/api.md). Nil disables.
	Throttle *throttle.Limiter
	// TrustedProxies may tell the client address in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// Metrics counts refused requests (optional).
	Metrics *metrics.Metrics
	// Housekeeping runs a maintenance task on a repository directory now
	// (POST /projects/:id/housekeeping); nil answers 503.
	Housekeeping func(ctx context.Context, repoDir string, task housekeeping.Task) error
	// MaxFileBytes bounds a file the repository files API returns, JSON
	// or raw (0: DefaultMaxFileBytes).
	MaxFileBytes int64
	// AfterRefChange, when set, is told the repository directory after
	// the API changed a ref (a branch or tag created or deleted), as the
	// Git doors tell theirs after a push. It must not block.
	AfterRefChange func(repoDir string)
}

// DefaultMaxFileBytes is MaxFileBytes when unset (10 MiB).
const DefaultMaxFileBytes = 10 << 20

// Handler serves /api/v4/.
type Handler struct {
	cfg    Config
	auth   *auth.Service
	repos  *repos.Service
	log    *slog.Logger
	routes []route
}

// New builds the API handler.
func New(cfg Config) *Handler {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Links == nil {
		cfg.Links = func() Links { return Links{BaseURL: "http://localhost"} }
	}
	h := &Handler{cfg: cfg, auth: cfg.Auth, repos: cfg.Repos, log: cfg.Log}
	h.routes = h.table()
	return h
}

// authMode says whether a route needs a signed-in caller.
type authMode int

const (
	// authRequired answers 401 to anonymous callers.
	authRequired authMode = iota
	// authOptional serves anonymous callers too (public projects), but a
	// credential that is presented must still be valid.
	authOptional
)

// scopeRule is how a route's token scope is checked.
type scopeRule int

const (
	// scopeDefault asks auth.AllowsAPI.
	scopeDefault scopeRule = iota
	// scopeUser is a user endpoint that read_user opens (docs/tokens.md#scopes).
	scopeUser
	// scopeAny accepts any scope: a token may always look at and revoke
	// itself (GitLab's SelfInformation endpoints allow every scope, so a
	// leaked Git-only token can still be revoked with its own value).
	scopeAny
	// scopeFiles is a read of repository files, raw files or archives,
	// which read_repository opens too (docs/tokens.md#scopes).
	scopeFiles
)

type route struct {
	method  string
	pattern []string // literal segments, or ":name" captures
	auth    authMode
	scope   scopeRule
	handle  func(*call) error
}

// call is one request on its way through a handler.
type call struct {
	h      *Handler
	w      http.ResponseWriter
	r      *http.Request
	ctx    context.Context
	vars   map[string]string
	p      *auth.Principal // nil when anonymous
	params *params
	now    time.Time
}

// ServeHTTP routes, authenticates, checks scopes and Sudo, parses
// parameters and runs the endpoint. Request counting and logging are the
// server's (server/middleware.go), for every door alike.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "SAMEORIGIN")
	hdr.Set("Cache-Control", "no-cache")

	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		writeError(w, errRouteNotFound)
		return
	}
	rt, vars, allowed := h.match(r.Method, segs)
	if rt == nil {
		if len(allowed) > 0 {
			hdr.Set("Allow", strings.Join(allowed, ", "))
			writeError(w, &apiError{status: http.StatusMethodNotAllowed, body: map[string]any{"error": "405 Not Allowed"}})
			return
		}
		writeError(w, errRouteNotFound)
		return
	}
	if r.ContentLength > MaxBodyBytes {
		writeError(w, errTooLarge)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)

	c := &call{h: h, w: w, r: r, ctx: r.Context(), vars: vars, now: h.auth.Now()}
	if err := c.authenticate(rt); err != nil {
		c.fail(err)
		return
	}
	ps, err := parseParams(r)
	if err != nil {
		c.fail(err)
		return
	}
	c.params = ps
	if err := rt.handle(c); err != nil {
		c.fail(err)
	}
}

// credential finds the token a GitLab client sends: the PRIVATE-TOKEN
// header, an Authorization Bearer header, or the private_token (or
// OAuth-style access_token) query parameter.
func credential(r *http.Request) (string, bool) {
	if t := r.Header.Get("Private-Token"); t != "" {
		return strings.TrimSpace(t), true
	}
	if a := r.Header.Get("Authorization"); a != "" {
		if scheme, rest, ok := strings.Cut(a, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(rest), true
		}
	}
	if r.URL.RawQuery != "" {
		q := r.URL.Query()
		if t := q.Get("private_token"); t != "" {
			return t, true
		}
		if t := q.Get("access_token"); t != "" {
			return t, true
		}
	}
	return "", false
}

// authenticate sets c.p from the request's credential, then applies the
// route's authentication and scope rules and Sudo. A banned address is
// refused before anything else, whatever its credential; a rejected token
// counts against its address, an accepted one clears the count.
func (c *call) authenticate(rt *route) error {
	lockout := c.h.cfg.Throttle
	var addr netip.Addr
	if lockout != nil {
		addr = throttle.ClientAddr(c.r.RemoteAddr, c.r.Header.Values("X-Forwarded-For"), c.h.cfg.TrustedProxies)
		if lockout.Banned(addr) {
			if c.h.cfg.Metrics != nil {
				c.h.cfg.Metrics.ThrottledRequests.WithLabelValues("api").Inc()
			}
			return errBanned
		}
	}
	secret, presented := credential(c.r)
	if presented {
		p, err := c.h.auth.Authenticate(c.ctx, auth.Credential{Kind: auth.CredToken, Secret: secret})
		if err != nil {
			if errors.Is(err, auth.ErrInvalidCredential) {
				if lockout != nil && lockout.Failure(addr) {
					c.h.log.Warn("api: address locked out after repeated authentication failures", "remote", addr.String())
				}
				return invalidCredential(err)
			}
			return err
		}
		if lockout != nil {
			lockout.Success(addr)
		}
		c.p = p
	}
	if c.p == nil {
		// Sudo without a credential is GitLab's 401 too.
		if rt.auth == authRequired || c.r.Header.Get("Sudo") != "" {
			return errUnauthorized
		}
		return nil
	}
	if rt.scope != scopeAny {
		ok, want := auth.AllowsAPI(c.p.Scopes, auth.APIRequest{
			ReadOnly:        c.r.Method == http.MethodGet || c.r.Method == http.MethodHead,
			UserEndpoint:    rt.scope == scopeUser,
			RepositoryFiles: rt.scope == scopeFiles,
		})
		if !ok {
			return insufficientScope(want)
		}
	}
	return c.sudo()
}

// sudo applies the Sudo header (or sudo parameter): only an admin's token
// carrying both sudo and api may act as someone else (docs/api.md#sudo).
func (c *call) sudo() error {
	target := strings.TrimSpace(c.r.Header.Get("Sudo"))
	if target == "" && c.r.URL.RawQuery != "" {
		target = strings.TrimSpace(c.r.URL.Query().Get("sudo"))
	}
	if target == "" {
		return nil
	}
	scopes := c.p.Scopes
	if !c.p.IsAdmin() || c.p.Token == nil || !hasScope(scopes, auth.ScopeSudo) || !hasScope(scopes, auth.ScopeAPI) {
		return forbidden("Must be admin to use sudo")
	}
	u, err := c.findUser(target)
	if err != nil {
		return err
	}
	acting := *c.p
	acting.User = u
	c.p = &acting
	return nil
}

func hasScope(scopes []string, s string) bool {
	for _, x := range scopes {
		if x == s {
			return true
		}
	}
	return false
}

// findUser resolves "42" or "username"; a missing user is 404 User Not
// Found.
func (c *call) findUser(idOrName string) (*auth.User, error) {
	var (
		u   *auth.User
		err error
	)
	if id, isNum := parseID(idOrName); isNum {
		u, err = c.h.auth.User(c.ctx, id)
	} else {
		u, err = c.h.auth.UserByUsername(c.ctx, idOrName)
	}
	if errors.Is(err, auth.ErrNotFound) {
		return nil, notFound("User")
	}
	return u, err
}

// signedIn reports whether there is a caller.
func (c *call) signedIn() bool { return c.p != nil && !c.p.IsAnonymous() }

// user is the acting user (after Sudo).
func (c *call) user() *auth.User { return c.p.User }

// isAdmin reports whether the acting user is an admin.
func (c *call) isAdmin() bool { return c.signedIn() && c.p.User.Admin }

// requireAdmin is GitLab's authenticated_as_admin!.
func (c *call) requireAdmin() error {
	if !c.isAdmin() {
		return forbidden("")
	}
	return nil
}

func (c *call) links() Links { return c.h.cfg.Links() }
