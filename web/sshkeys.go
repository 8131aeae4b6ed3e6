package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/auth"
)

// The SSH keys page, at GitLab's path (docs/web.md#ssh-keys): add a key
// (auth validates it and its words go next to the field), list, delete
// after a confirmation page that needs no JavaScript.
const sshKeysPath = "/-/user_settings/ssh_keys"

// GitLab's form field names.
const (
	fieldKeyTitle     = "key[title]"
	fieldKeyKey       = "key[key]"
	fieldKeyExpiresAt = "key[expires_at]"
)

func (h *Handler) sshKeyRoutes() {
	h.handle("GET "+sshKeysPath, signedIn, h.sshKeysPage)
	h.handle("POST "+sshKeysPath, signedIn, h.addSSHKey)
	h.handle("GET "+sshKeysPath+"/{id}/delete", signedIn, h.confirmDeleteSSHKey)
	h.handle("POST "+sshKeysPath+"/{id}/delete", signedIn, h.deleteSSHKey)
}

// sshKeyForm is the add form, as posted on an error.
type sshKeyForm struct {
	Title, Key, ExpiresAt string
}

// sshKeysData is the page's data.
type sshKeysData struct {
	Form    sshKeyForm
	MinDate string
	Keys    []auth.SSHKey
}

func (h *Handler) sshKeysPage(q *request) error {
	return h.showSSHKeys(q, http.StatusOK, sshKeyForm{}, nil)
}

func (h *Handler) showSSHKeys(q *request, status int, f sshKeyForm, errs map[string]string) error {
	keys, err := h.auth.Keys(q.ctx(), q.user.ID)
	if err != nil {
		return err
	}
	data := sshKeysData{Form: f, Keys: keys, MinDate: auth.AddDays(auth.Today(h.auth.Now()), 1).Format(auth.DateLayout)}
	h.renderPage(q, status, "ssh_keys", &page{Title: "ssh_keys.title", Nav: "ssh_keys", Errors: errs, Data: data})
	return nil
}

// addSSHKey registers a key with auth.AddKey. Its validation messages
// (key type, RSA size, already in use) name the key's own facts, so they
// are shown as auth words them.
func (h *Handler) addSSHKey(q *request) error {
	f := sshKeyForm{Title: q.form(fieldKeyTitle), Key: strings.TrimSpace(q.form(fieldKeyKey)),
		ExpiresAt: strings.TrimSpace(q.form(fieldKeyExpiresAt))}
	in := auth.NewKey{UserID: q.user.ID, Title: f.Title, Key: f.Key}
	errs := map[string]string{}
	if f.ExpiresAt != "" {
		d, err := auth.ParseDate(f.ExpiresAt)
		if err != nil {
			errs[fieldKeyExpiresAt] = q.T("tokens.error.date_format")
		} else {
			in.ExpiresAt = &d
		}
	}
	if len(errs) == 0 {
		_, err := h.auth.AddKey(q.ctx(), in)
		var bad *auth.InputError
		var conflict *auth.ConflictError
		switch {
		case err == nil:
			h.setFlash(q, "notice", "flash.ssh_key_added")
			q.redirect(sshKeysPath)
			return nil
		case errors.As(err, &bad):
			switch bad.Field {
			case "title":
				errs[fieldKeyTitle] = q.T("ssh_keys.error.title")
			case "expires_at":
				errs[fieldKeyExpiresAt] = q.T("ssh_keys.error.expires_at")
			default:
				errs[fieldKeyKey] = bad.Msg
			}
		case errors.As(err, &conflict):
			errs[fieldKeyKey] = conflict.Msg
		default:
			return err
		}
	}
	return h.showSSHKeys(q, http.StatusUnprocessableEntity, f, errs)
}

// ownKey loads a key of the signed-in user from the path's {id}; anyone
// else's is 404.
func (h *Handler) ownKey(q *request) (*auth.SSHKey, error) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil {
		return nil, errNotFound
	}
	k, err := h.auth.Key(q.ctx(), id)
	if err != nil {
		return nil, err
	}
	if k.UserID != q.user.ID {
		return nil, errNotFound
	}
	return k, nil
}

func (h *Handler) confirmDeleteSSHKey(q *request) error {
	k, err := h.ownKey(q)
	if err != nil {
		return err
	}
	h.renderPage(q, http.StatusOK, "ssh_key_delete", &page{Title: "ssh_keys.delete.title", Nav: "ssh_keys", Data: k})
	return nil
}

func (h *Handler) deleteSSHKey(q *request) error {
	k, err := h.ownKey(q)
	if err != nil {
		return err
	}
	if err := h.auth.DeleteKey(q.ctx(), q.user.ID, k.ID); err != nil {
		return err
	}
	h.setFlash(q, "notice", "flash.ssh_key_deleted")
	q.redirect(sshKeysPath)
	return nil
}
