package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/throttle"
)

// apiError is a response GitLab would give, with its exact body.
type apiError struct {
	status int
	body   any
	header map[string]string
}

func (e *apiError) Error() string {
	b, _ := json.Marshal(e.body)
	return fmt.Sprintf("%d %s", e.status, b)
}

func message(status int, msg string) *apiError {
	return &apiError{status: status, body: map[string]any{"message": msg}}
}

// grapeError is the {"error": "..."} body GitLab's parameter validation
// (Grape) answers with.
func grapeError(status int, msg string) *apiError {
	return &apiError{status: status, body: map[string]any{"error": msg}}
}

var (
	errUnauthorized  = message(http.StatusUnauthorized, "401 Unauthorized")
	errRouteNotFound = grapeError(http.StatusNotFound, "404 Not Found")
	errTooLarge      = message(http.StatusRequestEntityTooLarge, "413 Request Entity Too Large")
	errUnavailable   = message(http.StatusServiceUnavailable, "503 Service Unavailable")
	errInternal      = message(http.StatusInternalServerError, "500 Internal Server Error")
	// errBanned is the Git doors' answer to a locked-out address, as JSON.
	errBanned = message(http.StatusForbidden, throttle.Message)
)

// notFound is GitLab's not_found!(resource): "404 User Not Found", or
// "404 Not Found" without a resource.
func notFound(resource string) *apiError {
	if resource == "" {
		return message(http.StatusNotFound, "404 Not Found")
	}
	return message(http.StatusNotFound, "404 "+resource+" Not Found")
}

// forbidden is GitLab's forbidden!(reason).
func forbidden(reason string) *apiError {
	if reason == "" {
		return message(http.StatusForbidden, "403 Forbidden")
	}
	return message(http.StatusForbidden, "403 Forbidden - "+reason)
}

// badRequest is GitLab's bad_request!(reason).
func badRequest(reason string) *apiError {
	if reason == "" {
		return message(http.StatusBadRequest, "400 Bad request")
	}
	return message(http.StatusBadRequest, "400 Bad request - "+reason)
}

// validation is GitLab's render_validation_error!: {"message": {field: [msg]}}.
func validation(field, msg string) *apiError {
	if field == "" {
		field = "base"
	}
	return &apiError{status: http.StatusBadRequest, body: map[string]any{"message": map[string][]string{field: {msg}}}}
}

// invalidParam is Grape's coercion failure: "user_id is invalid".
func invalidParam(name string) *apiError {
	return grapeError(http.StatusBadRequest, name+" is invalid")
}

// invalidValue is Grape's values: failure.
func invalidValue(name string) *apiError {
	return grapeError(http.StatusBadRequest, name+" does not have a valid value")
}

// missingParams is Grape's requires: failure for every missing name.
func missingParams(names ...string) *apiError {
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + " is missing"
	}
	return grapeError(http.StatusBadRequest, strings.Join(parts, ", "))
}

// Descriptions GitLab's API guard gives for token states (rack-oauth2
// invalid_token responses).
const (
	descExpired       = "Token is expired. You can either do re-authorization or token refresh."
	descRevoked       = "Token was revoked. You have to re-authorize from the user."
	descImpersonation = "Token is an impersonation token but impersonation was disabled."
	descScope         = "The request requires higher privileges than provided by the access token."
)

// invalidCredential answers a rejected token as GitLab does: a revoked,
// expired or impersonation-disabled token gets OAuth's invalid_token
// error; an unknown token (and, in gitgate, a blocked owner's token) the
// plain 401.
func invalidCredential(err error) *apiError {
	desc := ""
	switch auth.RejectionReason(err) {
	case "token revoked":
		desc = descRevoked
	case "token expired":
		desc = descExpired
	case "impersonation disabled":
		desc = descImpersonation
	}
	if desc == "" {
		return errUnauthorized
	}
	return &apiError{
		status: http.StatusUnauthorized,
		body:   map[string]any{"error": "invalid_token", "error_description": desc},
		header: map[string]string{"WWW-Authenticate": fmt.Sprintf(`Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description=%q`, desc)},
	}
}

// insufficientScope is GitLab's 403 for a token whose scopes do not open
// the endpoint; scope lists the scopes that would.
func insufficientScope(want []string) *apiError {
	return &apiError{status: http.StatusForbidden, body: map[string]any{
		"error": "insufficient_scope", "error_description": descScope, "scope": strings.Join(want, " "),
	}}
}

func writeError(w http.ResponseWriter, e *apiError) {
	for k, v := range e.header {
		w.Header().Set(k, v)
	}
	writeJSON(w, e.status, e.body)
}

// fail answers err: GitLab's body for known errors, 503 when the
// database is unreachable (never 401: a caller must not conclude its
// token is bad), 500 otherwise.
func (c *call) fail(err error) {
	var (
		ae *apiError
		ai *auth.InputError
		ri *repos.InputError
		ac *auth.ConflictError
		rc *repos.ConflictError
		mb *http.MaxBytesError
	)
	switch {
	case errors.As(err, &ae):
		writeError(c.w, ae)
	case errors.As(err, &mb):
		writeError(c.w, errTooLarge)
	case errors.Is(err, auth.ErrUnavailable):
		c.h.log.Warn("api: database unavailable", "method", c.r.Method, "path", c.r.URL.Path, "err", err)
		writeError(c.w, errUnavailable)
	case errors.As(err, &ai):
		writeError(c.w, validation(ai.Field, ai.Msg))
	case errors.As(err, &ri):
		writeError(c.w, validation(ri.Field, ri.Msg))
	case errors.As(err, &ac):
		writeError(c.w, message(http.StatusConflict, conflictMessage(ac)))
	case errors.As(err, &rc):
		writeError(c.w, message(http.StatusConflict, rc.Msg))
	case errors.Is(err, auth.ErrNotFound):
		writeError(c.w, notFound(""))
	case errors.Is(err, access.ErrNotFound), errors.Is(err, access.ErrUnauthenticated):
		writeError(c.w, notFound("Project"))
	case errors.Is(err, context.Canceled):
		// The client went away; nobody reads this.
		writeError(c.w, errUnavailable)
	default:
		var fe *access.ForbiddenError
		if errors.As(err, &fe) {
			writeError(c.w, forbidden(""))
			return
		}
		c.h.log.Error("api: request failed", "method", c.r.Method, "path", c.r.URL.Path, "err", err)
		writeError(c.w, errInternal)
	}
}

// conflictMessage words a uniqueness conflict as GitLab does.
func conflictMessage(c *auth.ConflictError) string {
	switch c.Field {
	case "username":
		return "Username has already been taken"
	case "email":
		return "Email has already been taken"
	}
	return c.Msg
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if status == http.StatusNoContent {
		w.WriteHeader(status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, err := json.Marshal(v)
	if err != nil {
		// Entities are plain structs; this cannot happen short of a bug.
		b = []byte(`{"message":"500 Internal Server Error"}`)
	}
	_, _ = w.Write(b)
}
