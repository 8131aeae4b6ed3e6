package auth

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/gitgate/gitgate/store"
)

// usernamePattern is GitLab's: letters, digits, '_', '.', '-', not
// starting with '-' (nor, as GitLab also requires, with '.').
var usernamePattern = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*$`)

// reservedNames would collide with gitgate's own routes.
var reservedNames = []string{"-", "api", "admin", "assets", "dashboard", "explore", "groups", "help",
	"login", "logout", "oauth", "profile", "projects", "public", "search", "static", "user", "users"}

// ValidateUsername applies GitLab's username rules; the same rules apply
// to group paths.
func ValidateUsername(name string) error {
	switch {
	case name == "":
		return inputErr("username", "username is required")
	case len(name) > 255:
		return inputErr("username", "username is too long (maximum is 255 characters)")
	case !usernamePattern.MatchString(name):
		return inputErr("username", "username %q may contain only letters, digits, '_', '.' and '-', and cannot start with '-' or '.'", name)
	case strings.HasSuffix(name, "."), strings.HasSuffix(strings.ToLower(name), ".git"), strings.HasSuffix(strings.ToLower(name), ".atom"):
		return inputErr("username", "username %q cannot end in '.', '.git' or '.atom'", name)
	case strings.Contains(name, ".."):
		return inputErr("username", "username %q cannot contain '..'", name)
	case slices.Contains(reservedNames, strings.ToLower(name)):
		return inputErr("username", "username %q is reserved", name)
	}
	return nil
}

var emailPattern = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)

func validateEmail(email string) error {
	if email == "" {
		return inputErr("email", "email is required")
	}
	if len(email) > 255 || !emailPattern.MatchString(email) {
		return inputErr("email", "email %q is invalid", email)
	}
	return nil
}

// NewUser is the input of CreateUser.
type NewUser struct {
	Username string
	Email    string
	Name     string
	Password string // empty: no password (token-only user)
	Admin    bool
	Bot      bool
}

// CreateUser validates and stores a user together with their personal
// namespace, all or nothing.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	if err := ValidateUsername(in.Username); err != nil {
		return nil, err
	}
	if err := validateEmail(in.Email); err != nil {
		return nil, err
	}
	if len(in.Name) > 255 {
		return nil, inputErr("name", "name is too long (maximum is 255 characters)")
	}
	if in.Name == "" {
		in.Name = in.Username
	}
	now := s.Now()
	u := &store.User{Username: in.Username, Email: in.Email, Name: in.Name, Admin: in.Admin, Bot: in.Bot,
		State: UserActive, CreatedAt: now, UpdatedAt: now}
	if in.Password != "" {
		if in.Bot {
			return nil, inputErr("password", "bot users cannot have a password")
		}
		if err := validatePassword(in.Password); err != nil {
			return nil, err
		}
		h, err := HashPassword(in.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = h
	}
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		if err := tx.InsertUser(ctx, u); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return s.userConflict(ctx, tx, in)
			}
			return err
		}
		ns := &store.Namespace{Kind: store.NamespaceUser, Name: u.Name, Path: u.Username, FullPath: u.Username,
			OwnerID: &u.ID, Visibility: "public", CreatedAt: now}
		if err := tx.InsertNamespace(ctx, ns); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &ConflictError{Field: "username", Msg: fmt.Sprintf("username %q is already taken by a group", in.Username)}
			}
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return userFrom(u), nil
}

func (s *Service) userConflict(ctx context.Context, tx *store.DB, in NewUser) error {
	// Outside tx: on PostgreSQL the failed INSERT aborted the transaction,
	// so tx can answer nothing more.
	if _, err := s.db.UserByUsername(ctx, in.Username); err == nil {
		return &ConflictError{Field: "username", Msg: fmt.Sprintf("username %q has already been taken", in.Username)}
	}
	return &ConflictError{Field: "email", Msg: fmt.Sprintf("email %q has already been taken", in.Email)}
}

// User loads a user by id.
func (s *Service) User(ctx context.Context, id int64) (*User, error) {
	u, err := s.userRow(ctx, id)
	if err != nil {
		return nil, err
	}
	return userFrom(u), nil
}

// userRow loads the whole row of a user, secrets included, for this
// package's own use.
func (s *Service) userRow(ctx context.Context, id int64) (*store.User, error) {
	u, err := s.db.UserByID(ctx, id)
	if err != nil {
		return nil, mapStoreErr(err, fmt.Sprintf("user %d", id))
	}
	return u, nil
}

// UserByUsername loads a user by name.
func (s *Service) UserByUsername(ctx context.Context, username string) (*User, error) {
	u, err := s.db.UserByUsername(ctx, username)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return userFrom(u), nil
}

// ListUsers lists users.
func (s *Service) ListUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	rows, total, err := s.db.ListUsers(ctx, f.row())
	if err != nil {
		return nil, 0, err
	}
	return usersFrom(rows), total, nil
}

// UserChanges are the fields UpdateUser may change; nil leaves one alone.
type UserChanges struct {
	Email    *string
	Name     *string
	Username *string
	Password *string
	Admin    *bool
	Bot      *bool
}

// UpdateUser applies changes to a user.
func (s *Service) UpdateUser(ctx context.Context, id int64, c UserChanges) (*User, error) {
	u, err := s.userRow(ctx, id)
	if err != nil {
		return nil, err
	}
	if c.Username != nil && *c.Username != u.Username {
		// The username is the personal namespace's path: renaming would
		// move every repository URL, which gitgate does not support yet.
		return nil, inputErr("username", "changing a username is not supported")
	}
	if c.Email != nil {
		if err := validateEmail(*c.Email); err != nil {
			return nil, err
		}
		u.Email = *c.Email
	}
	if c.Name != nil {
		if len(*c.Name) > 255 {
			return nil, inputErr("name", "name is too long (maximum is 255 characters)")
		}
		u.Name = *c.Name
	}
	if c.Admin != nil {
		u.Admin = *c.Admin
	}
	if c.Bot != nil {
		u.Bot = *c.Bot
	}
	if c.Password != nil {
		if u.Bot {
			return nil, inputErr("password", "bot users cannot have a password")
		}
		if err := validatePassword(*c.Password); err != nil {
			return nil, err
		}
		h, err := HashPassword(*c.Password)
		if err != nil {
			return nil, err
		}
		u.PasswordHash = h
	}
	if u.Bot {
		u.PasswordHash = ""
	}
	u.UpdatedAt = s.Now()
	if err := s.db.UpdateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &ConflictError{Field: "email", Msg: fmt.Sprintf("email %q has already been taken", u.Email)}
		}
		return nil, err
	}
	if c.Password != nil {
		if err := s.credentialsChanged(ctx, id); err != nil {
			return nil, err
		}
	}
	return userFrom(u), nil
}

// SetBlocked blocks or unblocks a user. A blocked user's tokens, keys and
// sessions stop working at once because every authentication re-reads the
// owner's state.
func (s *Service) SetBlocked(ctx context.Context, id int64, blocked bool) (*User, error) {
	u, err := s.userRow(ctx, id)
	if err != nil {
		return nil, err
	}
	u.State = UserActive
	if blocked {
		u.State = UserBlocked
	}
	u.UpdatedAt = s.Now()
	if err := s.db.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	return userFrom(u), nil
}

// ErrBlockSelf refuses a user blocking their own account: the admin
// doing it would lock themself out in the middle of the request (GitLab
// refuses it in the API and the admin area alike).
var ErrBlockSelf = errors.New("you cannot block your own account")

// BlockUser blocks a user on behalf of actorID (the admin asking), with
// the doors' one rule: nobody blocks themself.
func (s *Service) BlockUser(ctx context.Context, actorID, id int64) (*User, error) {
	if actorID == id {
		return nil, ErrBlockSelf
	}
	return s.SetBlocked(ctx, id, true)
}

// CheckLogin verifies a username (or email) and password for a web
// sign-in (first step; 2FA users then need VerifySecondFactor). Bots and
// blocked users never sign in; a locked account answers as a wrong
// password does. It fails with ErrBusy when too many passwords are being
// verified at once. count, when set, is called as Credential.CountAttempt
// is: after the verification has its slot and before the hash is
// computed, so the web door counts sign-ins against the same per-address
// lockout as Git.
func (s *Service) CheckLogin(ctx context.Context, login, password string, count func() error) (*User, error) {
	u, err := s.checkLogin(ctx, login, password, count)
	if err != nil {
		return nil, err
	}
	return userFrom(u), nil
}

// dummyHash has the parameters of real hashes, so checking a password
// against it costs what a real check costs. It is a constant: computing it
// at start-up would leave argon2's 19 MiB of garbage in a fresh server.
const dummyHash = "$argon2id$v=19$m=19456,t=2,p=1$mzU+ffgMp7/++hXjdTyr/w$WIPAQ199D+GQC3OIn0pxxOWx60EB35aPcWNwaTFcgEk"

// EnsureRoot creates the first admin, root, when there are no users. It
// returns the generated password (empty when one was supplied or root was
// not created).
func (s *Service) EnsureRoot(ctx context.Context, password string) (created bool, generated string, err error) {
	n, err := s.db.CountUsers(ctx)
	if err != nil || n > 0 {
		return false, "", err
	}
	if password == "" {
		generated = randomString(24)
		password = generated
	}
	if _, err := s.CreateUser(ctx, NewUser{Username: "root", Email: "root@localhost.localdomain", Name: "Administrator",
		Password: password, Admin: true}); err != nil {
		var c *ConflictError
		if errors.As(err, &c) {
			// Another replica created it first.
			return false, "", nil
		}
		return false, "", fmt.Errorf("create root user: %w", err)
	}
	return true, generated, nil
}
