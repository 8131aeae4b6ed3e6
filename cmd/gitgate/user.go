package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
)

func newUserCmd(a *app) *cobra.Command {
	c := parentCmd("user", "Create, list, show, change, block and delete users; turn two-factor authentication on or off",
		`  gitgate user create --username alice --email alice@example.com
  gitgate user list --blocked
  gitgate user block alice
  gitgate user 2fa enable alice`,
		newUserCreateCmd(a),
		newUserListCmd(a),
		newUserShowCmd(a),
		newUserBlockCmd(a, true),
		newUserBlockCmd(a, false),
		newUserUnlockCmd(a),
		newUserPasswordCmd(a),
		newUserAdminCmd(a),
		newUserDeleteCmd(a),
		parentCmd("2fa", "Turn a user's two-factor authentication on or off",
			"  gitgate user 2fa enable alice\n  gitgate user 2fa disable alice",
			newUser2FAEnableCmd(a),
			newUser2FADisableCmd(a)),
	)
	// Every subcommand whose argument is a username completes it.
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			if strings.Contains(sub.Use, "USERNAME") && sub.ValidArgsFunction == nil {
				sub.ValidArgsFunction = a.complete(0, usernames)
			}
			walk(sub)
		}
	}
	walk(c)
	return c
}

func newUserCreateCmd(a *app) *cobra.Command {
	var (
		username, email, name     string
		pwStdin, admin, bot, json bool
	)
	c := &cobra.Command{
		Use:   "create --username U --email E [--name N] [--password-stdin] [--admin] [--bot]",
		Short: "Create a user (with a password from standard input, or none)",
		Example: `  gitgate user create --username alice --email alice@example.com
  printf '%s\n' "$PASSWORD" | gitgate user create --username bob --email bob@example.com --password-stdin --admin
  gitgate user create --username automation-bot --email bot@example.com --bot --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if username == "" || email == "" {
				return usage(cmd)
			}
			var password string
			if pwStdin {
				if bot {
					return fmt.Errorf("bot users cannot have a password")
				}
				var err error
				if password, err = readPassword(a.stdin); err != nil {
					return err
				}
			}
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			u, err := s.auth.CreateUser(ctx, auth.NewUser{Username: username, Email: email, Name: name, Password: password, Admin: admin, Bot: bot})
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, a.userJSON(s, u))
			}
			fmt.Fprintf(a.stdout, "Created user %s (id %d)\n", u.Username, u.ID)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&username, "username", "", "username")
	f.StringVar(&email, "email", "", "email")
	f.StringVar(&name, "name", "", "display name")
	f.BoolVar(&pwStdin, "password-stdin", false, "read the password from standard input (one line)")
	f.BoolVar(&admin, "admin", false, "make an administrator")
	f.BoolVar(&bot, "bot", false, "a bot user (no password)")
	jsonFlag(c, &json)
	return c
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

func (s *services) user(ctx context.Context, username string) (*auth.User, error) {
	u, err := s.auth.UserByUsername(ctx, username)
	if err != nil {
		return nil, fmt.Errorf("no user named %q", username)
	}
	return u, nil
}

// userCmd is a command that does one thing to the user its only argument
// names and prints one line about it.
func userCmd(a *app, use, short, example string, do func(ctx context.Context, s *services, u *auth.User) (string, error)) *cobra.Command {
	return &cobra.Command{
		Use:     use + " USERNAME",
		Short:   short,
		Example: example,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withUser(cmd.Context(), args[0], do)
		},
	}
}

// withUser does one thing to a user and prints the line it returns.
func (a *app) withUser(ctx context.Context, username string, do func(ctx context.Context, s *services, u *auth.User) (string, error)) error {
	s, u, err := a.openWithUser(ctx, username)
	if err != nil {
		return err
	}
	defer s.close()
	line, err := do(ctx, s, u)
	if err != nil {
		return err
	}
	fmt.Fprintln(a.stdout, line)
	return nil
}

func newUserBlockCmd(a *app, block bool) *cobra.Command {
	verb, short := "block", "Block a user: no Git, API or sign-in until unblocked"
	if !block {
		verb, short = "unblock", "Unblock a blocked user"
	}
	return userCmd(a, verb, short, "  gitgate user "+verb+" alice",
		func(ctx context.Context, s *services, u *auth.User) (string, error) {
			if _, err := s.auth.SetBlocked(ctx, u.ID, block); err != nil {
				return "", err
			}
			return fmt.Sprintf("User %s %sed", u.Username, verb), nil
		})
}

// newUserUnlockCmd lifts the lock that wrong passwords put on an account
// (docs/authentication.md) and forgets its failed attempts.
func newUserUnlockCmd(a *app) *cobra.Command {
	return userCmd(a, "unlock", "Unlock an account locked by wrong passwords, before its 10 minutes are up", "  gitgate user unlock alice",
		func(ctx context.Context, s *services, u *auth.User) (string, error) {
			if _, err := s.auth.UnlockUser(ctx, u.ID); err != nil {
				return "", err
			}
			return fmt.Sprintf("User %s unlocked", u.Username), nil
		})
}

func newUser2FAEnableCmd(a *app) *cobra.Command {
	var secret string
	c := &cobra.Command{
		Use:   "enable USERNAME [--secret BASE32]",
		Short: "Turn on two-factor authentication; prints the secret, its otpauth:// URI and recovery codes",
		Example: `  gitgate user 2fa enable alice
  gitgate user 2fa enable alice --secret JBSWY3DPEHPK3PXPJBSWY3DP`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, u, err := a.openWithUser(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			defer s.close()
			e, err := s.auth.EnableTOTP(cmd.Context(), u.ID, secret)
			if err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Secret: %s\nURI:    %s\nRecovery codes (shown once):\n", e.Secret, e.URI)
			for _, c := range e.RecoveryCodes {
				fmt.Fprintf(a.stdout, "  %s\n", c)
			}
			return nil
		},
	}
	c.Flags().StringVar(&secret, "secret", "", "base32 TOTP secret (default: generated)")
	return c
}

func newUser2FADisableCmd(a *app) *cobra.Command {
	return userCmd(a, "disable", "Turn off two-factor authentication", "  gitgate user 2fa disable alice",
		func(ctx context.Context, s *services, u *auth.User) (string, error) {
			if err := s.auth.DisableTOTP(ctx, u.ID); err != nil {
				return "", err
			}
			return fmt.Sprintf("Two-factor authentication disabled for %s", u.Username), nil
		})
}
