package api

import (
	"errors"
	"net/http"

	"github.com/gitgate/gitgate/auth"
)

// The admin side of SSH keys (docs/api.md): an admin adds and removes
// keys of other users (bots), and finds a key's owner by id or
// fingerprint, as GitLab Shell does.

// errKeyTaken is GitLab's answer to a key some user already has: the
// Key model's uniqueness validations on both fingerprints.
var errKeyTaken = &apiError{status: http.StatusBadRequest, body: map[string]any{"message": map[string][]string{
	"fingerprint": {"has already been taken"}, "fingerprint_sha256": {"has already been taken"}}}}

// addKey reads title, key and expires_at and registers the key to user:
// the one path of POST /user/keys and POST /users/:id/keys.
func (c *call) addKey(userID int64) error {
	var missing []string
	key, ok, err := c.params.str("key")
	if err != nil {
		return err
	}
	if !ok {
		missing = append(missing, "key")
	}
	title, ok, err := c.params.str("title")
	if err != nil {
		return err
	}
	if !ok {
		missing = append(missing, "title")
	}
	if len(missing) > 0 {
		return missingParams(missing...)
	}
	expires, err := c.params.dateTime("expires_at")
	if err != nil {
		return err
	}
	k, err := c.h.auth.AddKey(c.ctx, auth.NewKey{UserID: userID, Title: title, Key: key, ExpiresAt: expires})
	if err != nil {
		var conflict *auth.ConflictError
		if errors.As(err, &conflict) {
			return errKeyTaken
		}
		return err
	}
	writeJSON(c.w, http.StatusCreated, KeyJSON(k))
	return nil
}

// adminTargetUser is the user of an integer :user_id for the admin key
// routes: GitLab declares it an Integer, so anything else is "user_id is
// invalid", and a missing one 404 User Not Found.
func (c *call) adminTargetUser() (*auth.User, error) {
	id, err := c.pathID("user_id")
	if err != nil {
		return nil, err
	}
	u, err := c.h.auth.User(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, notFound("User")
	}
	return u, err
}

// POST /users/:user_id/keys (admin): 201 with the key, under the rules of
// a user's own key (type and size, one owner per key).
func addUserKey(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.adminTargetUser()
	if err != nil {
		return err
	}
	return c.addKey(u.ID)
}

// userKey loads key :key_id of user u; another user's key is 404 Key Not
// Found, as a missing one.
func (c *call) userKey(u *auth.User) (*auth.SSHKey, error) {
	id, err := c.pathID("key_id")
	if err != nil {
		return nil, err
	}
	k, err := c.h.auth.Key(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && k.UserID != u.ID) {
		return nil, notFound("Key")
	}
	return k, err
}

// GET /users/:user_id/keys/:key_id (id or username): public keys are no
// secret, so anyone signed in may read one, as the list.
func getUserKey(c *call) error {
	u, err := c.findUser(c.vars["user_id"])
	if err != nil {
		return err
	}
	k, err := c.userKey(u)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, KeyJSON(k))
	return nil
}

// DELETE /users/:user_id/keys/:key_id (admin): 204.
func deleteUserKey(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.adminTargetUser()
	if err != nil {
		return err
	}
	k, err := c.userKey(u)
	if err != nil {
		return err
	}
	if err := c.h.auth.DeleteKey(c.ctx, u.ID, k.ID); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return notFound("Key")
		}
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}

// keyWithUser renders a key with its owner.
func (c *call) keyWithUser(k *auth.SSHKey) error {
	u, err := c.h.auth.User(c.ctx, k.UserID)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, KeyWithUser{Key: KeyJSON(k), User: UserDetailsJSON(u, c.links().BaseURL, false)})
	return nil
}

// GET /keys/:id (admin): the key with its user. A missing key is the
// "404 Not found" GitLab's Key.find gives.
func getKeyByID(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	id, err := c.pathID("id")
	if err != nil {
		return err
	}
	k, err := c.h.auth.Key(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return message(http.StatusNotFound, "404 Not found")
	}
	if err != nil {
		return err
	}
	return c.keyWithUser(k)
}

// GET /keys?fingerprint= (admin): the key with that SHA256 or MD5
// fingerprint and its user; 404 Key Not Found, or 400 "Failed to return
// the key" for a fingerprint in neither form (GitLab's words).
func findKeyByFingerprint(c *call) error {
	fp, ok, err := c.params.str("fingerprint")
	if err != nil {
		return err
	}
	if !ok {
		return missingParams("fingerprint")
	}
	if err := c.requireAdmin(); err != nil {
		return err
	}
	k, err := c.h.auth.KeyByFingerprint(c.ctx, fp)
	switch {
	case errors.Is(err, auth.ErrBadFingerprint):
		return message(http.StatusBadRequest, "Failed to return the key")
	case errors.Is(err, auth.ErrNotFound):
		return notFound("Key")
	case err != nil:
		return err
	}
	return c.keyWithUser(k)
}
