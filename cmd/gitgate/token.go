package main

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
)

func newTokenCmd(a *app) *cobra.Command {
	c := parentCmd("token", "Create, list, show, revoke and rotate personal access tokens",
		`  TOKEN=$(gitgate token create --user alice --name laptop --scopes read_repository,write_repository)
  gitgate token list --user alice
  gitgate token revoke --id 7
  gitgate token revoke --user alice --all`,
		newTokenCreateCmd(a),
		newTokenRevokeCmd(a),
		newTokenListCmd(a),
		newTokenShowCmd(a),
		newTokenRotateCmd(a),
	)
	for _, sub := range c.Commands() {
		if sub.Flags().Lookup("user") != nil {
			a.flagCompletion(sub, "user", usernames)
		}
	}
	return c
}

func parseOptionalDate(s string) (*time.Time, error) {
	if s == "" {
		return nil, nil
	}
	d, err := auth.ParseDate(s)
	if err != nil {
		return nil, err
	}
	return &d, nil
}

func newTokenCreateCmd(a *app) *cobra.Command {
	var (
		user, name, description, scopes, expires, secret string
		impersonation, allowPast, json                   bool
	)
	c := &cobra.Command{
		Use:   "create --user U --name N --scopes a,b [--expires-at YYYY-MM-DD] [--token STRING] [--impersonation] [--allow-past-expiry] [--json]",
		Short: "Create a personal access token and print it (alone on stdout: scripts capture it)",
		Example: `  gitgate token create --user alice --name laptop --scopes read_repository,write_repository
  gitgate token create --user automation-bot --name 'Automation token' --scopes read_user,read_repository --token token-string-here123
  gitgate token create --user alice --name support --scopes read_repository --impersonation --expires-at 2030-01-31 --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" || name == "" || scopes == "" {
				return usage(cmd)
			}
			exp, err := parseOptionalDate(expires)
			if err != nil {
				return err
			}
			s, u, err := a.openWithUser(cmd.Context(), user)
			if err != nil {
				return err
			}
			defer s.close()
			c, err := s.auth.CreateToken(cmd.Context(), auth.NewToken{UserID: u.ID, Name: name, Description: description,
				Scopes: []string{scopes}, ExpiresAt: exp, Secret: secret, Impersonation: impersonation, AllowPastExpiry: allowPast})
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, tokenJSON(c.Token, s.auth.Now(), c.Secret))
			}
			fmt.Fprintln(a.stdout, c.Secret)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&user, "user", "", "owner's username")
	f.StringVar(&name, "name", "", "token name")
	f.StringVar(&description, "description", "", "description")
	f.StringVar(&scopes, "scopes", "", "comma-separated scopes")
	f.StringVar(&expires, "expires-at", "", "expiry date YYYY-MM-DD (default: today + 30 days where expiry is required)")
	f.StringVar(&secret, "token", "", "use this token string instead of generating one (at least 20 characters)")
	f.BoolVar(&impersonation, "impersonation", false, "create an impersonation token")
	f.BoolVar(&allowPast, "allow-past-expiry", false, "allow an expiry date that is today or past")
	jsonFlag(c, &json)
	return c
}

func newTokenRevokeCmd(a *app) *cobra.Command {
	var (
		secret, user string
		id           int64
		all, json    bool
	)
	c := &cobra.Command{
		Use:   "revoke (--token STRING | --id N | --user U --all) [--json]",
		Short: "Revoke a token, given by its value or its id, or every token of a user",
		Example: `  gitgate token revoke --id 7
  gitgate token revoke --token token-string-here123 --json
  gitgate token revoke --user alice --all`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			given := 0
			for _, set := range []bool{secret != "", id != 0, user != "" || all} {
				if set {
					given++
				}
			}
			if given != 1 || (user != "") != all {
				return usage(cmd)
			}
			if all {
				if json {
					return usagef("--json prints one token: it does not go with --all")
				}
				s, u, err := a.openWithUser(cmd.Context(), user)
				if err != nil {
					return err
				}
				defer s.close()
				n, err := s.auth.RevokeUserTokens(cmd.Context(), u.ID)
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "Revoked %s of %s\n", countTokens(n), u.Username)
				return nil
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			var t *auth.Token
			if secret != "" {
				t, err = s.auth.RevokeTokenBySecret(cmd.Context(), secret)
				if err != nil {
					return fmt.Errorf("no token with that value")
				}
			} else {
				t, err = s.auth.RevokeToken(cmd.Context(), id)
				if err != nil {
					return fmt.Errorf("no token with id %d", id)
				}
			}
			if json {
				return printJSON(a.stdout, tokenJSON(t, s.auth.Now(), ""))
			}
			fmt.Fprintf(a.stdout, "Revoked token %d (%s)\n", t.ID, t.Name)
			return nil
		},
	}
	c.Flags().StringVar(&secret, "token", "", "the token string")
	c.Flags().Int64Var(&id, "id", 0, "the token id")
	c.Flags().StringVar(&user, "user", "", "with --all: the user whose tokens to revoke")
	c.Flags().BoolVar(&all, "all", false, "revoke every token of --user that is not revoked yet (expired ones too)")
	jsonFlag(c, &json)
	return c
}

func countTokens(n int) string {
	if n == 1 {
		return "1 token"
	}
	return fmt.Sprintf("%d tokens", n)
}

func newTokenRotateCmd(a *app) *cobra.Command {
	var (
		id      int64
		expires string
		json    bool
	)
	c := &cobra.Command{
		Use:     "rotate --id N [--expires-at YYYY-MM-DD] [--json]",
		Short:   "Revoke a token and print its replacement (same name, scopes and owner)",
		Example: "  gitgate token rotate --id 7\n  gitgate token rotate --id 7 --expires-at 2030-01-31 --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if id == 0 {
				return usage(cmd)
			}
			exp, err := parseOptionalDate(expires)
			if err != nil {
				return err
			}
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			c, err := s.auth.RotateToken(cmd.Context(), id, exp)
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, tokenJSON(c.Token, s.auth.Now(), c.Secret))
			}
			fmt.Fprintln(a.stdout, c.Secret)
			return nil
		},
	}
	c.Flags().Int64Var(&id, "id", 0, "the token id")
	c.Flags().StringVar(&expires, "expires-at", "", "expiry of the new token (default: today + 7 days)")
	jsonFlag(c, &json)
	return c
}

func newTokenListCmd(a *app) *cobra.Command {
	var (
		user, state, expiresBefore string
		json                       bool
	)
	c := &cobra.Command{
		Use:   "list [--user U] [--state active|inactive|all] [--expires-before YYYY-MM-DD] [--json]",
		Short: "List tokens (all users', or one user's) with their state, expiry and last use",
		Example: `  gitgate token list
  gitgate token list --user alice --json
  gitgate token list --state active --expires-before 2030-01-31`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var f auth.TokenFilter
			switch state {
			case "all":
			case "active", "inactive":
				f.State = state
			default:
				return usagef("--state must be active, inactive or all, not %q", state)
			}
			before, err := parseOptionalDate(expiresBefore)
			if err != nil {
				return usagef("--expires-before: %v", err)
			}
			f.ExpiresBefore = before
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			if user != "" {
				u, err := s.user(ctx, user)
				if err != nil {
					return err
				}
				f.UserID = u.ID
			}
			tokens, _, err := s.auth.ListTokens(ctx, f)
			if err != nil {
				return err
			}
			now := s.auth.Now()
			if json {
				out := make([]any, 0, len(tokens))
				for i := range tokens {
					out = append(out, tokenJSON(&tokens[i], now, ""))
				}
				return printJSON(a.stdout, out)
			}
			t := a.newTable("ID", "USER", "NAME", "SCOPES", "STATE", "EXPIRES", "LAST USED").colourState(4)
			for i := range tokens {
				tok := &tokens[i]
				t.row(strconv.FormatInt(tok.ID, 10), s.username(ctx, tok.UserID), tok.Name, strings.Join(tok.Scopes, ","),
					tokenState(tok, now), dateOrNever(tok.ExpiresAt), timeOrNever(tok.LastUsedAt))
			}
			return t.print()
		},
	}
	c.Flags().StringVar(&user, "user", "", "only this user's tokens")
	c.Flags().StringVar(&state, "state", "all", "active (neither revoked nor expired), inactive, or all")
	c.Flags().StringVar(&expiresBefore, "expires-before", "", "only tokens that expire before this date (YYYY-MM-DD)")
	jsonFlag(c, &json)
	return c
}

func tokenState(t *auth.Token, now time.Time) string {
	state := string(auth.StateOf(t, now))
	if t.Impersonation {
		state += " (impersonation)"
	}
	return state
}

// username names a user for a table; a user that cannot be loaded shows
// as its id.
func (s *services) username(ctx context.Context, id int64) string {
	u, err := s.userByID(ctx, id)
	if err != nil {
		return "#" + strconv.FormatInt(id, 10)
	}
	return u.Username
}

func newTokenShowCmd(a *app) *cobra.Command {
	var json bool
	c := &cobra.Command{
		Use:     "show ID [--json]",
		Short:   "Show one token: owner, scopes, state, expiry and last use (never its value)",
		Example: "  gitgate token show 7\n  gitgate token show 7 --json",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("token", args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			t, err := s.auth.Token(ctx, id)
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("no token with id %d", id)
			}
			if err != nil {
				return err
			}
			now := s.auth.Now()
			if json {
				return printJSON(a.stdout, tokenJSON(t, now, ""))
			}
			desc := t.Description
			if desc == "" {
				desc = "-"
			}
			return a.fields("ID", strconv.FormatInt(t.ID, 10), "Name", t.Name, "Description", desc, "User", s.username(ctx, t.UserID),
				"Scopes", strings.Join(t.Scopes, ","), "State", tokenState(t, now), "Created", timeOrNever(&t.CreatedAt),
				"Expires", dateOrNever(t.ExpiresAt), "Last used", timeOrNever(t.LastUsedAt))
		},
	}
	jsonFlag(c, &json)
	return c
}

func dateOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(auth.DateLayout)
}

func timeOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}
