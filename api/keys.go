package api

import (
	"errors"
	"net/http"

	"github.com/gitgate/gitgate/auth"
)

func (c *call) keyList(userID int64) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	keys, err := c.h.auth.Keys(c.ctx, userID)
	if err != nil {
		return err
	}
	out := make([]Key, 0, len(keys))
	for _, k := range pageOf(keys, pg) {
		out = append(out, KeyJSON(&k))
	}
	return writeList(c, pg, len(keys), out)
}

// GET /user/keys
func listOwnKeys(c *call) error { return c.keyList(c.user().ID) }

// GET /users/:user_id/keys (id or username), as GitLab: anyone signed in
// may read anyone's public keys.
func listUserKeys(c *call) error {
	u, err := c.findUser(c.vars["user_id"])
	if err != nil {
		return err
	}
	return c.keyList(u.ID)
}

// POST /user/keys: title and key required; 201 with the key.
func addOwnKey(c *call) error { return c.addKey(c.user().ID) }

// ownKey loads one of the caller's keys; anything else is 404 Key Not
// Found.
func (c *call) ownKey() (*auth.SSHKey, error) {
	id, err := c.pathID("key_id")
	if err != nil {
		return nil, err
	}
	k, err := c.h.auth.Key(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) || (err == nil && k.UserID != c.user().ID) {
		return nil, notFound("Key")
	}
	return k, err
}

// GET /user/keys/:key_id
func getOwnKey(c *call) error {
	k, err := c.ownKey()
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, KeyJSON(k))
	return nil
}

// DELETE /user/keys/:key_id: 204.
func deleteOwnKey(c *call) error {
	k, err := c.ownKey()
	if err != nil {
		return err
	}
	if err := c.h.auth.DeleteKey(c.ctx, c.user().ID, k.ID); err != nil {
		if errors.Is(err, auth.ErrNotFound) {
			return notFound("Key")
		}
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}
