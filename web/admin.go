package web

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
)

// The admin area (docs/web.md#admin-area), for admins only: everyone
// else gets the 404 page, so its existence is not revealed. Users (list,
// search, create, block, make admin), a user's impersonation tokens
// (shown only here) and the instance settings. Every rule is auth's, as
// for the API and the CLI.
const (
	adminPath         = "/admin"
	adminUsersPath    = "/admin/users"
	adminNewUserPath  = "/admin/users/new"
	adminSettingsPath = "/admin/application_settings"
	usersPerPage      = 20
	// newImpersonationCookie carries a new impersonation token from the
	// creating POST to the user's admin page, once.
	newImpersonationCookie = "_gitgate_new_impersonation_token"
)

func (h *Handler) adminRoutes() {
	h.handle("GET "+adminPath, adminOnly, func(q *request) error { q.redirect(adminUsersPath); return nil })
	h.handle("GET "+adminUsersPath, adminOnly, h.adminUsersPage)
	h.handle("GET "+adminNewUserPath, adminOnly, h.adminNewUserPage)
	h.handle("POST "+adminUsersPath, adminOnly, h.adminCreateUser)
	h.handle("GET "+adminUsersPath+"/{username}", adminOnly, h.adminUserPage)
	h.handle("POST "+adminUsersPath+"/{username}/block", adminOnly, h.adminBlockUser)
	h.handle("POST "+adminUsersPath+"/{username}/unblock", adminOnly, h.adminUnblockUser)
	h.handle("POST "+adminUsersPath+"/{username}/unlock", adminOnly, h.adminUnlockUser)
	h.handle("POST "+adminUsersPath+"/{username}/admin", adminOnly, h.adminSetAdmin)
	h.handle("POST "+adminUsersPath+"/{username}/impersonation_tokens", adminOnly, h.adminCreateImpersonationToken)
	h.handle("GET "+adminUsersPath+"/{username}/impersonation_tokens/{id}/revoke", adminOnly, h.adminConfirmRevoke)
	h.handle("POST "+adminUsersPath+"/{username}/impersonation_tokens/{id}/revoke", adminOnly, h.adminRevoke)
	h.handle("GET "+adminSettingsPath, adminOnly, h.adminSettingsPage)
	h.handle("POST "+adminSettingsPath, adminOnly, h.adminUpdateSettings)
}

func adminUserPath(username string) string { return adminUsersPath + "/" + username }

// adminUserRow is a user in the list, with whether the account is locked.
type adminUserRow struct {
	auth.User
	Locked bool
}

// adminUsersData is the users list.
type adminUsersData struct {
	Search             string
	Users              []adminUserRow
	Total, Page        int
	PrevURL, NextURL   string
	FirstShown, LastOn int
}

func (h *Handler) adminUsersPage(q *request) error {
	search := strings.TrimSpace(q.r.URL.Query().Get("search"))
	pg := pageNumber(q.r.URL.Query().Get("page"))
	users, total, err := h.auth.ListUsers(q.ctx(), auth.UserFilter{Search: search, Offset: (pg - 1) * usersPerPage, Limit: usersPerPage})
	if err != nil {
		return err
	}
	data := adminUsersData{Search: search, Total: total, Page: pg}
	pageURL := func(n int) string {
		v := url.Values{"page": {itoa(int64(n))}}
		if search != "" {
			v.Set("search", search)
		}
		return adminUsersPath + "?" + v.Encode()
	}
	if pg > 1 {
		data.PrevURL = pageURL(pg - 1)
	}
	if pg*usersPerPage < total {
		data.NextURL = pageURL(pg + 1)
	}
	if len(users) > 0 {
		data.FirstShown, data.LastOn = (pg-1)*usersPerPage+1, (pg-1)*usersPerPage+len(users)
	}
	for _, u := range users {
		data.Users = append(data.Users, adminUserRow{User: u, Locked: h.auth.Locked(&u)})
	}
	h.renderPage(q, http.StatusOK, "admin_users", &page{Title: "admin.users.title", Nav: "admin", Data: data})
	return nil
}

// Form fields of the new user form, as GitLab names them.
const (
	fieldNewUsername     = "user[username]"
	fieldNewName         = "user[name]"
	fieldNewEmail        = "user[email]"
	fieldNewUserPassword = "user[password]"
	fieldNewAdmin        = "user[admin]"
)

// newUserForm is the new user form, as posted on an error.
type newUserForm struct {
	Username, Name, Email string
	Admin                 bool
}

func (h *Handler) adminNewUserPage(q *request) error {
	h.renderPage(q, http.StatusOK, "admin_user_new", &page{Title: "admin.new_user.title", Nav: "admin", Data: newUserForm{}})
	return nil
}

// adminCreateUser creates a user with auth.CreateUser; an empty password
// makes a token-only user, who cannot sign in to the pages.
func (h *Handler) adminCreateUser(q *request) error {
	f := newUserForm{Username: strings.TrimSpace(q.form(fieldNewUsername)), Name: strings.TrimSpace(q.form(fieldNewName)),
		Email: strings.TrimSpace(q.form(fieldNewEmail)), Admin: q.form(fieldNewAdmin) == "1"}
	u, err := h.auth.CreateUser(q.ctx(), auth.NewUser{Username: f.Username, Name: f.Name, Email: f.Email,
		Password: q.form(fieldNewUserPassword), Admin: f.Admin})
	errs := map[string]string{}
	var in *auth.InputError
	var conflict *auth.ConflictError
	switch {
	case err == nil:
		h.setFlash(q, "notice", "flash.user_created")
		q.redirect(adminUserPath(u.Username))
		return nil
	case errors.As(err, &in):
		switch in.Field {
		case "email":
			errs[fieldNewEmail] = q.T("admin.error.email")
		case "name":
			errs[fieldNewName] = q.T("profile.error.name")
		case "password":
			errs[fieldNewUserPassword] = q.T("password.error.too_short", auth.MinPasswordLength)
		default:
			// The username rules name the username: auth's words.
			errs[fieldNewUsername] = in.Msg
		}
	case errors.As(err, &conflict) && conflict.Field == "email":
		errs[fieldNewEmail] = q.T("profile.error.email_taken")
	case errors.As(err, &conflict):
		errs[fieldNewUsername] = q.T("admin.error.username_taken")
	default:
		return err
	}
	h.renderPage(q, http.StatusUnprocessableEntity, "admin_user_new", &page{Title: "admin.new_user.title", Nav: "admin", Errors: errs, Data: f})
	return nil
}

// adminUserData is a user's admin page.
type adminUserData struct {
	User   *auth.User
	Self   bool
	Locked bool
	// NewToken is an impersonation token just created, shown once.
	NewToken, NewTokenName string
	Form                   tokenForm
	ScopeChoices           []scopeChoice
	MinDate, MaxDate       string
	ExpiryRequired         bool
	ImpersonationEnabled   bool
	Active, Inactive       []tokenRow
}

// adminUser loads the user of the path's {username}.
func (h *Handler) adminUser(q *request) (*auth.User, error) {
	return h.auth.UserByUsername(q.ctx(), q.r.PathValue("username"))
}

func (h *Handler) adminUserPage(q *request) error {
	u, err := h.adminUser(q)
	if err != nil {
		return err
	}
	data := adminUserData{}
	if c := cookieValue(q.r, newImpersonationCookie); c != "" {
		h.clearCookie(q, newImpersonationCookie, adminUserPath(u.Username))
		if v, ok := h.open(impersonationPurpose(q, u), c); ok {
			data.NewToken, data.NewTokenName, _ = strings.Cut(v, "\x00")
		}
	}
	def, err := h.auth.DefaultExpiry(q.ctx())
	if err != nil {
		return err
	}
	data.Form.ExpiresAt = dateString(def)
	return h.showAdminUser(q, http.StatusOK, u, data, nil)
}

// impersonationPurpose binds the one-shot cookie to the user the token
// acts as and to the admin who created it: the cookie outlives a
// sign-out, and another admin signing in next in the same browser must
// not be shown it.
func impersonationPurpose(q *request, u *auth.User) string {
	return "new-impersonation-token:" + itoa(u.ID) + ":" + itoa(q.user.ID)
}

func (h *Handler) showAdminUser(q *request, status int, u *auth.User, data adminUserData, errs map[string]string) error {
	st, err := h.auth.Settings(q.ctx())
	if err != nil {
		return err
	}
	data.User, data.Self, data.Locked = u, u.ID == q.user.ID, h.auth.Locked(u)
	data.ImpersonationEnabled = st.ImpersonationEnabled
	today := auth.Today(h.auth.Now())
	data.MinDate = auth.AddDays(today, 1).Format(auth.DateLayout)
	if st.MaxLifetimeDays > 0 {
		data.MaxDate = auth.AddDays(today, st.MaxLifetimeDays).Format(auth.DateLayout)
	}
	data.ExpiryRequired = st.RequireExpiry || st.MaxLifetimeDays > 0
	for _, s := range auth.Scopes {
		// auth refuses sudo on a non-admin's token: not offered.
		if s.Name == auth.ScopeSudo && !u.Admin {
			continue
		}
		data.ScopeChoices = append(data.ScopeChoices, scopeChoice{Name: s.Name, Checked: slices.Contains(data.Form.Scopes, s.Name)})
	}
	yes := true
	now := h.auth.Now()
	for _, list := range []struct {
		state string
		dst   *[]tokenRow
	}{{"active", &data.Active}, {"inactive", &data.Inactive}} {
		tokens, _, err := h.auth.ListTokens(q.ctx(), auth.TokenFilter{UserID: u.ID, Impersonation: &yes, State: list.state})
		if err != nil {
			return err
		}
		for _, t := range tokens {
			*list.dst = append(*list.dst, tokenRow{Token: t, State: string(auth.StateOf(&t, now))})
		}
		slices.Reverse(*list.dst)
	}
	h.renderPage(q, status, "admin_user", &page{Title: "admin.user.title", Nav: "admin", Errors: errs, Data: data})
	return nil
}

func (h *Handler) adminBlockUser(q *request) error {
	u, err := h.adminUser(q)
	if err != nil {
		return err
	}
	if _, err := h.auth.BlockUser(q.ctx(), q.user.ID, u.ID); errors.Is(err, auth.ErrBlockSelf) {
		h.setFlash(q, "alert", "flash.user_block_self")
	} else if err != nil {
		return err
	} else {
		h.setFlash(q, "notice", "flash.user_blocked")
	}
	q.redirect(adminUserPath(u.Username))
	return nil
}

func (h *Handler) adminUnblockUser(q *request) error {
	u, err := h.adminUser(q)
	if err != nil {
		return err
	}
	if _, err := h.auth.SetBlocked(q.ctx(), u.ID, false); err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.user_unblocked")
	q.redirect(adminUserPath(u.Username))
	return nil
}

func (h *Handler) adminUnlockUser(q *request) error {
	u, err := h.adminUser(q)
	if err != nil {
		return err
	}
	if _, err := h.auth.UnlockUser(q.ctx(), u.ID); err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.user_unlocked")
	q.redirect(adminUserPath(u.Username))
	return nil
}

// adminSetAdmin grants or takes away admin rights (admin=1 or 0).
func (h *Handler) adminSetAdmin(q *request) error {
	u, err := h.adminUser(q)
	if err != nil {
		return err
	}
	admin := q.form("admin") == "1"
	if _, err := h.auth.UpdateUser(q.ctx(), u.ID, auth.UserChanges{Admin: &admin}); err != nil {
		return err
	}
	if admin {
		h.setFlash(q, "notice", "flash.user_made_admin")
	} else {
		h.setFlash(q, "notice", "flash.user_admin_removed")
	}
	q.redirect(adminUserPath(u.Username))
	return nil
}

// adminCreateImpersonationToken creates an impersonation token for the
// user (auth.CreateToken with Impersonation: the same rules as the API's
// and the CLI's) and shows it once on the user's page, through a sealed
// one-shot cookie: never stored, never in a URL.
func (h *Handler) adminCreateImpersonationToken(q *request) error {
	u, err := h.adminUser(q)
	if err != nil {
		return err
	}
	f := impersonationTokenFields
	form := tokenForm{Name: q.form(f.Name), ExpiresAt: strings.TrimSpace(q.form(f.ExpiresAt)), Scopes: q.formValues(f.Scopes)}
	in := auth.NewToken{UserID: u.ID, Name: form.Name, Scopes: form.Scopes, Impersonation: true}
	errs := map[string]string{}
	if form.ExpiresAt != "" {
		d, err := auth.ParseDate(form.ExpiresAt)
		if err != nil {
			errs[f.ExpiresAt] = q.T("tokens.error.date_format")
		} else {
			in.ExpiresAt = &d
		}
	}
	if len(errs) == 0 {
		created, err := h.auth.CreateToken(q.ctx(), in)
		if err == nil {
			sealed, err := h.seal(impersonationPurpose(q, u), created.Secret+"\x00"+created.Token.Name, newTokenTTL)
			if err != nil {
				return err
			}
			h.setCookie(q, newImpersonationCookie, sealed, adminUserPath(u.Username), int(newTokenTTL/time.Second), http.SameSiteStrictMode)
			q.redirect(adminUserPath(u.Username))
			return nil
		}
		if !h.tokenFieldError(q, err, f, errs) {
			return err
		}
	}
	return h.showAdminUser(q, http.StatusUnprocessableEntity, u, adminUserData{Form: form}, errs)
}

// impersonationToken loads an impersonation token of the path's user.
func (h *Handler) impersonationToken(q *request) (*auth.User, *auth.Token, error) {
	u, err := h.adminUser(q)
	if err != nil {
		return nil, nil, err
	}
	id, err := atoi(q.r.PathValue("id"))
	if err != nil {
		return nil, nil, errNotFound
	}
	t, err := h.auth.Token(q.ctx(), id)
	if err != nil {
		return nil, nil, err
	}
	if t.UserID != u.ID || !t.Impersonation {
		return nil, nil, errNotFound
	}
	return u, t, nil
}

// adminRevokeData is the revoke confirmation page.
type adminRevokeData struct {
	User  *auth.User
	Token *auth.Token
}

func (h *Handler) adminConfirmRevoke(q *request) error {
	u, t, err := h.impersonationToken(q)
	if err != nil {
		return err
	}
	if t.Revoked {
		q.redirect(adminUserPath(u.Username))
		return nil
	}
	h.renderPage(q, http.StatusOK, "admin_token_revoke", &page{Title: "tokens.revoke.title", Nav: "admin", Data: adminRevokeData{User: u, Token: t}})
	return nil
}

func (h *Handler) adminRevoke(q *request) error {
	u, t, err := h.impersonationToken(q)
	if err != nil {
		return err
	}
	if _, err := h.auth.RevokeToken(q.ctx(), t.ID); err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.token_revoked")
	q.redirect(adminUserPath(u.Username))
	return nil
}

// settingField is one instance setting on the settings page.
type settingField struct {
	Name  string
	Value string
	// Kind is "days", "days-list", "level", "bool" or "text": the input it gets.
	Kind string
}

// adminSettingsData is the settings page.
type adminSettingsData struct {
	Fields []settingField
}

func settingKind(name string) string {
	switch name {
	case auth.SettingMaxLifetime:
		return "days"
	case auth.SettingTokenPrefix:
		return "text"
	case auth.SettingExpiryWarningDays:
		return "days-list"
	case auth.SettingDefaultBranchProtection:
		return "level"
	}
	return "bool"
}

func (h *Handler) adminSettingsPage(q *request) error {
	st, err := h.auth.Settings(q.ctx())
	if err != nil {
		return err
	}
	return h.showSettings(q, http.StatusOK, st.Map(), nil)
}

func (h *Handler) showSettings(q *request, status int, values map[string]string, errs map[string]string) error {
	var data adminSettingsData
	for _, name := range auth.SettingNames() {
		data.Fields = append(data.Fields, settingField{Name: name, Value: values[name], Kind: settingKind(name)})
	}
	h.renderPage(q, status, "admin_settings", &page{Title: "admin.settings.title", Nav: "admin", Errors: errs, Data: data})
	return nil
}

// adminUpdateSettings stores the settings that changed, all or none,
// through auth.UpdateSettings: the validation and effects (a new
// lifetime limit cuts longer tokens) are those of `gitgate settings set`
// and the API. A checkbox left unchecked is false.
func (h *Handler) adminUpdateSettings(q *request) error {
	st, err := h.auth.Settings(q.ctx())
	if err != nil {
		return err
	}
	current := st.Map()
	posted := map[string]string{}
	changes := map[string]string{}
	for _, name := range auth.SettingNames() {
		v := strings.TrimSpace(q.form("setting[" + name + "]"))
		if settingKind(name) == "bool" {
			v = "false"
			if q.form("setting["+name+"]") == "true" {
				v = "true"
			}
		}
		posted[name] = v
		if v != current[name] {
			changes[name] = v
		}
	}
	if len(changes) == 0 {
		h.setFlash(q, "notice", "flash.settings_unchanged")
		q.redirect(adminSettingsPath)
		return nil
	}
	up, err := h.auth.UpdateSettings(q.ctx(), changes)
	var in *auth.InputError
	if errors.As(err, &in) {
		// auth's words name the setting's allowed values.
		return h.showSettings(q, http.StatusUnprocessableEntity, posted, map[string]string{"setting[" + in.Field + "]": in.Msg})
	}
	if err != nil {
		return err
	}
	if up.CappedTokens > 0 {
		h.setFlash(q, "notice", "flash.settings_saved_capped")
	} else {
		h.setFlash(q, "notice", "flash.settings_saved")
	}
	q.redirect(adminSettingsPath)
	return nil
}
