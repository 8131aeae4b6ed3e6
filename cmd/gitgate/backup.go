package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/backup"
)

func (a *app) backupConfig() backup.Config {
	cfg := a.cfg.Defaults()
	return backup.Config{DataDir: cfg.DataDir, DatabaseURL: cfg.DatabaseURL, RepoRoot: cfg.RepoRoot(),
		SecretKeyBase: cfg.SecretKeyBase, Now: cfg.Now}
}

func newBackupCmd(a *app) *cobra.Command {
	var to string
	c := &cobra.Command{
		Use:   "backup --to FILE.tar.gz",
		Short: "Write the database, every repository, the SSH host keys and the secret key file to one archive",
		Long: `Write a consistent archive of a running or stopped instance: the database
as one snapshot (SQLite: VACUUM INTO; PostgreSQL: pg_dump, which must be
installed), then every repository of that snapshot as a git bundle, the SSH
host keys and the secret key file. GITGATE_SECRET_KEY_BASE, when used, is not
written: keep it apart. The archive holds password hashes, token digests, the
SSH host keys and the key file that decrypts the two-factor secrets: store it
like them, encrypted off the machine (docs/operations.md).`,
		Example: `  gitgate backup --to /var/backups/gitgate-$(date +%F).tar.gz
  GITGATE_DATABASE_URL=postgres://gitgate@db/gitgate gitgate backup --to gitgate.tar.gz`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if to == "" {
				return usage(cmd)
			}
			rep, err := backup.Create(cmd.Context(), a.backupConfig(), to)
			if err != nil {
				return err
			}
			m := rep.Manifest
			fmt.Fprintf(a.stdout, "backup written to %s: %s database, %d repositories, %d SSH host keys, secret key %s\n",
				to, m.Database, len(m.Projects), len(m.HostKeys), keyWhere(m.SecretKey))
			for _, w := range rep.Warnings {
				fmt.Fprintf(a.stderr, "gitgate: note: %s\n", w)
			}
			return nil
		},
	}
	c.Flags().StringVar(&to, "to", "", "the archive to write (must not exist)")
	return c
}

func newRestoreCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "restore FILE",
		Short: "Restore an archive of gitgate backup into an empty data directory and database",
		Long: `Restore an archive written by gitgate backup into the configured data directory
and database, which must both be empty (PostgreSQL: pg_restore must be
installed). Stop every gitgate process of the instance first. Nothing is
written unless everything can be: a failed restore leaves the data directory
and database as they were. When the archive's secret key came from
GITGATE_SECRET_KEY_BASE, set the same value for the restore and the servers.`,
		Example: `  gitgate --data-dir /srv/gitgate restore /var/backups/gitgate-2026-12-01.tar.gz
  GITGATE_DATABASE_URL=postgres://gitgate@db/gitgate gitgate restore gitgate.tar.gz`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rep, err := backup.Restore(cmd.Context(), a.backupConfig(), args[0])
			if err != nil {
				return err
			}
			m := rep.Manifest
			fmt.Fprintf(a.stdout, "restored %s (backup of %s): %s database, %d repositories, %d SSH host keys, secret key %s\n",
				args[0], m.CreatedAt.Format("2006-01-02 15:04:05 UTC"), m.Database, len(m.Projects), len(m.HostKeys), keyWhere(m.SecretKey))
			for _, w := range rep.Warnings {
				fmt.Fprintf(a.stderr, "gitgate: note: %s\n", w)
			}
			return nil
		},
	}
}

func keyWhere(source string) string {
	switch source {
	case backup.KeyInFile:
		return "file included"
	case backup.KeyInEnvironment:
		return "from GITGATE_SECRET_KEY_BASE, not included"
	}
	return "not created yet"
}
