// Command apibench starts a gitgate server for load-testing the REST API
// with an external tool such as wrk: it creates a user with an api token,
// prints the server URL and the token, and serves until interrupted.
//
//	go run ./internal/apibench -database-url 'postgres://…?search_path=apibench'
//	wrk -t2 -c64 -d30s --latency -H "PRIVATE-TOKEN: $TOKEN" "$URL/api/v4/personal_access_tokens/self"
//
// docs/api.md records the figures measured this way.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "apibench:", err)
		os.Exit(1)
	}
}

func run() error {
	dbURL := flag.String("database-url", "", "database URL (default: SQLite in a temporary directory)")
	addr := flag.String("http-addr", "127.0.0.1:0", "HTTP listen address")
	flag.Parse()

	dataDir, err := os.MkdirTemp("", "gitgate-apibench-")
	if err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	defer os.RemoveAll(dataDir)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The benchmark measures the request path, not log output.
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("GITGATE_BENCH_LOG") != "" {
		if log, err = logging.New(os.Stderr, "text", "info"); err != nil {
			return err
		}
	}
	srv, err := server.New(ctx, server.Config{DataDir: dataDir, DatabaseURL: *dbURL, HTTPAddr: *addr,
		SSHAddr: "127.0.0.1:0", InitialRootPassword: "apibench-root-password"}, log)
	if err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start server: %w", err)
	}
	name := fmt.Sprintf("bench%d", time.Now().UnixNano())
	u, err := srv.Auth.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com"})
	if err != nil {
		return fmt.Errorf("create user: %w", err)
	}
	tok, err := srv.Auth.CreateToken(ctx, auth.NewToken{UserID: u.ID, Name: "bench", Scopes: []string{auth.ScopeAPI}})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	fmt.Printf("URL=http://%s\nTOKEN=%s\n", srv.HTTPAddr(), tok.Secret)
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}
