package auth

import (
	"errors"
	"fmt"
)

// ErrInvalidCredential is what every door answers 401 to: a wrong,
// expired or revoked token, a wrong password, a password where only a
// token may be used, a blocked owner. The wrapped reason is for logs only.
var ErrInvalidCredential = errors.New("invalid credential")

// ErrNotFound is returned for a user, token or key that does not exist.
var ErrNotFound = errors.New("not found")

// ErrForbidden is returned when the caller may not perform a management
// action (for example a non-admin creating an impersonation token).
var ErrForbidden = errors.New("forbidden")

// InputError is bad input from a caller: the doors show Msg as it is (the
// API as a field error on Field).
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Msg }

func inputErr(field, format string, args ...any) error {
	return &InputError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// ConflictError is a uniqueness violation the caller can fix.
type ConflictError struct {
	Field string
	Msg   string
}

func (e *ConflictError) Error() string { return e.Msg }

// rejection wraps ErrInvalidCredential with the reason, for logs.
type rejection struct{ reason string }

func (r *rejection) Error() string { return "invalid credential: " + r.reason }
func (r *rejection) Unwrap() error { return ErrInvalidCredential }

func reject(reason string) error { return &rejection{reason: reason} }

// RejectionReason returns the logged reason behind an ErrInvalidCredential.
func RejectionReason(err error) string {
	var r *rejection
	if errors.As(err, &r) {
		return r.reason
	}
	return ""
}
