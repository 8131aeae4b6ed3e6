package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

func cmdUser(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 {
		return usagef("usage: gitgate user create|block|unblock|unlock|2fa …")
	}
	switch args[0] {
	case "create":
		return userCreate(ctx, a, args[1:])
	case "block", "unblock":
		return userBlock(ctx, a, args[0] == "block", args[1:])
	case "unlock":
		return userUnlock(ctx, a, args[1:])
	case "2fa":
		return user2FA(ctx, a, args[1:])
	}
	return usagef("unknown user command %q: use create, block, unblock, unlock or 2fa", args[0])
}

func userCreate(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("user create", a)
	username := fs.String("username", "", "username")
	email := fs.String("email", "", "email")
	name := fs.String("name", "", "display name")
	pwStdin := fs.Bool("password-stdin", false, "read the password from standard input")
	admin := fs.Bool("admin", false, "make an administrator")
	bot := fs.Bool("bot", false, "a bot user (no password)")
	asJSON := fs.Bool("json", false, "print JSON")
	const usage = "user create --username U --email E [--name N] [--password-stdin] [--admin] [--bot]"
	if _, err := parseExact(fs, args, 0, usage); err != nil {
		return err
	}
	if *username == "" || *email == "" {
		return usagef("usage: gitgate %s", usage)
	}
	var password string
	if *pwStdin {
		if *bot {
			return fmt.Errorf("bot users cannot have a password")
		}
		var err error
		if password, err = readPassword(a.stdin); err != nil {
			return err
		}
	}
	s, err := a.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	u, err := s.auth.CreateUser(ctx, auth.NewUser{Username: *username, Email: *email, Name: *name, Password: password, Admin: *admin, Bot: *bot})
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(a.stdout, a.userJSON(u))
	}
	fmt.Fprintf(a.stdout, "Created user %s (id %d)\n", u.Username, u.ID)
	return nil
}

// readPassword reads one line; one trailing newline (and CR) is dropped.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", fmt.Errorf("read password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", fmt.Errorf("no password on standard input")
	}
	return line, nil
}

func (s *services) user(ctx context.Context, username string) (*store.User, error) {
	u, err := s.auth.UserByUsername(ctx, username)
	if err != nil {
		return nil, fmt.Errorf("no user named %q", username)
	}
	return u, nil
}

func userBlock(ctx context.Context, a *app, block bool, args []string) error {
	verb := map[bool]string{true: "block", false: "unblock"}[block]
	fs := newFlagSet("user "+verb, a)
	pos, err := parseExact(fs, args, 1, "user "+verb+" USERNAME")
	if err != nil {
		return err
	}
	s, u, err := a.openWithUser(ctx, pos[0])
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.auth.SetBlocked(ctx, u.ID, block); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "User %s %sed\n", u.Username, verb)
	return nil
}

// userUnlock lifts the lock that wrong passwords put on an account
// (docs/authentication.md) and forgets its failed attempts.
func userUnlock(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("user unlock", a)
	pos, err := parseExact(fs, args, 1, "user unlock USERNAME")
	if err != nil {
		return err
	}
	s, u, err := a.openWithUser(ctx, pos[0])
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.auth.UnlockUser(ctx, u.ID); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "User %s unlocked\n", u.Username)
	return nil
}

func user2FA(ctx context.Context, a *app, args []string) error {
	if len(args) == 0 || (args[0] != "enable" && args[0] != "disable") {
		return usagef("usage: gitgate user 2fa enable USERNAME [--secret BASE32] | disable USERNAME")
	}
	verb := args[0]
	fs := newFlagSet("user 2fa "+verb, a)
	secret := fs.String("secret", "", "base32 TOTP secret (default: generated)")
	pos, err := parseExact(fs, args[1:], 1, "user 2fa "+verb+" USERNAME")
	if err != nil {
		return err
	}
	s, u, err := a.openWithUser(ctx, pos[0])
	if err != nil {
		return err
	}
	defer s.close()
	if verb == "disable" {
		if err := s.auth.DisableTOTP(ctx, u.ID); err != nil {
			return err
		}
		fmt.Fprintf(a.stdout, "Two-factor authentication disabled for %s\n", u.Username)
		return nil
	}
	e, err := s.auth.EnableTOTP(ctx, u.ID, *secret)
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "Secret: %s\nURI:    %s\nRecovery codes (shown once):\n", e.Secret, e.URI)
	for _, c := range e.RecoveryCodes {
		fmt.Fprintf(a.stdout, "  %s\n", c)
	}
	return nil
}
