package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
)

// Cookies (docs/web.md#cookies). Every one is HttpOnly, and Secure when
// Config.SecureCookies says people reach gitgate over https.
const (
	// sessionCookie holds the session secret; the database holds only
	// its digest.
	sessionCookie = "_gitgate_session"
	// visitorCookie is a random value a visitor's forms are tied to
	// (sign-in), before there is a session.
	visitorCookie = "_gitgate_visitor"
	// pendingCookie is the sealed half-signed state between the password
	// and the second factor: it is not a session and opens no page.
	pendingCookie = "_gitgate_2fa"
	// flashCookie carries a one-shot message to the next page.
	flashCookie = "_gitgate_flash"
)

// csrfField is the form token's field, named as in GitLab (Rails).
const csrfField = "authenticity_token"

// setCookie writes a cookie with the attributes every gitgate cookie has.
// maxAge 0 makes a browser-session cookie; negative deletes it.
func (h *Handler) setCookie(q *request, name, value, path string, maxAge int, sameSite http.SameSite) {
	http.SetCookie(q.w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.SecureCookies, SameSite: sameSite})
}

func (h *Handler) clearCookie(q *request, name, path string) {
	h.setCookie(q, name, "", path, -1, http.SameSiteLaxMode)
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}

func randomValue() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// loadSession reads the session cookie. An unknown, expired or refused
// session is dropped (the visitor is signed out); a database that cannot
// answer is an error, so the visitor sees 503 and keeps their session.
func (h *Handler) loadSession(q *request) error {
	secret := cookieValue(q.r, sessionCookie)
	if secret == "" {
		return nil
	}
	s, u, err := h.auth.SessionUser(q.ctx(), secret)
	switch {
	case errors.Is(err, auth.ErrInvalidCredential):
		h.clearCookie(q, sessionCookie, "/")
		return nil
	case err != nil:
		return err
	}
	q.session, q.sessionSecret, q.user = s, secret, u
	return nil
}

// formToken is the token this visitor's forms carry: derived from the
// session secret for a signed-in browser, else from the visitor cookie
// (set here when missing). It reveals neither; a page from another site
// can read neither, so it cannot forge a form post.
func (h *Handler) formToken(q *request) string {
	if q.sessionSecret != "" {
		return deriveToken(q.sessionSecret)
	}
	v := cookieValue(q.r, visitorCookie)
	if v == "" || len(v) > 100 {
		v = randomValue()
		h.setCookie(q, visitorCookie, v, "/", 0, http.SameSiteLaxMode)
		// Later forms in this response see the same value.
		q.r.AddCookie(&http.Cookie{Name: visitorCookie, Value: v})
	}
	return deriveToken(v)
}

// validToken checks a posted form token against the browser's.
func (h *Handler) validToken(q *request, got string) bool {
	basis := q.sessionSecret
	if basis == "" {
		basis = cookieValue(q.r, visitorCookie)
	}
	if basis == "" || got == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(deriveToken(basis)), []byte(got)) == 1
}

func deriveToken(basis string) string {
	sum := sha256.Sum256([]byte("gitgate form token\x00" + basis))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// flash is a one-shot message shown on the next page.
type flash struct {
	// Kind is "notice" or "alert".
	Kind string
	// Text is the message in the page's language.
	Text string
}

// setFlash leaves a message (a catalog key) for the next page.
func (h *Handler) setFlash(q *request, kind, key string) {
	h.setCookie(q, flashCookie, kind+"."+key, "/", 60, http.SameSiteLaxMode)
}

// takeFlash reads and clears the message left by the previous request.
// Only catalog keys are shown, so the cookie cannot put text on a page.
func (h *Handler) takeFlash(q *request) []flash {
	v := cookieValue(q.r, flashCookie)
	if v == "" {
		return nil
	}
	h.clearCookie(q, flashCookie, "/")
	kind, key, _ := strings.Cut(v, ".")
	if (kind != "notice" && kind != "alert") || !strings.HasPrefix(key, "flash.") {
		return nil
	}
	if _, ok := h.catalog.messages[defaultLanguage][key]; !ok {
		return nil
	}
	return []flash{{Kind: kind, Text: q.T(key)}}
}

// seal and open protect values the browser carries for the server: bound
// to their purpose, with an expiry inside the sealed text.
func (h *Handler) seal(purpose, value string, ttl time.Duration) (string, error) {
	exp := h.auth.Now().Add(ttl).Unix()
	return h.cfg.Sealer.Seal(value+"\x00"+itoa(exp), "web:"+purpose)
}

func (h *Handler) open(purpose, sealed string) (string, bool) {
	if sealed == "" || len(sealed) > 4096 {
		return "", false
	}
	pt, err := h.cfg.Sealer.Open(sealed, "web:"+purpose)
	if err != nil {
		return "", false
	}
	i := strings.LastIndexByte(pt, 0)
	if i < 0 {
		return "", false
	}
	exp, err := atoi(pt[i+1:])
	if err != nil || h.auth.Now().Unix() >= exp {
		return "", false
	}
	return pt[:i], true
}
