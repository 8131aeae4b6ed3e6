package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/auth"
)

func newKeyCmd(a *app) *cobra.Command {
	var (
		user, title, key, file, expires string
		json                            bool
	)
	add := &cobra.Command{
		Use:   `add --user U --title T (--key "ssh-ed25519 …" | --file F) [--expires-at YYYY-MM-DD]`,
		Short: "Register a user's SSH public key for Git over SSH",
		Example: `  gitgate key add --user alice --title laptop --file ~/.ssh/id_ed25519.pub
  gitgate key add --user alice --key "$(cat id_ed25519.pub)" --expires-at 2030-01-31 --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if user == "" || (key == "") == (file == "") {
				return usage(cmd)
			}
			text := key
			if file != "" {
				b, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("read key file: %w", err)
				}
				text = string(b)
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
			k, err := s.auth.AddKey(cmd.Context(), auth.NewKey{UserID: u.ID, Title: title, Key: text, ExpiresAt: exp})
			if err != nil {
				return err
			}
			if json {
				return printJSON(a.stdout, keyJSON(k))
			}
			fmt.Fprintf(a.stdout, "Added key %s (id %d) for %s\n", k.Fingerprint, k.ID, u.Username)
			return nil
		},
	}
	f := add.Flags()
	f.StringVar(&user, "user", "", "owner's username")
	f.StringVar(&title, "title", "", "title (default: the key's comment)")
	f.StringVar(&key, "key", "", "the public key line")
	f.StringVar(&file, "file", "", "file holding the public key")
	f.StringVar(&expires, "expires-at", "", "expiry date YYYY-MM-DD")
	jsonFlag(add, &json)
	a.flagCompletion(add, "user", usernames)
	return parentCmd("key", "Register, list and delete SSH public keys",
		"  gitgate key add --user alice --title laptop --file ~/.ssh/id_ed25519.pub\n  gitgate key list --user alice\n  gitgate key delete 3",
		add, newKeyListCmd(a), newKeyDeleteCmd(a))
}

func newKeyListCmd(a *app) *cobra.Command {
	var (
		user string
		json bool
	)
	c := &cobra.Command{
		Use:   "list [--user U] [--json]",
		Short: "List SSH keys (all users', or one user's) with their fingerprints, expiry and last use",
		Example: `  gitgate key list
  gitgate key list --user alice --json`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			var keys []auth.SSHKey
			if user != "" {
				u, err := s.user(ctx, user)
				if err != nil {
					return err
				}
				keys, err = s.auth.Keys(ctx, u.ID)
				if err != nil {
					return err
				}
			} else if keys, err = s.auth.AllKeys(ctx); err != nil {
				return err
			}
			if json {
				out := make([]any, 0, len(keys))
				for i := range keys {
					out = append(out, keyJSON(&keys[i]))
				}
				return printJSON(a.stdout, out)
			}
			header := []string{"ID", "TITLE", "FINGERPRINT", "CREATED", "EXPIRES", "LAST USED"}
			if user == "" {
				header = append([]string{"ID", "USER"}, header[1:]...)
			}
			t := a.newTable(header...)
			for i := range keys {
				k := &keys[i]
				row := []string{strconv.FormatInt(k.ID, 10), k.Title, k.Fingerprint, k.CreatedAt.UTC().Format(auth.DateLayout),
					dateOrNever(k.ExpiresAt), timeOrNever(k.LastUsedAt)}
				if user == "" {
					row = append([]string{row[0], s.username(ctx, k.UserID)}, row[1:]...)
				}
				t.row(row...)
			}
			return t.print()
		},
	}
	c.Flags().StringVar(&user, "user", "", "only this user's keys")
	a.flagCompletion(c, "user", usernames)
	jsonFlag(c, &json)
	return c
}

func newKeyDeleteCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "delete ID",
		Short:   "Delete an SSH key: it stops working for Git over SSH at once",
		Example: "  gitgate key delete 3",
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := parseID("key", args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.open(ctx)
			if err != nil {
				return err
			}
			defer s.close()
			k, err := s.auth.Key(ctx, id)
			if errors.Is(err, auth.ErrNotFound) {
				return fmt.Errorf("no key with id %d", id)
			}
			if err != nil {
				return err
			}
			if err := s.auth.DeleteKey(ctx, k.UserID, k.ID); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Deleted key %d (%s) of %s\n", k.ID, k.Fingerprint, s.username(ctx, k.UserID))
			return nil
		},
	}
}
