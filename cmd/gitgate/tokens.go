package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

func cmdToken(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("usage: gitgate token create|revoke|list|rotate …")
	}
	switch args[0] {
	case "create":
		return tokenCreate(ctx, a, args[1:])
	case "revoke":
		return tokenRevoke(ctx, a, args[1:])
	case "list":
		return tokenList(ctx, a, args[1:])
	case "rotate":
		return tokenRotate(ctx, a, args[1:])
	}
	return usagef("unknown token command %q: use create, revoke, list or rotate", args[0])
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

func tokenCreate(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("token create", a)
	user := fs.String("user", "", "owner's username")
	name := fs.String("name", "", "token name")
	description := fs.String("description", "", "description")
	scopes := fs.String("scopes", "", "comma-separated scopes")
	expires := fs.String("expires-at", "", "expiry date YYYY-MM-DD (default: today + 30 days where expiry is required)")
	secret := fs.String("token", "", "use this token string instead of generating one (at least 20 characters)")
	impersonation := fs.Bool("impersonation", false, "create an impersonation token")
	allowPast := fs.Bool("allow-past-expiry", false, "allow an expiry date that is today or past")
	asJSON := fs.Bool("json", false, "print JSON")
	const usage = "token create --user U --name N --scopes a,b [--expires-at YYYY-MM-DD] [--token STRING] [--impersonation] [--allow-past-expiry] [--json]"
	if _, err := parseExact(fs, args, 0, usage); err != nil {
		return err
	}
	if *user == "" || *name == "" || *scopes == "" {
		return usagef("usage: gitgate %s", usage)
	}
	exp, err := parseOptionalDate(*expires)
	if err != nil {
		return err
	}
	s, u, err := a.openWithUser(ctx, *user)
	if err != nil {
		return err
	}
	defer s.close()
	c, err := s.auth.CreateToken(ctx, auth.NewToken{UserID: u.ID, Name: *name, Description: *description,
		Scopes: []string{*scopes}, ExpiresAt: exp, Secret: *secret, Impersonation: *impersonation, AllowPastExpiry: *allowPast})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a.stdout, tokenJSON(c.Token, s.auth.Now(), c.Secret))
	}
	fmt.Fprintln(a.stdout, c.Secret)
	return nil
}

func tokenRevoke(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("token revoke", a)
	secret := fs.String("token", "", "the token string")
	id := fs.Int64("id", 0, "the token id")
	asJSON := fs.Bool("json", false, "print JSON")
	const usage = "token revoke (--token STRING | --id N) [--json]"
	if _, err := parseExact(fs, args, 0, usage); err != nil {
		return err
	}
	if (*secret == "") == (*id == 0) {
		return usagef("usage: gitgate %s", usage)
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var t *store.Token
	if *secret != "" {
		t, err = s.auth.RevokeTokenBySecret(ctx, *secret)
		if err != nil {
			return fmt.Errorf("no token with that value")
		}
	} else {
		t, err = s.auth.RevokeToken(ctx, *id)
		if err != nil {
			return fmt.Errorf("no token with id %d", *id)
		}
	}
	if *asJSON {
		return printJSON(a.stdout, tokenJSON(t, s.auth.Now(), ""))
	}
	fmt.Fprintf(a.stdout, "Revoked token %d (%s)\n", t.ID, t.Name)
	return nil
}

func tokenRotate(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("token rotate", a)
	id := fs.Int64("id", 0, "the token id")
	expires := fs.String("expires-at", "", "expiry of the new token (default: today + 7 days)")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseExact(fs, args, 0, "token rotate --id N [--expires-at YYYY-MM-DD] [--json]"); err != nil {
		return err
	}
	if *id == 0 {
		return usagef("usage: gitgate token rotate --id N [--expires-at YYYY-MM-DD] [--json]")
	}
	exp, err := parseOptionalDate(*expires)
	if err != nil {
		return err
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	c, err := s.auth.RotateToken(ctx, *id, exp)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a.stdout, tokenJSON(c.Token, s.auth.Now(), c.Secret))
	}
	fmt.Fprintln(a.stdout, c.Secret)
	return nil
}

func tokenList(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("token list", a)
	user := fs.String("user", "", "only this user's tokens")
	asJSON := fs.Bool("json", false, "print JSON")
	if _, err := parseExact(fs, args, 0, "token list [--user U] [--json]"); err != nil {
		return err
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	var f store.TokenFilter
	names := map[int64]string{}
	if *user != "" {
		u, err := s.user(ctx, *user)
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
	if *asJSON {
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
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, names[t.UserID], t.Name, strings.Join(t.Scopes(), ","),
			state, dateOrNever(t.ExpiresAt), timeOrNever(t.LastUsedAt))
	}
	return tw.Flush()
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
