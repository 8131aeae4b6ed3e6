// Command gitgate is the gitgate server and its administration CLI. Every
// subcommand works directly on the configured database (SPEC §8).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

func main() {
	// receive-pack runs this same binary as its proc-receive hook.
	if ran, code := repos.RunHook(context.Background(), os.Stdin, os.Stdout, os.Stderr); ran {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is bad command-line syntax: exit status 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// app carries what every command needs.
type app struct {
	cfg    server.Config
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name  string
	usage string
	run   func(ctx context.Context, a *app, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "serve", cmdServe},
		{"migrate", "migrate", cmdMigrate},
		{"user", "user create|block|unblock|2fa …", cmdUser},
		{"token", "token create|revoke|list|rotate …", cmdToken},
		{"group", "group create PATH [--visibility private|internal|public]", cmdGroup},
		{"repo", "repo create NAMESPACE/NAME [--visibility private|internal|public] | prune NAMESPACE/NAME [--grace 10m]", cmdRepo},
		{"member", "member add (NAMESPACE/NAME | GROUP) USER --access guest|reporter|developer|maintainer|owner", cmdMember},
		{"key", "key add --user U --title T (--key \"ssh-ed25519 …\" | --file F)", cmdKey},
		{"settings", "settings get [KEY] | set KEY=VALUE …", cmdSettings},
		{"ssh", "ssh host-keys", cmdSSH},
	}
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	if err := a.cfg.FromEnv(os.Getenv); err != nil {
		fmt.Fprintf(stderr, "gitgate: %v\n", err)
		return 2
	}
	// Global flags may come before the command too.
	gfs := newFlagSet("gitgate", a)
	if err := gfs.Parse(args); err != nil {
		return report(stderr, usagef("%v", err))
	}
	args = gfs.Args()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return report(stderr, c.run(ctx, a, args[1:]))
		}
	}
	return report(stderr, usagef("unknown command %q (run gitgate help)", args[0]))
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: gitgate [global flags] COMMAND …")
	fmt.Fprintln(w, "\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  gitgate %s\n", c.usage)
	}
	fmt.Fprintln(w, "\nglobal flags (each also an environment variable):")
	fmt.Fprintln(w, "  --data-dir DIR       GITGATE_DATA_DIR (default ./data)")
	fmt.Fprintln(w, "  --database-url URL   GITGATE_DATABASE_URL (default SQLite in the data directory)")
	fmt.Fprintln(w, "  --http-addr ADDR     GITGATE_HTTP_ADDR (default 127.0.0.1:8080)")
	fmt.Fprintln(w, "  --ssh-addr ADDR      GITGATE_SSH_ADDR (default 127.0.0.1:2222)")
	fmt.Fprintln(w, "  --external-url URL   GITGATE_EXTERNAL_URL")
	names := server.EnvNames()
	keys := make([]string, 0, len(names))
	for k := range names {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	fmt.Fprintf(w, "\nenvironment: %s\n", strings.Join(keys, ", "))
}

// report prints one line for a failure and returns the exit status.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "gitgate: %s\n", oneLine(ue.msg))
		return 2
	}
	fmt.Fprintf(stderr, "gitgate: %s\n", oneLine(describe(err)))
	return 1
}

// describe turns domain errors into the words a person needs.
func describe(err error) string {
	switch {
	case errors.Is(err, store.ErrUnavailable):
		return "database unavailable: " + err.Error()
	case errors.Is(err, auth.ErrNotFound):
		return err.Error()
	case errors.Is(err, repos.ErrNotFound):
		return "no such project"
	}
	return err.Error()
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	return s
}

// newFlagSet returns a flag set that also understands the global flags.
func newFlagSet(name string, a *app) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&a.cfg.DataDir, "data-dir", a.cfg.DataDir, "data directory")
	fs.StringVar(&a.cfg.DatabaseURL, "database-url", a.cfg.DatabaseURL, "database URL")
	fs.StringVar(&a.cfg.HTTPAddr, "http-addr", a.cfg.HTTPAddr, "HTTP listen address")
	fs.StringVar(&a.cfg.SSHAddr, "ssh-addr", a.cfg.SSHAddr, "SSH listen address")
	fs.StringVar(&a.cfg.ExternalURL, "external-url", a.cfg.ExternalURL, "external URL")
	return fs
}

// parseArgs parses flags that may sit before, between or after the
// positional arguments, and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, usagef("%v", err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// parseExact is parseArgs for a command that takes exactly n positionals.
func parseExact(fs *flag.FlagSet, args []string, n int, usage string) ([]string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return nil, err
	}
	return pos, expectArgs(pos, n, usage)
}

// expectArgs checks the number of positional arguments.
func expectArgs(pos []string, n int, usage string) error {
	if len(pos) != n {
		return usagef("usage: gitgate %s", usage)
	}
	return nil
}

// services opens the database and builds the services a command needs.
type services struct {
	db    *store.DB
	auth  *auth.Service
	repos *repos.Service
}

func (a *app) open(ctx context.Context) (*services, error) {
	cfg := a.cfg.Defaults()
	db, err := store.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return &services{db: db, auth: auth.New(db), repos: repos.New(db, cfg.RepoRoot(), nil)}, nil
}

// openWithUser opens the database and finds the user a command is about.
func (a *app) openWithUser(ctx context.Context, username string) (*services, *store.User, error) {
	s, err := a.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.user(ctx, username)
	if err != nil {
		s.close()
		return nil, nil, err
	}
	return s, u, nil
}

func (s *services) close() {
	s.auth.Close(context.Background())
	s.db.Close()
}
