package web

import (
	"errors"
	"net/http"

	perm "github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/repos"
)

// pageError is an error page: its status and the catalog keys of its
// heading and explanation. A page handler returns one (or any error:
// see classify) and the error page is rendered in the layout.
type pageError struct {
	status  int
	heading string
	message string
}

func (e *pageError) Error() string { return http.StatusText(e.status) }

// The error pages. None of them ever says more than its catalog text: no
// error detail, and so no secret, reaches a page.
var (
	errNotFound    = &pageError{http.StatusNotFound, "error.404.heading", "error.404.message"}
	errForbidden   = &pageError{http.StatusForbidden, "error.403.heading", "error.403.message"}
	errCrossOrigin = &pageError{http.StatusForbidden, "error.403.heading", "error.csrf.cross_origin"}
	errBadToken    = &pageError{http.StatusForbidden, "error.403.heading", "error.csrf.token"}
	errBadRequest  = &pageError{http.StatusBadRequest, "error.400.heading", "error.400.message"}
	errInternal    = &pageError{http.StatusInternalServerError, "error.500.heading", "error.500.message"}
	errUnavailable = &pageError{http.StatusServiceUnavailable, "error.503.heading", "error.503.message"}
	errBusy        = &pageError{http.StatusServiceUnavailable, "error.503.heading", "error.busy.message"}
)

// classify maps a service error to its page: a database that cannot be
// reached is 503 (never "signed out" or "wrong password"), a missing
// object 404, a refused action 403, anything else 500.
func classify(err error) *pageError {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		return pe
	case errors.Is(err, auth.ErrUnavailable):
		return errUnavailable
	case errors.Is(err, auth.ErrBusy):
		return errBusy
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, perm.ErrNotFound), errors.Is(err, repos.ErrNamespaceNotFound):
		return errNotFound
	case errors.Is(err, auth.ErrForbidden):
		return errForbidden
	}
	return errInternal
}

// errorData is what the error template shows.
type errorData struct {
	Status  int
	Heading string
	Message string
}

// renderError writes err's error page. Server-side failures are logged
// with the request id; the error text comes from the services, which put
// no secret in their errors.
func (h *Handler) renderError(q *request, err error) {
	pe := classify(err)
	if pe.status >= 500 {
		h.log.Warn("web: page failed", "request_id", logging.RequestID(q.ctx()), "method", q.r.Method,
			"path", q.r.URL.Path, "status", pe.status, "err", err)
		if pe == errBusy {
			q.w.Header().Set("Retry-After", "1")
		}
	}
	h.render(q, pe.status, "error", pe.heading, errorData{Status: pe.status, Heading: pe.heading, Message: pe.message})
}
