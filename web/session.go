package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/throttle"
)

// The sign-in pages, at GitLab's paths.
const (
	signInPath    = "/users/sign_in"
	twoFactorPath = "/users/sign_in/two_factor"
	signOutPath   = "/users/sign_out"
	// pendingTTL is how long the second step may wait after the password.
	pendingTTL = 5 * time.Minute
)

func (h *Handler) sessionRoutes() {
	h.handle("GET "+signInPath, public, h.signInPage)
	h.handle("POST "+signInPath, public, h.signIn)
	h.handle("GET "+twoFactorPath, public, h.twoFactorPage)
	h.handle("POST "+twoFactorPath, public, h.twoFactor)
	h.handle("POST "+signOutPath, public, h.signOut)
}

// signInForm is the sign-in page's data.
type signInForm struct {
	Login      string
	RedirectTo string
	// Alert is a catalog key shown above the form.
	Alert string
}

func (h *Handler) signInPage(q *request) error {
	to := localPath(q.r.URL.Query().Get("redirect_to"))
	if q.user != nil {
		q.redirect(to)
		return nil
	}
	h.render(q, http.StatusOK, "sign_in", "signin.title", signInForm{RedirectTo: to})
	return nil
}

// signIn is the first step: login (username or email) and password,
// verified by auth.CheckLogin under the same bounds as every door: the
// per-address lockout the Git doors share (counted before the hash is
// computed), the bounded password verification and the per-account
// lockout. Bots and users without a password never get past it.
func (h *Handler) signIn(q *request) error {
	form := signInForm{Login: q.form("user[login]"), RedirectTo: localPath(q.form("redirect_to"))}
	password := q.form("user[password]")
	if form.Login == "" || password == "" {
		form.Alert = "signin.invalid"
		h.render(q, http.StatusOK, "sign_in", "signin.title", form)
		return nil
	}
	u, err := h.checkPassword(q, form.Login, password)
	switch {
	case errors.Is(err, throttle.ErrBanned):
		form.Alert = "signin.banned"
		h.render(q, http.StatusForbidden, "sign_in", "signin.title", form)
		return nil
	case errors.Is(err, auth.ErrInvalidCredential):
		form.Alert = "signin.invalid"
		h.render(q, http.StatusOK, "sign_in", "signin.title", form)
		return nil
	case err != nil:
		return err
	}
	if u.OTPEnabled {
		sealed, err := h.seal("pending-sign-in", strconv.FormatInt(u.ID, 10)+"\x00"+form.RedirectTo, pendingTTL)
		if err != nil {
			return err
		}
		h.setCookie(q, pendingCookie, sealed, twoFactorPath, int(pendingTTL/time.Second), http.SameSiteStrictMode)
		q.redirect(twoFactorPath)
		return nil
	}
	return h.startSession(q, u.ID, form.RedirectTo)
}

// checkPassword runs auth.CheckLogin with the address lockout around it,
// as the Git HTTP door does: a banned address is refused before any
// hash, an attempt is reserved before the hash is computed, and its
// outcome is recorded.
func (h *Handler) checkPassword(q *request, login, password string) (*auth.User, error) {
	lockout := h.cfg.Throttle
	addr := h.clientAddr(q.r)
	if lockout != nil && lockout.Banned(addr) {
		h.countAttempt("password", "banned")
		return nil, throttle.ErrBanned
	}
	check := lockout.Check(addr)
	u, err := h.auth.CheckLogin(q.ctx(), login, password, check.Reserve)
	switch {
	case errors.Is(err, throttle.ErrBanned):
		h.countAttempt("password", "banned")
	case errors.Is(err, throttle.ErrAttemptsPending), errors.Is(err, auth.ErrBusy):
		h.countAttempt("password", "busy")
		return nil, errBusy
	case errors.Is(err, auth.ErrInvalidCredential):
		h.countAttempt("password", "failure")
		check.Failed()
		h.log.Info("web sign-in failed", "reason", auth.RejectionReason(err), "addr", addr.String())
	case err != nil:
		check.Cancel()
		h.countAttempt("password", "error")
	default:
		h.countAttempt("password", "success")
		check.Succeeded()
	}
	return u, err
}

func (h *Handler) countAttempt(method, result string) {
	if h.cfg.Metrics != nil {
		h.cfg.Metrics.AuthAttempts.WithLabelValues("web", method, result).Inc()
	}
}

// pending opens the half-signed state: the user who gave the right
// password, and where they were going.
func (h *Handler) pending(q *request) (int64, string, bool) {
	v, ok := h.open("pending-sign-in", cookieValue(q.r, pendingCookie))
	if !ok {
		return 0, "", false
	}
	idText, to, _ := strings.Cut(v, "\x00")
	id, err := strconv.ParseInt(idText, 10, 64)
	if err != nil {
		return 0, "", false
	}
	return id, localPath(to), true
}

// twoFactorForm is the second step's data.
type twoFactorForm struct {
	Alert string
}

func (h *Handler) twoFactorPage(q *request) error {
	if _, _, ok := h.pending(q); !ok {
		q.redirect(signInPath)
		return nil
	}
	h.render(q, http.StatusOK, "two_factor", "signin.otp.title", twoFactorForm{})
	return nil
}

// twoFactor is the second step: a TOTP code or a recovery code (used up
// by auth). Wrong codes count against the address like wrong passwords.
func (h *Handler) twoFactor(q *request) error {
	id, to, ok := h.pending(q)
	if !ok {
		h.setFlash(q, "alert", "flash.sign_in_again")
		q.redirect(signInPath)
		return nil
	}
	lockout, addr := h.cfg.Throttle, h.clientAddr(q.r)
	if lockout != nil && lockout.Banned(addr) {
		h.countAttempt("otp", "banned")
		h.render(q, http.StatusForbidden, "two_factor", "signin.otp.title", twoFactorForm{Alert: "signin.banned"})
		return nil
	}
	err := h.auth.VerifySecondFactor(q.ctx(), id, q.form("user[otp_attempt]"))
	switch {
	case errors.Is(err, auth.ErrInvalidCredential):
		h.countAttempt("otp", "failure")
		if lockout != nil {
			lockout.Failure(addr)
		}
		h.render(q, http.StatusOK, "two_factor", "signin.otp.title", twoFactorForm{Alert: "signin.otp.invalid"})
		return nil
	case err != nil:
		h.countAttempt("otp", "error")
		return err
	}
	h.countAttempt("otp", "success")
	if lockout != nil {
		lockout.Success(addr)
	}
	h.clearCookie(q, pendingCookie, twoFactorPath)
	return h.startSession(q, id, to)
}

// startSession signs the browser in and goes on to where it was going.
func (h *Handler) startSession(q *request, userID int64, to string) error {
	secret, _, err := h.auth.CreateSession(q.ctx(), userID)
	if errors.Is(err, auth.ErrInvalidCredential) {
		h.render(q, http.StatusOK, "sign_in", "signin.title", signInForm{Alert: "signin.invalid", RedirectTo: to})
		return nil
	}
	if err != nil {
		return err
	}
	// Signing in again in a browser leaves no older session of it behind.
	if old := cookieValue(q.r, sessionCookie); old != "" {
		if err := h.auth.EndSession(q.ctx(), old); err != nil {
			return err
		}
	}
	h.setCookie(q, sessionCookie, secret, "/", 0, http.SameSiteLaxMode)
	q.redirect(to)
	return nil
}

// signOut ends the session everywhere (its row is deleted), not only in
// this browser.
func (h *Handler) signOut(q *request) error {
	if err := h.auth.EndSession(q.ctx(), q.sessionSecret); err != nil {
		return err
	}
	h.clearCookie(q, sessionCookie, "/")
	h.setFlash(q, "notice", "flash.signed_out")
	q.redirect(signInPath)
	return nil
}
