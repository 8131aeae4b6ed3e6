package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
)

func newServeCmd(a *app) *cobra.Command {
	c := &cobra.Command{
		Use:   "serve [--log-format text|json] [--log-level LEVEL]",
		Short: "Run the server: Git over HTTP and SSH, the REST API, health and metrics",
		Long: `Run the server until SIGINT or SIGTERM, then stop accepting and let running
Git operations finish (at most GITGATE_SHUTDOWN_TIMEOUT). The first start
creates the database, the SSH host keys and the admin user root. With
--tls-cert and --tls-key the HTTP listener serves HTTPS, and SIGHUP reads the
certificate and key files again.`,
		Example: `  gitgate serve
  gitgate serve --http-addr 0.0.0.0:8080 --ssh-addr 0.0.0.0:2222 --log-format json
  GITGATE_DATABASE_URL=postgres://gitgate@db/gitgate gitgate serve
  gitgate serve --http-addr 0.0.0.0:443 --tls-cert /etc/gitgate/fullchain.pem --tls-key /etc/gitgate/privkey.pem`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), a) },
	}
	addSettingFlags(c.Flags(), a, "serve")
	return c
}

func serve(ctx context.Context, a *app) error {
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
	waitForShutdown(ctx, srv, log)
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

// waitForShutdown serves until ctx ends (SIGINT, SIGTERM). SIGHUP
// meanwhile reloads the TLS certificate; a certificate that does not load
// leaves the previous one served.
func waitForShutdown(ctx context.Context, srv *server.Server, log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			if !srv.Config().NativeTLS() {
				log.Info("SIGHUP: nothing to reload (no --tls-cert)")
				continue
			}
			if err := srv.ReloadTLS(); err != nil {
				log.Error("SIGHUP: the TLS certificate was not reloaded; the previous one is still served", "err", err)
			}
		}
	}
}
