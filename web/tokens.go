package web

import (
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
)

// The Access tokens page, at GitLab's path and with GitLab's form field
// names, so that scripts and password managers find them
// (docs/web.md#access-tokens). Every rule (scopes, sudo, expiry limits,
// rotation) is auth's: the page only shows and posts.
const (
	tokensPath = "/-/user_settings/personal_access_tokens"
	// newTokenTTL is how long the sealed one-shot cookie carrying a new
	// token to the page after the creating POST lives: long enough for
	// the redirect, too short to matter if it were left behind.
	newTokenTTL = time.Minute
)

func (h *Handler) tokenRoutes() {
	h.handle("GET "+tokensPath, signedIn, h.tokensPage)
	h.handle("POST "+tokensPath, signedIn, h.createToken)
	h.handle("GET "+tokensPath+"/{id}/revoke", signedIn, h.confirmRevokeToken)
	h.handle("POST "+tokensPath+"/{id}/revoke", signedIn, h.revokeToken)
	h.handle("POST "+tokensPath+"/{id}/rotate", signedIn, h.rotateToken)
}

// tokenForm is what the creation form holds (as posted, on an error).
type tokenForm struct {
	Name, Description, ExpiresAt string
	Scopes                       []string
}

// scopeChoice is one scope checkbox.
type scopeChoice struct {
	Name    string
	Checked bool
}

// tokensData is the page's data.
type tokensData struct {
	// NewToken is the secret of the token just created or rotated, shown
	// once; NewTokenName its name.
	NewToken, NewTokenName string
	Form                   tokenForm
	ScopeChoices           []scopeChoice
	// MinDate and MaxDate bound the date picker (MaxDate empty: no
	// limit); ExpiryRequired says whether the date may be left empty.
	MinDate, MaxDate string
	ExpiryRequired   bool
	Active, Inactive []tokenRow
}

// tokenRow is a token in one of the tables.
type tokenRow struct {
	auth.Token
	// State is "active", "expired" or "revoked".
	State string
}

// newTokenFields are GitLab's form field names.
const (
	fieldName        = "personal_access_token[name]"
	fieldDescription = "personal_access_token[description]"
	fieldExpiresAt   = "personal_access_token[expires_at]"
	fieldScopes      = "personal_access_token[scopes][]"
)

// tokenFields names a token form's fields: GitLab's personal access
// token form and its impersonation token form name them apart.
type tokenFields struct {
	Name, Description, ExpiresAt, Scopes string
}

var (
	personalTokenFields = tokenFields{fieldName, fieldDescription, fieldExpiresAt, fieldScopes}
	// impersonationTokenFields are GitLab's names on the admin area's
	// impersonation token form (impersonation_token[...]).
	impersonationTokenFields = tokenFields{"impersonation_token[name]", "impersonation_token[description]",
		"impersonation_token[expires_at]", "impersonation_token[scopes][]"}
)

func (h *Handler) tokensPage(q *request) error {
	var data tokensData
	if v, ok := h.open(newTokenPurpose(q), cookieValue(q.r, newTokenCookie)); ok {
		data.NewToken, data.NewTokenName, _ = strings.Cut(v, "\x00")
	}
	// Shown once: the cookie goes with this response, whatever happens.
	if cookieValue(q.r, newTokenCookie) != "" {
		h.clearCookie(q, newTokenCookie, tokensPath)
	}
	def, err := h.auth.DefaultExpiry(q.ctx())
	if err != nil {
		return err
	}
	data.Form.ExpiresAt = dateString(def)
	return h.showTokens(q, http.StatusOK, data, nil)
}

// showTokens fills in what every rendering of the page needs and renders
// it with the given form and field errors.
func (h *Handler) showTokens(q *request, status int, data tokensData, fieldErrors map[string]string) error {
	st, err := h.auth.Settings(q.ctx())
	if err != nil {
		return err
	}
	today := auth.Today(h.auth.Now())
	data.MinDate = auth.AddDays(today, 1).Format(auth.DateLayout)
	if st.MaxLifetimeDays > 0 {
		data.MaxDate = auth.AddDays(today, st.MaxLifetimeDays).Format(auth.DateLayout)
	}
	data.ExpiryRequired = st.RequireExpiry || st.MaxLifetimeDays > 0
	for _, s := range auth.Scopes {
		if s.Name == auth.ScopeSudo && !q.isAdmin() {
			continue
		}
		data.ScopeChoices = append(data.ScopeChoices, scopeChoice{Name: s.Name, Checked: slices.Contains(data.Form.Scopes, s.Name)})
	}
	notImpersonation := false
	for _, list := range []struct {
		state string
		dst   *[]tokenRow
	}{{"active", &data.Active}, {"inactive", &data.Inactive}} {
		tokens, _, err := h.auth.ListTokens(q.ctx(), auth.TokenFilter{UserID: q.user.ID, Impersonation: &notImpersonation, State: list.state})
		if err != nil {
			return err
		}
		now := h.auth.Now()
		for _, t := range tokens {
			*list.dst = append(*list.dst, tokenRow{Token: t, State: string(auth.StateOf(&t, now))})
		}
	}
	// Newest first, as GitLab lists them.
	for _, l := range [][]tokenRow{data.Active, data.Inactive} {
		slices.Reverse(l)
	}
	h.renderPage(q, status, "tokens", &page{Title: "tokens.title", Nav: "tokens", Errors: fieldErrors, Data: data})
	return nil
}

// createToken creates a token with auth.CreateToken. On bad input the
// form comes back with the message next to its field and nothing is
// created; on success the browser is sent to the page with the secret in
// a sealed one-shot cookie, so the secret is in no URL, no log, no
// server-side store, and a reload does not show it again.
func (h *Handler) createToken(q *request) error {
	form := tokenForm{Name: q.form(fieldName), Description: q.form(fieldDescription),
		ExpiresAt: strings.TrimSpace(q.form(fieldExpiresAt)), Scopes: q.formValues(fieldScopes)}
	in := auth.NewToken{UserID: q.user.ID, Name: form.Name, Description: form.Description, Scopes: form.Scopes}
	fieldErrors := map[string]string{}
	if form.ExpiresAt != "" {
		d, err := auth.ParseDate(form.ExpiresAt)
		if err != nil {
			fieldErrors[fieldExpiresAt] = q.T("tokens.error.date_format")
		} else {
			in.ExpiresAt = &d
		}
	}
	if len(fieldErrors) == 0 {
		created, err := h.auth.CreateToken(q.ctx(), in)
		if err == nil {
			return h.showNewToken(q, created)
		}
		if !h.tokenFieldError(q, err, personalTokenFields, fieldErrors) {
			return err
		}
	}
	return h.showTokens(q, http.StatusUnprocessableEntity, tokensData{Form: form}, fieldErrors)
}

// tokenFieldError turns auth's refusal of a token into a message next to
// its field (named by f), in the page's language; false when err is no
// input error.
func (h *Handler) tokenFieldError(q *request, err error, f tokenFields, out map[string]string) bool {
	var in *auth.InputError
	var conflict *auth.ConflictError
	switch {
	case errors.As(err, &in):
		switch in.Field {
		case "name":
			out[f.Name] = q.T("tokens.error.name")
		case "description":
			out[f.Description] = q.T("tokens.error.description")
		case "scopes":
			out[f.Scopes] = q.T("tokens.error.scopes")
		case "expires_at":
			today := auth.Today(h.auth.Now())
			min := auth.AddDays(today, 1).Format(auth.DateLayout)
			st, serr := h.auth.Settings(q.ctx())
			if serr == nil && st.MaxLifetimeDays > 0 {
				out[f.ExpiresAt] = q.T("tokens.error.expires_between", min, auth.AddDays(today, st.MaxLifetimeDays).Format(auth.DateLayout))
			} else {
				out[f.ExpiresAt] = q.T("tokens.error.expires_after", min)
			}
		default:
			out[""] = in.Msg
		}
		return true
	case errors.As(err, &conflict):
		out[""] = conflict.Msg
		return true
	}
	return false
}

const newTokenCookie = "_gitgate_new_token"

// newTokenPurpose binds the one-shot cookie to the user who created the
// token: the cookie outlives a sign-out, and whoever signs in next in the
// same browser must not be shown it.
func newTokenPurpose(q *request) string { return "new-token:" + itoa(q.user.ID) }

// showNewToken seals a new secret into the one-shot cookie and sends the
// browser to the page that shows it.
func (h *Handler) showNewToken(q *request, created *auth.CreatedToken) error {
	sealed, err := h.seal(newTokenPurpose(q), created.Secret+"\x00"+created.Token.Name, newTokenTTL)
	if err != nil {
		return err
	}
	h.setCookie(q, newTokenCookie, sealed, tokensPath, int(newTokenTTL/time.Second), http.SameSiteStrictMode)
	q.redirect(tokensPath)
	return nil
}

// ownToken loads a token of the signed-in user from the {id} of the path;
// anyone else's token, and impersonation tokens (an admin's grant, shown
// only in the admin area), are 404.
func (h *Handler) ownToken(q *request) (*auth.Token, error) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errNotFound
	}
	t, err := h.auth.Token(q.ctx(), id)
	if err != nil {
		return nil, err
	}
	if t.UserID != q.user.ID || t.Impersonation {
		return nil, errNotFound
	}
	return t, nil
}

// confirmRevokeToken is the confirmation step, a page of its own so that
// it works without JavaScript.
func (h *Handler) confirmRevokeToken(q *request) error {
	t, err := h.ownToken(q)
	if err != nil {
		return err
	}
	if t.Revoked {
		q.redirect(tokensPath)
		return nil
	}
	h.renderPage(q, http.StatusOK, "token_revoke", &page{Title: "tokens.revoke.title", Nav: "tokens", Data: t})
	return nil
}

func (h *Handler) revokeToken(q *request) error {
	t, err := h.ownToken(q)
	if err != nil {
		return err
	}
	if _, err := h.auth.RevokeToken(q.ctx(), t.ID); err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.token_revoked")
	q.redirect(tokensPath)
	return nil
}

// rotateToken revokes a token and shows its successor once (same name and
// scopes, auth's default expiry for rotated tokens).
func (h *Handler) rotateToken(q *request) error {
	t, err := h.ownToken(q)
	if err != nil {
		return err
	}
	created, err := h.auth.RotateToken(q.ctx(), t.ID, nil)
	var in *auth.InputError
	if errors.As(err, &in) {
		h.setFlash(q, "alert", "flash.token_not_rotated")
		q.redirect(tokensPath)
		return nil
	}
	if err != nil {
		return err
	}
	return h.showNewToken(q, created)
}

func dateString(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(auth.DateLayout)
}
