package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// userState is a user's state as a person reads it: active, blocked, or
// locked by wrong passwords.
func (s *services) userState(u *auth.User) string {
	if u.State == auth.UserActive && s.auth.Locked(u) {
		return "locked"
	}
	return u.State
}

func userRoles(u *auth.User) string {
	var roles []string
	if u.Admin {
		roles = append(roles, "admin")
	}
	if u.Bot {
		roles = append(roles, "bot")
	}
	if u.OTPEnabled {
		roles = append(roles, "2fa")
	}
	if len(roles) == 0 {
		return "-"
	}
	return strings.Join(roles, ",")
}

func newUserListCmd(a *app) *cobra.Command {
	var (
		search                string
		blocked, admins, json bool
	)
	c := &cobra.Command{
		Use:   "list [--search S] [--blocked] [--admins] [--json]",
		Short: "List users, optionally only blocked ones, admins, or those matching a search",
		Example: `  gitgate user list
  gitgate user list --search ali
  gitgate user list --blocked --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			f := auth.UserFilter{Search: search, Admins: admins}
			if blocked {
				f.Blocked = &blocked
			}
			users, _, err := s.auth.ListUsers(ctx, f)
			if err != nil {
				return err
			}
			if json {
				out := make([]any, 0, len(users))
				for i := range users {
					out = append(out, a.userJSON(s, &users[i]))
				}
				return printJSON(a.stdout, out)
			}
			t := a.newTable("ID", "USERNAME", "NAME", "EMAIL", "STATE", "ROLES", "CREATED").colourState(4)
			for i := range users {
				u := &users[i]
				t.row(strconv.FormatInt(u.ID, 10), u.Username, u.Name, u.Email, s.userState(u), userRoles(u), u.CreatedAt.UTC().Format(auth.DateLayout))
			}
			return t.print()
		},
	}
	c.Flags().StringVar(&search, "search", "", "only users whose username, name or e-mail contains S")
	c.Flags().BoolVar(&blocked, "blocked", false, "only blocked users")
	c.Flags().BoolVar(&admins, "admins", false, "only administrators")
	jsonFlag(c, &json)
	return c
}

func newUserShowCmd(a *app) *cobra.Command {
	var json bool
	c := &cobra.Command{
		Use:   "show USERNAME [--json]",
		Short: "Show a user: state, roles, two-factor authentication, tokens, keys and projects",
		Example: `  gitgate user show alice
  gitgate user show alice --json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, u, err := a.openWithUser(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			if json {
				return printJSON(a.stdout, a.userJSON(s, u))
			}
			active := "active"
			tokens, _, err := s.auth.ListTokens(ctx, auth.TokenFilter{UserID: u.ID, State: active})
			if err != nil {
				return err
			}
			keys, err := s.auth.Keys(ctx, u.ID)
			if err != nil {
				return err
			}
			projects, _, err := s.repos.List(ctx, repos.ProjectFilter{All: true, OwnedBy: u.ID})
			if err != nil {
				return err
			}
			twoFA := "off"
			if u.OTPEnabled {
				twoFA = "on"
			}
			return a.fields("ID", strconv.FormatInt(u.ID, 10), "Username", u.Username, "Name", u.Name, "Email", u.Email,
				"State", s.userState(u), "Roles", userRoles(u), "Two-factor", twoFA, "Created", timeOrNever(&u.CreatedAt),
				"Active tokens", strconv.Itoa(len(tokens)), "SSH keys", strconv.Itoa(len(keys)), "Projects", strconv.Itoa(len(projects)))
		},
	}
	jsonFlag(c, &json)
	return c
}

func newUserDeleteCmd(a *app) *cobra.Command {
	var withProjects, hardDelete, yes bool
	c := &cobra.Command{
		Use:   "delete USERNAME [--with-projects] [--hard-delete] [--yes]",
		Short: "Delete a user with their tokens, keys and memberships (refused while they own projects, unless --with-projects)",
		Example: `  gitgate user delete bob
  gitgate user delete alice --with-projects --yes`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			s, u, err := a.openWithUser(ctx, args[0])
			if err != nil {
				return err
			}
			defer s.close()
			if withProjects || hardDelete {
				if err := a.confirm(yes, "delete user "+u.Username+" and their repositories", u.Username); err != nil {
					return err
				}
			}
			gone, err := s.repos.DeleteUser(ctx, u.ID, repos.DeleteUserOptions{WithProjects: withProjects, HardDelete: hardDelete})
			if err != nil {
				return hintFlag(err)
			}
			fmt.Fprintf(a.stdout, "Deleted user %s", u.Username)
			if len(gone.Groups) > 0 {
				fmt.Fprintf(a.stdout, ", the groups %s", strings.Join(gone.Groups, ", "))
			}
			if len(gone.Projects) > 0 {
				fmt.Fprintf(a.stdout, " and the repositories %s", strings.Join(gone.Projects, ", "))
			}
			fmt.Fprintln(a.stdout)
			return nil
		},
	}
	c.Flags().BoolVar(&withProjects, "with-projects", false, "also delete the projects in the user's namespace, repositories included")
	c.Flags().BoolVar(&hardDelete, "hard-delete", false, "also delete the groups the user is the only owner of, with everything in them")
	c.Flags().BoolVar(&yes, "yes", false, "do not ask for confirmation (needed without a terminal when repositories go)")
	return c
}

// hintFlag names the flag that lifts a refusal of the service.
func hintFlag(err error) error {
	var c *repos.ConflictError
	if !errors.As(err, &c) {
		return err
	}
	switch c.Reason {
	case repos.OwnsProjects:
		return fmt.Errorf("%w (--with-projects)", err)
	case repos.SoleGroupOwner:
		return fmt.Errorf("%w (--hard-delete)", err)
	}
	return err
}

func newUserPasswordCmd(a *app) *cobra.Command {
	var fromStdin bool
	c := &cobra.Command{
		Use:   "password USERNAME [--password-stdin]",
		Short: "Set a user's password, from standard input or typed without echo on a terminal",
		Example: `  gitgate user password alice
  printf '%s\n' "$PASSWORD" | gitgate user password alice --password-stdin`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// Find the user first: nobody types a password for a typo.
			s, u, err := a.openWithUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer s.close()
			pw, err := a.newPassword(fromStdin)
			if err != nil {
				return err
			}
			if _, err := s.auth.UpdateUser(cmd.Context(), u.ID, auth.UserChanges{Password: &pw}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Password of %s changed\n", u.Username)
			return nil
		},
	}
	c.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from standard input (one line)")
	return c
}

func newUserAdminCmd(a *app) *cobra.Command {
	var on, off bool
	c := &cobra.Command{
		Use:     "admin USERNAME (--on | --off)",
		Short:   "Make a user an administrator, or no longer one",
		Example: "  gitgate user admin alice --on\n  gitgate user admin alice --off",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if on == off {
				return usage(cmd)
			}
			return a.withUser(cmd.Context(), args[0], func(ctx context.Context, s *services, u *auth.User) (string, error) {
				if _, err := s.auth.UpdateUser(ctx, u.ID, auth.UserChanges{Admin: &on}); err != nil {
					return "", err
				}
				if on {
					return fmt.Sprintf("User %s is now an administrator", u.Username), nil
				}
				return fmt.Sprintf("User %s is no longer an administrator", u.Username), nil
			})
		},
	}
	c.Flags().BoolVar(&on, "on", false, "make an administrator")
	c.Flags().BoolVar(&off, "off", false, "take administration away")
	return c
}
