// Command gitgate is the gitgate server and its administration CLI. Every
// subcommand works directly on the configured database (docs/cli.md). The
// command tree is built in root.go, one file per command group; commands
// only parse and print, the work is done by the auth and repos services.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/hooks"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

func main() {
	// receive-pack runs this same binary as its proc-receive hook.
	if ran, code := hooks.RunHook(context.Background(), os.Stdin, os.Stdout, os.Stderr); ran {
		os.Exit(code)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// usageError is bad command-line syntax or configuration: exit status 2.
type usageError struct {
	msg string
	// hint adds "(see gitgate CMD --help)" to the message.
	hint bool
}

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...), hint: true}
}

// parseID reads the numeric id of a kind of object ("token", "key",
// "mail") from the command line; ids start at 1.
func parseID(kind, arg string) (int64, error) {
	id, err := strconv.ParseInt(arg, 10, 64)
	if err != nil || id < 1 {
		return 0, usagef("%s id %q is not a number", kind, arg)
	}
	return id, nil
}

// app carries what every command needs.
type app struct {
	cfg    server.Config
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// run executes one command line and returns the exit status: 0, 1 for a
// failure, 2 for bad syntax or configuration. Settings come from getenv,
// then from flags (which win), then from the defaults.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if err := a.cfg.FromEnv(getenv); err != nil {
		return report(stderr, nil, &usageError{msg: err.Error()})
	}
	root := newRootCmd(a)
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return report(stderr, cmd, err)
}

// report prints one line for a failure and returns the exit status.
func report(stderr io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return 0
	}
	var ue *usageError
	if errors.As(err, &ue) {
		msg := oneLine(ue.msg)
		if ue.hint && cmd != nil && cmd.HasParent() {
			msg += fmt.Sprintf(" (see %s --help)", cmd.CommandPath())
		}
		fmt.Fprintf(stderr, "gitgate: %s\n", msg)
		return 2
	}
	fmt.Fprintf(stderr, "gitgate: %s\n", oneLine(describe(err)))
	return 1
}

// describe turns domain errors into the words a person needs.
func describe(err error) string {
	switch {
	case errors.Is(err, auth.ErrUnavailable):
		return "database unavailable: " + err.Error()
	case errors.Is(err, auth.ErrNotFound):
		return err.Error()
	case errors.Is(err, access.ErrNotFound):
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

// services opens the database and builds the services a command needs.
type services struct {
	db    *store.DB
	auth  *auth.Service
	repos *repos.Service
	// secrets is what opening the database changed (migrate tells).
	secrets secrets.Report
	// users caches users by id while one command prints.
	users map[int64]*auth.User
}

// userByID loads a user once per command.
func (s *services) userByID(ctx context.Context, id int64) (*auth.User, error) {
	if u, ok := s.users[id]; ok {
		return u, nil
	}
	u, err := s.auth.User(ctx, id)
	if err != nil {
		return nil, err
	}
	s.users[id] = u
	return u, nil
}

func (a *app) open(ctx context.Context) (*services, error) {
	cfg := a.cfg.Defaults()
	// The same checks as a starting server: a CLI with the wrong secret
	// key (or a fresh key file on another host) refuses before writing.
	db, keys, rep, err := server.OpenDatabase(ctx, cfg, nil)
	if err != nil {
		return nil, err
	}
	if rep.KeyFileCreated != "" {
		fmt.Fprintf(a.stderr, "gitgate: generated the secret key %s; back it up, and give every gitgate process of this database the same key\n", rep.KeyFileCreated)
	}
	return &services{db: db, auth: auth.New(db, auth.WithSecrets(keys)), repos: repos.New(db, cfg.RepoRoot(), nil), secrets: rep,
		users: map[int64]*auth.User{}}, nil
}

// openWithUser opens the database and finds the user a command is about.
func (a *app) openWithUser(ctx context.Context, username string) (*services, *auth.User, error) {
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
