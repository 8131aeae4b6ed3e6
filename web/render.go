package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
)

//go:embed templates static locales
var files embed.FS

// views holds every page template, parsed once at start-up: each page is
// the layout plus the page's own file.
type views struct {
	pages map[string]*template.Template
}

// staticVersions maps a static file to a digest of its content, which its
// URL carries so browsers may cache it for good.
var staticVersions = map[string]string{}

func init() {
	_ = fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		staticVersions[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
}

// funcs are the template functions; none depends on the request (the
// language travels in the page data: {{$.T "key"}}).
var funcs = template.FuncMap{
	// date writes a time as YYYY-MM-DD in UTC, as expiry dates are
	// defined (docs/tokens.md); a nil *time.Time writes nothing.
	"date": func(v any) string {
		switch t := v.(type) {
		case time.Time:
			return t.UTC().Format(auth.DateLayout)
		case *time.Time:
			if t != nil {
				return t.UTC().Format(auth.DateLayout)
			}
		}
		return ""
	},
	// static is a static file's URL, with its content version.
	"static": func(name string) (string, error) {
		v, ok := staticVersions[name]
		if !ok {
			return "", fmt.Errorf("no static file %q", name)
		}
		return "/-/static/" + name + "?v=" + v, nil
	},
	"contains": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"join": strings.Join,
	// tokenFields hands the token form's shared fields
	// (token_expiry_and_scopes in layout.html) the page and the name
	// prefix of its form.
	"tokenFields": func(p *page, prefix string) tokenFieldsView { return tokenFieldsView{page: p, Prefix: prefix} },
}

// tokenFieldsView is a page seen by the shared token form fields, with
// the prefix of the form's field names.
type tokenFieldsView struct {
	*page
	Prefix string
}

func parseViews() (*views, error) {
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	v := &views{pages: map[string]*template.Template{}}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(files, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("web: parse template %s: %w", n, err)
		}
		v.pages[base] = t
	}
	return v, nil
}

// page is what every template receives: the layout's needs (title,
// language, the signed-in user, navigation, flash messages, the form
// token) and the page's own Data.
type page struct {
	q *request
	// Title is the catalog key of the page title.
	Title string
	// User is the signed-in user, nil for a visitor.
	User *auth.User
	// Lang is the page's language tag (<html lang>).
	Lang string
	// CSRF is the form token every POST form carries (field
	// authenticity_token; the "csrf" template writes the field).
	CSRF string
	// Flash are one-shot messages from the previous request.
	Flash []flash
	// Nav names the navigation entry of this page.
	Nav string
	// Errors are field errors: the field's form name → message.
	Errors map[string]string
	Data   any
}

// T translates a catalog key into the page's language ({{$.T "key"}}).
func (p *page) T(key string, args ...any) string { return p.q.T(key, args...) }

// IsAdmin reports whether the signed-in user is an admin.
func (p *page) IsAdmin() bool { return p.q.isAdmin() }

// Languages lists the languages of the catalog, for a language menu.
func (p *page) Languages() []string { return p.q.h.catalog.languages() }

// render writes a page: the template name (templates/<name>.html), the
// catalog key of its title, and its data. The page is rendered into a
// buffer first, so a template failure is a clean 500, never half a page.
func (h *Handler) render(q *request, status int, name, title string, data any) {
	h.renderPage(q, status, name, &page{Title: title, Data: data})
}

// renderPage is render with the page's other fields (Nav, Errors) set.
func (h *Handler) renderPage(q *request, status int, name string, p *page) {
	t, ok := h.views.pages[name]
	if !ok {
		h.log.Error("web: no such template", "name", name)
		t, status = h.views.pages["error"], http.StatusInternalServerError
		p = &page{Title: errInternal.heading, Data: errorData{Status: status, Heading: errInternal.heading, Message: errInternal.message}}
	}
	p.q, p.User, p.Lang = q, q.user, q.lang
	p.CSRF = h.formToken(q)
	p.Flash = h.takeFlash(q)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.Error("web: render failed", "template", name, "err", err)
		http.Error(q.w, "Internal server error.", http.StatusInternalServerError)
		return
	}
	hdr := q.w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	// Pages show a person's own data: no cache keeps a copy.
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("Content-Language", q.lang)
	hdr.Add("Vary", "Accept-Language, Cookie")
	q.w.WriteHeader(status)
	_, _ = q.w.Write(buf.Bytes())
}

// staticHandler serves the embedded static files; their URLs carry a
// content version, so they may be cached for good.
func staticHandler() http.Handler {
	sub, err := fs.Sub(files, "static")
	if err != nil {
		panic(err)
	}
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := staticVersions[r.URL.Path]; !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		fsrv.ServeHTTP(w, r)
	})
}
