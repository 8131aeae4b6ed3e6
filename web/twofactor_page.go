package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"net/http"
	"strings"
	"time"

	"github.com/pquerna/otp"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/throttle"
)

// The two-factor authentication page, at GitLab's path
// (docs/web.md#two-factor-authentication): set up an authenticator from
// a QR code or the secret, confirm it with a code and the password, see
// the recovery codes once; disable with the password and a code. Every
// change ends the user's other sessions. The rules (one pending secret,
// codes used once, recovery codes hashed) are auth's.
const (
	twoFactorAuthPath = "/-/profile/two_factor_auth"
	// enrolmentTTL is how long a set-up page may wait for its code.
	enrolmentTTL = 30 * time.Minute
	// recoveryCodesTTL is the life of the one-shot cookie that carries
	// the recovery codes from the confirming POST to the page.
	recoveryCodesTTL    = time.Minute
	recoveryCodesCookie = "_gitgate_recovery_codes"
)

// Form fields, as GitLab names them.
const (
	fieldPinCode         = "pin_code"
	fieldCurrentPassword = "current_password"
	fieldEnrolment       = "enrolment"
)

func (h *Handler) twoFactorRoutes() {
	h.handle("GET "+twoFactorAuthPath, signedIn, h.twoFactorAuthPage)
	h.handle("POST "+twoFactorAuthPath+"/setup", signedIn, h.beginTwoFactor)
	h.handle("POST "+twoFactorAuthPath, signedIn, h.confirmTwoFactor)
	h.handle("POST "+twoFactorAuthPath+"/disable", signedIn, h.disableTwoFactor)
}

// twoFactorData is the page's data.
type twoFactorData struct {
	Enabled bool
	// Setup is the enrolment being confirmed, nil otherwise.
	Setup *enrolmentView
	// RecoveryCodes are shown once, right after enabling.
	RecoveryCodes []string
}

// enrolmentView is what a person needs to set up an authenticator.
type enrolmentView struct {
	Secret string
	// QR is a PNG of the otpauth:// URI as a data: URI (the page needs no
	// second request, and the image is never cached).
	QR template.URL
	// Sealed carries the enrolment through the confirming form, so that
	// a wrong code shows the same QR code again.
	Sealed string
}

func (h *Handler) twoFactorAuthPage(q *request) error {
	data := twoFactorData{Enabled: q.user.OTPEnabled}
	if c := cookieValue(q.r, recoveryCodesCookie); c != "" {
		// Shown once: the cookie goes with this response.
		h.clearCookie(q, recoveryCodesCookie, twoFactorAuthPath)
		if v, ok := h.open(recoveryPurpose(q), c); ok && data.Enabled {
			data.RecoveryCodes = strings.Split(v, ",")
		}
	}
	h.renderPage(q, http.StatusOK, "twofa", &page{Title: "twofa.title", Nav: "two_factor", Data: data})
	return nil
}

func enrolmentPurpose(q *request) string { return "otp-enrolment:" + itoa(q.user.ID) }
func recoveryPurpose(q *request) string  { return "recovery-codes:" + itoa(q.user.ID) }

// beginTwoFactor starts an enrolment (auth.BeginTOTP stores the new
// secret, encrypted and not yet enabled) and shows it in this response,
// which no cache keeps.
func (h *Handler) beginTwoFactor(q *request) error {
	if q.user.OTPEnabled {
		q.redirect(twoFactorAuthPath)
		return nil
	}
	e, err := h.auth.BeginTOTP(q.ctx(), q.user.ID, "")
	var in *auth.InputError
	if errors.As(err, &in) {
		return errForbidden
	}
	if err != nil {
		return err
	}
	return h.showEnrolment(q, http.StatusOK, e.URI, nil)
}

// showEnrolment renders the set-up form for an otpauth:// URI.
func (h *Handler) showEnrolment(q *request, status int, uri string, errs map[string]string) error {
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return fmt.Errorf("two-factor enrolment: %w", err)
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return fmt.Errorf("two-factor QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("two-factor QR code: %w", err)
	}
	sealed, err := h.seal(enrolmentPurpose(q), uri, enrolmentTTL)
	if err != nil {
		return err
	}
	v := &enrolmentView{Secret: key.Secret(), Sealed: sealed,
		// The image is this server's own PNG, so the data: URI is safe.
		QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))}
	h.renderPage(q, status, "twofa", &page{Title: "twofa.title", Nav: "two_factor", Errors: errs, Data: twoFactorData{Setup: v}})
	return nil
}

// confirmTwoFactor enables two-factor authentication when the code
// matches the pending secret and the password is right; the recovery
// codes go to the page once, through a sealed one-shot cookie.
func (h *Handler) confirmTwoFactor(q *request) error {
	if q.user.OTPEnabled {
		q.redirect(twoFactorAuthPath)
		return nil
	}
	uri, ok := h.open(enrolmentPurpose(q), q.form(fieldEnrolment))
	if !ok {
		h.setFlash(q, "alert", "flash.twofa_setup_again")
		q.redirect(twoFactorAuthPath)
		return nil
	}
	errs := map[string]string{}
	if msg, err := h.verifyOwnPassword(q, q.form(fieldCurrentPassword)); err != nil {
		return err
	} else if msg != "" {
		errs[fieldCurrentPassword] = msg
		return h.showEnrolment(q, http.StatusUnprocessableEntity, uri, errs)
	}
	codes, err := h.auth.ConfirmTOTP(q.ctx(), q.user.ID, strings.TrimSpace(q.form(fieldPinCode)))
	var in *auth.InputError
	if errors.As(err, &in) {
		if in.Field != "otp_code" {
			h.setFlash(q, "alert", "flash.twofa_setup_again")
			q.redirect(twoFactorAuthPath)
			return nil
		}
		errs[fieldPinCode] = q.T("twofa.error.code")
		return h.showEnrolment(q, http.StatusUnprocessableEntity, uri, errs)
	}
	if err != nil {
		return err
	}
	sealed, err := h.seal(recoveryPurpose(q), strings.Join(codes, ","), recoveryCodesTTL)
	if err != nil {
		return err
	}
	h.setCookie(q, recoveryCodesCookie, sealed, twoFactorAuthPath, int(recoveryCodesTTL/time.Second), http.SameSiteStrictMode)
	h.setFlash(q, "notice", "flash.twofa_enabled")
	q.redirect(twoFactorAuthPath)
	return nil
}

// disableTwoFactor turns two-factor authentication off after the
// password and a code (or a recovery code) prove it is the owner.
func (h *Handler) disableTwoFactor(q *request) error {
	if !q.user.OTPEnabled {
		q.redirect(twoFactorAuthPath)
		return nil
	}
	errs := map[string]string{}
	msg, err := h.verifyOwnPassword(q, q.form(fieldCurrentPassword))
	if err != nil {
		return err
	}
	if msg != "" {
		errs[fieldCurrentPassword] = msg
	} else {
		ok, err := h.verifyOwnCode(q, q.form(fieldPinCode))
		if err != nil {
			return err
		}
		if !ok {
			errs[fieldPinCode] = q.T("twofa.error.code")
		}
	}
	if len(errs) > 0 {
		h.renderPage(q, http.StatusUnprocessableEntity, "twofa", &page{Title: "twofa.title", Nav: "two_factor", Errors: errs,
			Data: twoFactorData{Enabled: true}})
		return nil
	}
	if err := h.auth.DisableTOTP(q.ctx(), q.user.ID); err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.twofa_disabled")
	q.redirect(twoFactorAuthPath)
	return nil
}

// verifyOwnPassword checks the signed-in user's password as a sign-in
// does (auth.CheckLogin under the address lockout and the bounded,
// account-locking verification). It returns a message for the field when
// the password is refused, or the error page's error.
func (h *Handler) verifyOwnPassword(q *request, password string) (string, error) {
	if password == "" {
		return q.T("profile.error.current_password"), nil
	}
	_, err := h.checkPassword(q, q.user.Username, password)
	switch {
	case errors.Is(err, throttle.ErrBanned):
		return q.T("signin.banned"), nil
	case errors.Is(err, auth.ErrInvalidCredential):
		return q.T("profile.error.current_password"), nil
	}
	return "", err
}

// verifyOwnCode checks a TOTP or recovery code of the signed-in user
// (a recovery code is used up); a wrong code counts against the address
// as on the sign-in page.
func (h *Handler) verifyOwnCode(q *request, code string) (bool, error) {
	lockout, addr := h.cfg.Throttle, h.clientAddr(q.r)
	if lockout != nil && lockout.Banned(addr) {
		return false, nil
	}
	err := h.auth.VerifySecondFactor(q.ctx(), q.user.ID, code)
	if errors.Is(err, auth.ErrInvalidCredential) {
		if lockout != nil {
			lockout.Failure(addr)
		}
		return false, nil
	}
	return err == nil, err
}
