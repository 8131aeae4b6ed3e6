package server

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/store"
)

// OpenDatabase opens and migrates the configured database and loads the
// secret key against it: the schema migrations, then the key check and
// the encryption of secrets still stored in plaintext (package secrets).
// The server and every CLI command open the database through it, so a
// process with the wrong key neither starts nor writes. log may be nil.
func OpenDatabase(ctx context.Context, cfg Config, log *slog.Logger) (*store.DB, *secrets.Keyring, secrets.Report, error) {
	cfg = cfg.Defaults()
	db, err := store.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return nil, nil, secrets.Report{}, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, nil, secrets.Report{}, err
	}
	ring, rep, err := secrets.Load(ctx, db, secrets.Config{
		KeyBase:         cfg.SecretKeyBase,
		PreviousKeyBase: cfg.SecretKeyBasePrevious,
		DataDir:         cfg.DataDir,
		Now:             cfg.Now,
	})
	if err != nil {
		db.Close()
		return nil, nil, rep, err
	}
	if log != nil {
		logSecretsReport(log, rep)
	}
	return db, ring, rep, nil
}

func logSecretsReport(log *slog.Logger, rep secrets.Report) {
	if rep.KeyFileCreated != "" {
		log.Info("generated the secret key; back it up, and give every other gitgate process of this database the same key", "path", rep.KeyFileCreated)
	}
	if rep.Encrypted > 0 {
		log.Info("encrypted two-factor secrets stored in plaintext", "count", rep.Encrypted)
	}
	if rep.Rotated {
		log.Info("rotated the secret key: secrets re-encrypted under GITGATE_SECRET_KEY_BASE; GITGATE_SECRET_KEY_BASE_PREVIOUS may now be unset", "reencrypted", rep.Reencrypted)
	} else if rep.Reencrypted > 0 {
		log.Info("re-encrypted secrets still under the previous secret key", "count", rep.Reencrypted)
	}
	if len(rep.Undecryptable) > 0 {
		log.Warn(fmt.Sprintf("%d two-factor secrets open under neither secret key; those users must disable and re-enrol two-factor authentication", len(rep.Undecryptable)),
			"user_ids", rep.Undecryptable)
	}
}
