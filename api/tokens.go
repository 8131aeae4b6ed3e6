package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gitgate/gitgate/auth"
)

// timeValue keeps the filter table below readable.
type timeValue = time.Time

// tokenFilter reads the filters of GET /personal_access_tokens and the
// impersonation token list.
func (c *call) tokenFilter(pg page) (auth.TokenFilter, error) {
	f := auth.TokenFilter{Offset: pg.offset(), Limit: pg.PerPage}
	state, _, err := c.params.str("state")
	if err != nil {
		return f, err
	}
	switch state {
	case "", "all":
	case "active", "inactive":
		f.State = state
	default:
		return f, invalidValue("state")
	}
	if b, ok, err := c.params.boolean("revoked"); err != nil {
		return f, err
	} else if ok {
		f.Revoked = &b
	}
	if f.Search, _, err = c.params.str("search"); err != nil {
		return f, err
	}
	for name, dst := range map[string]**timeValue{
		"created_after": &f.CreatedAfter, "created_before": &f.CreatedBefore,
		"last_used_after": &f.UsedAfter, "last_used_before": &f.UsedBefore,
	} {
		if *dst, err = c.params.dateTime(name); err != nil {
			return f, err
		}
	}
	for name, dst := range map[string]**timeValue{"expires_after": &f.ExpiresAfter, "expires_before": &f.ExpiresBefore} {
		if *dst, err = c.params.date(name); err != nil {
			return f, err
		}
	}
	return f, nil
}

func (c *call) tokenList(pg page, f auth.TokenFilter) error {
	tokens, total, err := c.h.auth.ListTokens(c.ctx, f)
	if err != nil {
		return err
	}
	out := make([]Token, len(tokens))
	for i := range tokens {
		out[i] = TokenJSON(&tokens[i], c.now)
	}
	return writeList(c, pg, total, out)
}

// GET /personal_access_tokens: a user's own (non-impersonation) tokens;
// an admin's view is every token, or one user's with user_id. A
// non-admin naming another user_id is 401, as in GitLab.
func listTokens(c *call) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	f, err := c.tokenFilter(pg)
	if err != nil {
		return err
	}
	uid, hasUID, err := c.params.id("user_id")
	if err != nil {
		return err
	}
	if c.isAdmin() {
		if hasUID {
			if _, err := c.h.auth.User(c.ctx, uid); errors.Is(err, auth.ErrNotFound) {
				return notFound("")
			} else if err != nil {
				return err
			}
			f.UserID = uid
		}
	} else {
		if hasUID && uid != c.user().ID {
			return errUnauthorized
		}
		no := false
		f.UserID, f.Impersonation = c.user().ID, &no
	}
	return c.tokenList(pg, f)
}

// ownsToken reports whether the acting user may manage t as its owner.
// An impersonation token is an admin's, not the impersonated user's
// (GitLab's PersonalAccessTokenPolicy: owner only when not impersonation),
// so to that user it is like anyone else's token.
func (c *call) ownsToken(t *auth.Token) bool {
	return t.UserID == c.user().ID && !t.Impersonation
}

// manageableToken loads a token the caller may see or change: their own,
// or any for an admin. GitLab tells only admins that a token does not
// exist; everyone else gets 401 either way.
func (c *call) manageableToken() (*auth.Token, error) {
	id, err := c.pathID("id")
	if err != nil {
		return nil, err
	}
	t, err := c.h.auth.Token(c.ctx, id)
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		return nil, err
	}
	if t != nil && (c.isAdmin() || c.ownsToken(t)) {
		return t, nil
	}
	if c.isAdmin() {
		return nil, notFound("")
	}
	return nil, errUnauthorized
}

// GET /personal_access_tokens/:id
func getToken(c *call) error {
	t, err := c.manageableToken()
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, TokenJSON(t, c.now))
	return nil
}

// GET /personal_access_tokens/self: the token of this request.
func getSelfToken(c *call) error {
	writeJSON(c.w, http.StatusOK, TokenJSON(c.p.Token, c.now))
	return nil
}

// DELETE /personal_access_tokens/:id: 204; an unknown id is GitLab's
// RecordNotFound ("404 Not found"), someone else's token 400.
func revokeToken(c *call) error {
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	t, err := c.h.auth.Token(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return message(http.StatusNotFound, "404 Not found")
	}
	if err != nil {
		return err
	}
	if !c.isAdmin() && !c.ownsToken(t) {
		return badRequest("")
	}
	if _, err := c.h.auth.RevokeToken(c.ctx, t.ID); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}

// DELETE /personal_access_tokens/self: a token revokes itself.
func revokeSelfToken(c *call) error {
	if _, err := c.h.auth.RevokeToken(c.ctx, c.p.Token.ID); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}

// rotate answers 200 with the successor; a revoked or expired token, an
// expiry outside the limits, or an impersonation token while impersonation
// is disabled, is 400 with the reason.
func (c *call) rotate(t *auth.Token) error {
	expires, err := c.params.date("expires_at")
	if err != nil {
		return err
	}
	created, err := c.h.auth.RotateToken(c.ctx, t.ID, expires)
	if err != nil {
		var in *auth.InputError
		if errors.As(err, &in) {
			return badRequest(in.Msg)
		}
		return err
	}
	writeJSON(c.w, http.StatusOK, CreatedTokenJSON(created, c.now))
	return nil
}

// POST /personal_access_tokens/:id/rotate
func rotateToken(c *call) error {
	t, err := c.manageableToken()
	if err != nil {
		return err
	}
	return c.rotate(t)
}

// POST /personal_access_tokens/self/rotate (needs api, as in GitLab). An
// impersonation token may rotate itself, as in GitLab, but its successor
// never outlives it (auth.RotateToken).
func rotateSelfToken(c *call) error { return c.rotate(c.p.Token) }

// tokenInput reads name, scopes, expires_at and description.
func (c *call) tokenInput(userID int64, requireScopes bool) (auth.NewToken, error) {
	in := auth.NewToken{UserID: userID}
	var missing []string
	name, ok, err := c.params.str("name")
	if err != nil {
		return in, err
	}
	if !ok {
		missing = append(missing, "name")
	}
	scopes, ok, err := c.params.strList("scopes")
	if err != nil {
		return in, err
	}
	if !ok && requireScopes {
		missing = append(missing, "scopes")
	}
	if len(missing) > 0 {
		return in, missingParams(missing...)
	}
	if requireScopes {
		// GitLab validates scope names before anything else.
		if _, err := auth.ParseScopes(scopes...); err != nil && len(scopes) > 0 {
			return in, invalidValue("scopes")
		}
	}
	in.Name, in.Scopes = name, scopes
	if in.ExpiresAt, err = c.params.date("expires_at"); err != nil {
		return in, err
	}
	if in.Description, _, err = c.params.str("description"); err != nil {
		return in, err
	}
	return in, nil
}

// POST /users/:user_id/personal_access_tokens (admin): 201 with the
// token; a refused token (limits, sudo for a non-admin) is GitLab's 422
// with the reason.
func createUserToken(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.userByPathID("user_id")
	if err != nil {
		return err
	}
	in, err := c.tokenInput(u.ID, true)
	if err != nil {
		return err
	}
	created, err := c.h.auth.CreateToken(c.ctx, in)
	if err != nil {
		var ie *auth.InputError
		if errors.As(err, &ie) {
			return message(http.StatusUnprocessableEntity, ie.Msg)
		}
		return err
	}
	writeJSON(c.w, http.StatusCreated, CreatedTokenJSON(created, c.now))
	return nil
}

// impersonationUser is the user of an impersonation token route (admin
// only).
func (c *call) impersonationUser() (*auth.User, error) {
	if err := c.requireAdmin(); err != nil {
		return nil, err
	}
	return c.userByPathID("user_id")
}

// GET /users/:user_id/impersonation_tokens?state=all|active|inactive
func listImpersonationTokens(c *call) error {
	u, err := c.impersonationUser()
	if err != nil {
		return err
	}
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	f, err := c.tokenFilter(pg)
	if err != nil {
		return err
	}
	yes := true
	f.UserID, f.Impersonation = u.ID, &yes
	return c.tokenList(pg, f)
}

// POST /users/:user_id/impersonation_tokens: 201 with the token. Refused
// (400) while impersonation is disabled on the instance.
func createImpersonationToken(c *call) error {
	u, err := c.impersonationUser()
	if err != nil {
		return err
	}
	in, err := c.tokenInput(u.ID, false)
	if err != nil {
		return err
	}
	in.Impersonation = true
	created, err := c.h.auth.CreateToken(c.ctx, in)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, CreatedTokenJSON(created, c.now))
	return nil
}

func (c *call) impersonationToken() (*auth.Token, error) {
	u, err := c.impersonationUser()
	if err != nil {
		return nil, err
	}
	id, err := c.pathID("impersonation_token_id")
	if err != nil {
		return nil, err
	}
	t, err := c.h.auth.Token(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && (!t.Impersonation || t.UserID != u.ID)) {
		return nil, notFound("Impersonation Token")
	}
	return t, err
}

// GET /users/:user_id/impersonation_tokens/:impersonation_token_id
func getImpersonationToken(c *call) error {
	t, err := c.impersonationToken()
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, TokenJSON(t, c.now))
	return nil
}

// DELETE /users/:user_id/impersonation_tokens/:impersonation_token_id:
// revokes (204). Revoking stays possible while impersonation is disabled:
// cleaning up must never be refused.
func revokeImpersonationToken(c *call) error {
	t, err := c.impersonationToken()
	if err != nil {
		return err
	}
	if _, err := c.h.auth.RevokeToken(c.ctx, t.ID); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}
