package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
)

func newTokenCmd(a *app) *cobra.Command {
	return parentCmd("token", "Create, list, revoke and rotate personal access tokens",
		`  TOKEN=$(gitgate token create --user alice --name laptop --scopes read_repository,write_repository)
  gitgate token list --user alice
  gitgate token revoke --id 7`,
		newTokenCreateCmd(a),
		newTokenRevokeCmd(a),
		newTokenListCmd(a),
		newTokenRotateCmd(a),
	)
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
		secret string
		id     int64
		json   bool
	)
	c := &cobra.Command{
		Use:     "revoke (--token STRING | --id N) [--json]",
		Short:   "Revoke a token, given by its value or its id",
		Example: "  gitgate token revoke --id 7\n  gitgate token revoke --token token-string-here123 --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (secret == "") == (id == 0) {
				return usage(cmd)
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
	jsonFlag(c, &json)
	return c
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
		user string
		json bool
	)
	c := &cobra.Command{
		Use:     "list [--user U] [--json]",
		Short:   "List tokens (all users', or one user's) with their state and last use",
		Example: "  gitgate token list\n  gitgate token list --user alice --json",
		Args:    exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			var f auth.TokenFilter
			names := map[int64]string{}
			if user != "" {
				u, err := s.user(ctx, user)
				if err != nil {
					return err
				}
				f.UserID = u.ID
				names[u.ID] = u.Username
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
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tNAME\tSCOPES\tSTATE\tEXPIRES\tLAST USED")
			for i := range tokens {
				t := &tokens[i]
				if _, ok := names[t.UserID]; !ok {
					if u, err := s.auth.User(ctx, t.UserID); err == nil {
						names[t.UserID] = u.Username
					}
				}
				state := string(auth.StateOf(t, now))
				if t.Impersonation {
					state += " (impersonation)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, names[t.UserID], t.Name, strings.Join(t.Scopes, ","),
					state, dateOrNever(t.ExpiresAt), timeOrNever(t.LastUsedAt))
			}
			return tw.Flush()
		},
	}
	c.Flags().StringVar(&user, "user", "", "only this user's tokens")
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
