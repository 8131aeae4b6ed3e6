package main

import (
	"fmt"
	"os"

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
	return parentCmd("key", "Register SSH public keys", "  gitgate key add --user alice --title laptop --file ~/.ssh/id_ed25519.pub", add)
}
