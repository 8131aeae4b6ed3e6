// Package web is gitgate's pages door: server-rendered HTML (html/template
// and embedded static files) for people in a browser, on the same HTTP
// server as Git and the API. It signs people in (password, then a second
// factor for 2FA users) into server-side sessions, protects every form
// against cross-site requests, speaks English and Japanese, and asks the
// same auth and repos services as the other doors for every rule
// (docs/web.md).
package web

import (
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/throttle"
)

// Sealer encrypts small values a browser carries for the server (the
// pending sign-in, a new token shown once) so that any replica can open
// them and nobody else can read or forge them. secrets.Keyring is one.
type Sealer interface {
	Seal(plaintext, binding string) (string, error)
	Open(sealed, binding string) (string, error)
}

// Links are the addresses shown on pages (clone URLs).
type Links struct {
	// BaseURL is the HTTP address people use, e.g. https://git.example.com.
	BaseURL string
	// SSHAddr is host:port of the SSH door; empty when unknown.
	SSHAddr string
}

// Config is what the pages need from the server.
type Config struct {
	Auth  *auth.Service
	Repos *repos.Service
	// Sealer protects the values the browser carries (required).
	Sealer Sealer
	Log    *slog.Logger // optional
	// Throttle is the failed-authentication lockout the Git doors share:
	// wrong passwords and codes on the sign-in pages count there too.
	// Nil disables.
	Throttle *throttle.Limiter
	// TrustedProxies may tell the client address in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// SecureCookies marks every cookie Secure: set it when people reach
	// gitgate over https (the server decides: an https external URL or native TLS; docs/web.md#cookies).
	SecureCookies bool
	// Links returns the external addresses at request time.
	Links func() Links
	// Metrics counts sign-in attempts (optional).
	Metrics *metrics.Metrics
}

// Handler serves the pages. Build it with New.
type Handler struct {
	cfg     Config
	auth    *auth.Service
	repos   *repos.Service
	log     *slog.Logger
	views   *views
	catalog *catalog
	mux     *http.ServeMux
	root    http.Handler
}

// New parses the templates and message catalogs (once, here) and builds
// the routes. It fails when a template or catalog is broken.
func New(cfg Config) (*Handler, error) {
	if cfg.Auth == nil || cfg.Sealer == nil {
		return nil, errors.New("web: Auth and Sealer are required")
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Links == nil {
		cfg.Links = func() Links { return Links{BaseURL: "http://localhost"} }
	}
	cat, err := loadCatalog()
	if err != nil {
		return nil, err
	}
	v, err := parseViews()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, auth: cfg.Auth, repos: cfg.Repos, log: cfg.Log, views: v, catalog: cat, mux: http.NewServeMux()}
	h.routes()

	// Go's cross-origin protection refuses a state-changing request a
	// browser says came from another site; the form token (csrf.go)
	// covers clients that send no such headers.
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(cfg.Links().BaseURL); err == nil && u.Scheme != "" && u.Host != "" {
		_ = cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := h.newRequest(w, r)
		q.lang = h.catalog.choose(nil, r.Header.Get("Accept-Language"))
		h.log.Info("web: cross-origin request refused", "method", r.Method, "path", r.URL.Path,
			"origin", r.Header.Get("Origin"), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		h.renderError(q, errCrossOrigin)
	}))
	h.root = cop.Handler(h.mux)
	return h, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("X-Frame-Options", "DENY")
	hdr.Set("Referrer-Policy", "same-origin")
	hdr.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "+
		"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
	h.root.ServeHTTP(w, r)
}

// access says who may open a route.
type access int

const (
	// public pages are served to everyone (sign-in, static files).
	public access = iota
	// signedIn pages send anonymous visitors to the sign-in page.
	signedIn
	// adminOnly pages answer 404 to everyone but admins, as GitLab does,
	// so their existence is not revealed.
	adminOnly
	// missing is every path and method without a page: 404 for everyone,
	// before any form token is asked for. Nothing changes on a 404, and a
	// 403 there would tell a POST to an admin route (404 for non-admins)
	// from a POST to no route at all.
	missing
)

// handle registers a page: pattern is a net/http ServeMux pattern with a
// method ("GET /-/profile", "POST /-/profile"). Every POST route checks
// the form token before fn runs. fn's error becomes an error page
// (errors.go).
func (h *Handler) handle(pattern string, who access, fn func(*request) error) {
	h.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		q := h.newRequest(w, r)
		if err := h.prepare(q, who); err != nil {
			h.renderError(q, err)
			return
		}
		if q.done {
			return
		}
		if err := fn(q); err != nil {
			h.renderError(q, err)
		}
	})
}

// prepare loads the session, chooses the language, enforces who, and for
// state-changing methods parses the form and checks its token.
func (h *Handler) prepare(q *request, who access) error {
	// The browser's language first, so that even a failure to load the
	// session (503) is explained in it; then the user's own choice.
	q.lang = h.catalog.choose(nil, q.r.Header.Get("Accept-Language"))
	if err := h.loadSession(q); err != nil {
		return err
	}
	q.lang = h.catalog.choose(q.user, q.r.Header.Get("Accept-Language"))
	switch {
	case who == missing, who == adminOnly && !q.isAdmin():
		return errNotFound
	case who != public && q.user == nil:
		if q.r.Method == http.MethodGet || q.r.Method == http.MethodHead {
			q.redirect(signInPath + "?redirect_to=" + url.QueryEscape(q.r.URL.RequestURI()))
			return nil
		}
		return errNotFound
	}
	if q.r.Method != http.MethodGet && q.r.Method != http.MethodHead {
		q.r.Body = http.MaxBytesReader(q.w, q.r.Body, maxFormBytes)
		if err := q.r.ParseForm(); err != nil {
			return errBadRequest
		}
		if !h.validToken(q, q.r.PostForm.Get(csrfField)) {
			h.log.Info("web: form token missing or wrong", "method", q.r.Method, "path", q.r.URL.Path)
			return errBadToken
		}
	}
	return nil
}

// maxFormBytes bounds a form body: pages post a few short fields.
const maxFormBytes = 64 << 10

// routes registers every page. Each area keeps its routes in its own
// function, in its own file.
func (h *Handler) routes() {
	h.mux.Handle("GET /-/static/", http.StripPrefix("/-/static/", staticHandler()))
	h.handle("GET /{$}", public, h.home)
	h.sessionRoutes()
	h.tokenRoutes()
	h.projectRoutes()
	h.twoFactorRoutes()
	h.profileRoutes()
	h.sshKeyRoutes()
	h.adminRoutes()
	// Everything else is a page that does not exist.
	h.handle("/", missing, func(*request) error { return errNotFound })
}

// home is "/": the sign-in page for visitors, the projects list for
// signed-in people (projects.go).
func (h *Handler) home(q *request) error {
	if q.user == nil {
		return h.signInPage(q)
	}
	return h.projectsList(q)
}

// clientAddr is the address the lockout counts for this request.
func (h *Handler) clientAddr(r *http.Request) netip.Addr {
	return throttle.ClientAddr(r.RemoteAddr, r.Header.Values("X-Forwarded-For"), h.cfg.TrustedProxies)
}

// localPath accepts a redirect target only when it stays on this site.
// Browsers drop tabs and newlines anywhere in a Location and read a
// backslash as a slash, so "/\t/evil.example" would leave the site as
// "//evil.example": no control character or backslash is accepted.
func localPath(s string) string {
	if !strings.HasPrefix(s, "/") || strings.HasPrefix(s, "//") || strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 || r == 0x7f || r == '\\'
	}) {
		return "/"
	}
	return s
}
