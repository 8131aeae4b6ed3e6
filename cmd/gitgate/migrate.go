package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newMigrateCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Create or upgrade the database schema and exit",
		Example: `  gitgate migrate
  GITGATE_DATABASE_URL=postgres://gitgate@db/gitgate gitgate migrate`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			s, err := a.open(cmd.Context())
			if err != nil {
				return err
			}
			defer s.close()
			if n := s.secrets.Encrypted; n > 0 {
				fmt.Fprintf(a.stdout, "encrypted %d two-factor secrets stored in plaintext\n", n)
			}
			if s.secrets.Rotated {
				fmt.Fprintf(a.stdout, "rotated the secret key: %d secrets re-encrypted; GITGATE_SECRET_KEY_BASE_PREVIOUS may now be unset\n", s.secrets.Reencrypted)
			} else if n := s.secrets.Reencrypted; n > 0 {
				fmt.Fprintf(a.stdout, "re-encrypted %d secrets still under the previous secret key\n", n)
			}
			if n := len(s.secrets.Undecryptable); n > 0 {
				fmt.Fprintf(a.stderr, "gitgate: %d two-factor secrets open under neither secret key (user ids %v); disable and re-enrol their two-factor authentication\n", n, s.secrets.Undecryptable)
			}
			fmt.Fprintf(a.stdout, "database (%s) is up to date\n", s.db.Dialect())
			_ = os.Stdout.Sync()
			return nil
		},
	}
}
