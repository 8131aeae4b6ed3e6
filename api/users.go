package api

import (
	"errors"
	"net/http"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// GET /user: UserPublic, or UserWithAdmin for an admin.
func getCurrentUser(c *call) error {
	u := c.user()
	if u.Admin {
		writeJSON(c.w, http.StatusOK, c.adminUserJSON(u))
		return nil
	}
	writeJSON(c.w, http.StatusOK, UserDetailsJSON(u, c.links().BaseURL, false))
	return nil
}

// adminUserJSON is UserWithAdmin, with whether the account is locked by
// wrong passwords. Only admins learn that: to anyone else a lock would
// tell that the account has a password someone has been guessing.
func (c *call) adminUserJSON(u *auth.User) UserDetails {
	return AdminUserJSON(u, c.links().BaseURL, c.h.auth.Locked(u))
}

// AdminUserJSON is the user object admins see (UserWithAdmin), with
// whether wrong passwords have locked the account.
func AdminUserJSON(u *auth.User, baseURL string, locked bool) UserDetails {
	out := UserDetailsJSON(u, baseURL, true)
	out.Locked = locked
	return out
}

// userByPathID loads the user of an integer path parameter the way
// GitLab's users routes do: a non-numeric id is no route at all, and an
// unknown one is 404 User Not Found.
func (c *call) userByPathID(name string) (*auth.User, error) {
	id, isNum := parseID(c.vars[name])
	if !isNum {
		return nil, errRouteNotFound
	}
	u, err := c.h.auth.User(c.ctx, id)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, notFound("User")
	}
	return u, err
}

// GET /users: everyone signed in may list users (UserBasic); admins see
// UserWithAdmin. Filters: username, search, active, blocked.
func listUsers(c *call) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	f := auth.UserFilter{Offset: pg.offset(), Limit: pg.PerPage}
	if f.Username, _, err = c.params.str("username"); err != nil {
		return err
	}
	if f.Search, _, err = c.params.str("search"); err != nil {
		return err
	}
	// Only admins match e-mail addresses: a search must not let anyone
	// probe someone's address one character at a time.
	f.SearchWithoutEmail = !c.isAdmin()
	active, err := c.params.flag("active")
	if err != nil {
		return err
	}
	blocked, err := c.params.flag("blocked")
	if err != nil {
		return err
	}
	if f.Admins, err = c.params.flag("admins"); err != nil {
		return err
	}
	if f.Admins && !c.isAdmin() {
		f.Admins = false
	}
	switch {
	case active && blocked:
		// Both at once match nobody, as in GitLab.
		return writeList(c, pg, 0, []UserBasic{})
	case active:
		f.Blocked = new(bool)
	case blocked:
		t := true
		f.Blocked = &t
	}
	users, total, err := c.h.auth.ListUsers(c.ctx, f)
	if err != nil {
		return err
	}
	base := c.links().BaseURL
	if c.isAdmin() {
		out := make([]UserDetails, len(users))
		for i := range users {
			out[i] = c.adminUserJSON(&users[i])
		}
		return writeList(c, pg, total, out)
	}
	out := make([]UserBasic, len(users))
	for i := range users {
		out[i] = UserBasicJSON(&users[i], base)
	}
	return writeList(c, pg, total, out)
}

// GET /users/:id: User for everyone, UserWithAdmin for admins.
func getUser(c *call) error {
	u, err := c.userByPathID("id")
	if err != nil {
		return err
	}
	if c.isAdmin() {
		writeJSON(c.w, http.StatusOK, c.adminUserJSON(u))
		return nil
	}
	writeJSON(c.w, http.StatusOK, UserJSON(u, c.links().BaseURL))
	return nil
}

// POST /users (admin). gitgate users may have no password (token-only);
// GitLab's rule that one of password, reset_password or
// force_random_password be given still applies, except for bots
// (a gitgate extension: bots never have a password).
func createUser(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	var missing []string
	get := func(name string) string {
		s, ok, err := c.params.str(name)
		if err != nil || !ok || s == "" {
			missing = append(missing, name)
		}
		return s
	}
	in := auth.NewUser{Email: get("email"), Name: get("name"), Username: get("username")}
	if len(missing) > 0 {
		return missingParams(missing...)
	}
	var err error
	if in.Admin, err = c.params.flag("admin"); err != nil {
		return err
	}
	if in.Bot, err = c.params.flag("bot"); err != nil {
		return err
	}
	pw, hasPW, err := c.params.str("password")
	if err != nil {
		return err
	}
	reset, err := c.params.flag("reset_password")
	if err != nil {
		return err
	}
	random, err := c.params.flag("force_random_password")
	if err != nil {
		return err
	}
	if !in.Bot && !(hasPW && pw != "") && !reset && !random {
		return grapeError(http.StatusBadRequest, "password, reset_password, force_random_password are missing, at least one parameter must be provided")
	}
	if hasPW {
		in.Password = pw
	}
	u, err := c.h.auth.CreateUser(c.ctx, in)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, c.adminUserJSON(u))
	return nil
}

// PUT /users/:id (admin).
func updateUser(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.userByPathID("id")
	if err != nil {
		return err
	}
	var ch auth.UserChanges
	for name, dst := range map[string]**string{"email": &ch.Email, "name": &ch.Name, "username": &ch.Username, "password": &ch.Password} {
		s, ok, err := c.params.str(name)
		if err != nil {
			return err
		}
		if ok {
			v := s
			*dst = &v
		}
	}
	for name, dst := range map[string]**bool{"admin": &ch.Admin, "bot": &ch.Bot} {
		b, ok, err := c.params.boolean(name)
		if err != nil {
			return err
		}
		if ok {
			v := b
			*dst = &v
		}
	}
	u, err = c.h.auth.UpdateUser(c.ctx, u.ID, ch)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, c.adminUserJSON(u))
	return nil
}

// POST /users/:id/block (admin): 201 true, or 201 null when the user was
// already blocked, as GitLab answers.
func blockUser(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.userByPathID("id")
	if err != nil {
		return err
	}
	if u.State == auth.UserBlocked && u.ID != c.user().ID {
		writeJSON(c.w, http.StatusCreated, nil)
		return nil
	}
	if _, err := c.h.auth.BlockUser(c.ctx, c.user().ID, u.ID); err != nil {
		if errors.Is(err, auth.ErrBlockSelf) {
			return forbidden("The API initiating user cannot be blocked by the API")
		}
		return err
	}
	writeJSON(c.w, http.StatusCreated, true)
	return nil
}

// POST /users/:id/unblock (admin): 201 true.
func unblockUser(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.userByPathID("id")
	if err != nil {
		return err
	}
	if _, err := c.h.auth.SetBlocked(c.ctx, u.ID, false); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, true)
	return nil
}

// POST /users/:id/unlock (admin): lifts the lock that wrong passwords put
// on an account and forgets its failed attempts; 201 true, as unblock
// answers. GitLab unlocks only in its admin UI; this endpoint is
// gitgate's (docs/api.md).
func unlockUser(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.userByPathID("id")
	if err != nil {
		return err
	}
	if _, err := c.h.auth.UnlockUser(c.ctx, u.ID); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, true)
	return nil
}

// DELETE /users/:id (admin): 204. As in GitLab, the user's personal
// projects go with them, and a user who is the only owner of a group is
// 409 unless hard_delete, which deletes those groups too
// (repos.DeleteUser, the rule the CLI's user delete applies as well).
// An admin cannot delete themselves through the API.
func deleteUser(c *call) error {
	if err := c.requireAdmin(); err != nil {
		return err
	}
	u, err := c.userByPathID("id")
	if err != nil {
		return err
	}
	hard, err := c.params.flag("hard_delete")
	if err != nil {
		return err
	}
	if u.ID == c.user().ID {
		return forbidden("The API initiating user cannot be deleted by the API")
	}
	if _, err := c.h.repos.DeleteUser(c.ctx, u.ID, repos.DeleteUserOptions{WithProjects: true, HardDelete: hard}); err != nil {
		var conflict *repos.ConflictError
		if errors.As(err, &conflict) && conflict.Reason == repos.SoleGroupOwner {
			return message(http.StatusConflict, "User cannot be removed while is the sole-owner of a group")
		}
		if errors.Is(err, access.ErrNotFound) {
			return notFound("User")
		}
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}
