package web

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gitgate/gitgate/auth"
)

// request is one page request on its way through a handler: what every
// page needs to know about the visitor, and the response being written.
type request struct {
	h *Handler
	w http.ResponseWriter
	r *http.Request
	// user is the signed-in user, nil for a visitor.
	user *auth.User
	// session is the signed-in browser's session and sessionSecret its
	// cookie value (both empty for a visitor).
	session       *auth.Session
	sessionSecret string
	// lang is the language the page is written in.
	lang string
	// done is set once a response (a redirect) has been written.
	done bool
}

func (h *Handler) newRequest(w http.ResponseWriter, r *http.Request) *request {
	return &request{h: h, w: w, r: r, lang: defaultLanguage}
}

// ctx is the request's context, for every call to a service.
// A signed-in request carries its session, so that auth keeps this
// browser signed in when the request changes the user's credentials.
func (q *request) ctx() context.Context {
	if q.sessionSecret != "" {
		return auth.WithActingSession(q.r.Context(), q.sessionSecret)
	}
	return q.r.Context()
}

// isAdmin reports whether the visitor is a signed-in admin.
func (q *request) isAdmin() bool { return q.user != nil && q.user.Admin }

// T translates a catalog message into the page's language.
func (q *request) T(key string, args ...any) string { return q.h.catalog.text(q.lang, key, args...) }

// redirect answers 303 See Other: after a POST the browser GETs the
// target, so reloading it never repeats the POST.
func (q *request) redirect(to string) {
	http.Redirect(q.w, q.r, to, http.StatusSeeOther)
	q.done = true
}

// form returns a posted field (prepare has parsed the form).
func (q *request) form(name string) string { return q.r.PostForm.Get(name) }

// formValues returns every value of a posted field.
func (q *request) formValues(name string) []string { return q.r.PostForm[name] }

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func atoi(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) }
