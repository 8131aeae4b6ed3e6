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
	fmt.Fprintf(a.stdout, "database (%s) is up to date\n", s.db.Dialect())
	_ = os.Stdout.Sync()
	return nil
}
