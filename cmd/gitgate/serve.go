package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
)

func cmdServe(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("serve", a)
	fs.StringVar(&a.cfg.LogFormat, "log-format", a.cfg.LogFormat, "text or json")
	fs.StringVar(&a.cfg.LogLevel, "log-level", a.cfg.LogLevel, "debug, info, warn or error")
	if _, err := parseExact(fs, args, 0, "serve [--log-format text|json] [--log-level LEVEL]"); err != nil {
		return err
	}
	cfg := a.cfg.Defaults()
	log, err := logging.New(a.stderr, cfg.LogFormat, cfg.LogLevel)
	if err != nil {
		return usagef("%v", err)
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		_ = srv.Shutdown(context.Background())
		return err
	}
	<-ctx.Done()
	log.Info("shutting down: draining running operations", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped", "took", time.Since(start).Round(time.Millisecond).String())
	return nil
}

func cmdMigrate(ctx context.Context, a *app, args []string) error {
	fs := newFlagSet("migrate", a)
	if _, err := parseExact(fs, args, 0, "migrate"); err != nil {
		return err
	}
	s, err := a.open(ctx)
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
}
