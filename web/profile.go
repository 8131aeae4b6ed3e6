package web

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gitgate/gitgate/auth"
)

// The profile pages, at GitLab's paths (docs/web.md#profile): name,
// email and the pages' language; and the password. Changing the email or
// the password asks for the current password; a new password ends the
// user's other sessions.
const (
	profilePath      = "/-/user_settings/profile"
	passwordEditPath = "/-/user_settings/password/edit"
	passwordPath     = "/-/user_settings/password"
)

// Form fields, as GitLab names them.
const (
	fieldUserName             = "user[name]"
	fieldUserEmail            = "user[email]"
	fieldUserLanguage         = "user[preferred_language]"
	fieldValidationPassword   = "user[validation_password]"
	fieldPassword             = "user[password]"
	fieldNewPassword          = "user[new_password]"
	fieldPasswordConfirmation = "user[password_confirmation]"
)

func (h *Handler) profileRoutes() {
	// The layout's Profile link, GitLab's old path.
	h.handle("GET /-/profile", signedIn, func(q *request) error { q.redirect(profilePath); return nil })
	h.handle("GET "+profilePath, signedIn, h.profilePage)
	h.handle("POST "+profilePath, signedIn, h.updateProfile)
	h.handle("GET "+passwordEditPath, signedIn, h.passwordPage)
	h.handle("POST "+passwordPath, signedIn, h.updatePassword)
}

// profileForm is the profile form's data.
type profileForm struct {
	Name, Email, Language string
	Languages             []string
}

func (h *Handler) profilePage(q *request) error {
	u := q.user
	return h.showProfile(q, http.StatusOK, profileForm{Name: u.Name, Email: u.Email, Language: u.PreferredLanguage}, nil)
}

func (h *Handler) showProfile(q *request, status int, f profileForm, errs map[string]string) error {
	f.Languages = h.Languages()
	h.renderPage(q, status, "profile", &page{Title: "profile.title", Nav: "profile", Errors: errs, Data: f})
	return nil
}

// updateProfile saves name, email (with the current password) and the
// language through auth: UpdateUser validates, SetPreferredLanguage
// stores; the next page is written in the new language.
func (h *Handler) updateProfile(q *request) error {
	f := profileForm{Name: strings.TrimSpace(q.form(fieldUserName)), Email: strings.TrimSpace(q.form(fieldUserEmail)),
		Language: q.form(fieldUserLanguage)}
	errs := map[string]string{}
	if f.Language != "" && !slices.Contains(h.Languages(), f.Language) {
		errs[fieldUserLanguage] = q.T("profile.error.language")
	}
	emailChanged := !strings.EqualFold(f.Email, q.user.Email)
	if emailChanged && len(errs) == 0 {
		msg, err := h.verifyOwnPassword(q, q.form(fieldValidationPassword))
		if err != nil {
			return err
		}
		if msg != "" {
			errs[fieldValidationPassword] = msg
		}
	}
	if len(errs) > 0 {
		return h.showProfile(q, http.StatusUnprocessableEntity, f, errs)
	}
	ch := auth.UserChanges{Name: &f.Name}
	if emailChanged {
		ch.Email = &f.Email
	}
	_, err := h.auth.UpdateUser(q.ctx(), q.user.ID, ch)
	var in *auth.InputError
	var conflict *auth.ConflictError
	switch {
	case errors.As(err, &in) && in.Field == "email":
		errs[fieldUserEmail] = q.T("profile.error.email")
	case errors.As(err, &in):
		errs[fieldUserName] = q.T("profile.error.name")
	case errors.As(err, &conflict):
		errs[fieldUserEmail] = q.T("profile.error.email_taken")
	case err != nil:
		return err
	}
	if len(errs) > 0 {
		return h.showProfile(q, http.StatusUnprocessableEntity, f, errs)
	}
	if f.Language != q.user.PreferredLanguage {
		if err := h.auth.SetPreferredLanguage(q.ctx(), q.user.ID, f.Language); err != nil {
			return err
		}
	}
	h.setFlash(q, "notice", "flash.profile_updated")
	q.redirect(profilePath)
	return nil
}

func (h *Handler) passwordPage(q *request) error {
	h.renderPage(q, http.StatusOK, "password", &page{Title: "password.title", Nav: "profile"})
	return nil
}

// updatePassword changes the password: the current one must be right
// (checked as a sign-in is), the new one passes auth's rules, and every
// other session of the user ends.
func (h *Handler) updatePassword(q *request) error {
	errs := map[string]string{}
	next := q.form(fieldNewPassword)
	msg, err := h.verifyOwnPassword(q, q.form(fieldPassword))
	if err != nil {
		return err
	}
	switch {
	case msg != "":
		errs[fieldPassword] = msg
	case next != q.form(fieldPasswordConfirmation):
		errs[fieldPasswordConfirmation] = q.T("password.error.confirmation")
	default:
		_, err := h.auth.UpdateUser(q.ctx(), q.user.ID, auth.UserChanges{Password: &next})
		var in *auth.InputError
		switch {
		case errors.As(err, &in) && len(next) < auth.MinPasswordLength:
			errs[fieldNewPassword] = q.T("password.error.too_short", auth.MinPasswordLength)
		case errors.As(err, &in):
			errs[fieldNewPassword] = in.Msg
		case err != nil:
			return err
		}
	}
	if len(errs) > 0 {
		h.renderPage(q, http.StatusUnprocessableEntity, "password", &page{Title: "password.title", Nav: "profile", Errors: errs})
		return nil
	}
	h.setFlash(q, "notice", "flash.password_changed")
	q.redirect(passwordEditPath)
	return nil
}
