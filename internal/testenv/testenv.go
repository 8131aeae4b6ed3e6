// Package testenv starts a whole gitgate server in-process on free ports
// for end-to-end tests, and gives them users, tokens, repositories and a
// real git client to drive it.
package testenv

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// Env is a running server and helpers around it.
type Env struct {
	T       testing.TB
	Server  *server.Server
	Dialect store.Dialect
	// URL is the HTTP base URL, e.g. http://127.0.0.1:41234.
	URL string
	// Home is the HOME of git commands run through Git.
	Home string
}

// Options tune Start.
type Options struct {
	Dialect store.Dialect // default SQLite
	// Configure may change the server configuration before start.
	Configure func(*server.Config)
	// Log receives the server's log (default: discarded, or stderr with
	// GITGATE_TEST_LOG set).
	Log *slog.Logger
}

// Start runs a server for the test and stops it at cleanup.
func Start(t testing.TB, o Options) *Env {
	t.Helper()
	if o.Dialect == "" {
		o.Dialect = store.SQLite
	}
	dataDir := t.TempDir()
	cfg := server.Config{
		DataDir:             dataDir,
		DatabaseURL:         testdb.URL(t, o.Dialect),
		HTTPAddr:            "127.0.0.1:0",
		SSHAddr:             "127.0.0.1:0",
		InitialRootPassword: "root-password-for-tests",
		ShutdownTimeout:     5 * time.Second,
	}
	if o.Configure != nil {
		o.Configure(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	log := logging.Discard()
	if os.Getenv("GITGATE_TEST_LOG") != "" {
		log, _ = logging.New(os.Stderr, "text", "debug")
	}
	if o.Log != nil {
		log = o.Log
	}
	srv, err := server.New(ctx, cfg, log)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	})
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[protocol]\n\tversion = 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &Env{T: t, Server: srv, Dialect: o.Dialect, URL: "http://" + srv.HTTPAddr(), Home: home}
}

// UserOpts are the optional fields of a test user.
type UserOpts struct {
	Password string
	Admin    bool
	Bot      bool
	TwoFA    bool
}

// User creates a user.
func (e *Env) User(username string, o UserOpts) *auth.User {
	e.T.Helper()
	u, err := e.Server.Auth.CreateUser(context.Background(), auth.NewUser{Username: username, Email: username + "@example.com",
		Password: o.Password, Admin: o.Admin, Bot: o.Bot})
	if err != nil {
		e.T.Fatalf("create user %s: %v", username, err)
	}
	if o.TwoFA {
		if _, err := e.Server.Auth.EnableTOTP(context.Background(), u.ID, ""); err != nil {
			e.T.Fatalf("enable 2FA for %s: %v", username, err)
		}
	}
	return u
}

// Token creates a token for a user with scopes and returns its secret.
func (e *Env) Token(u *auth.User, scopes ...string) string {
	e.T.Helper()
	c, err := e.Server.Auth.CreateToken(context.Background(), auth.NewToken{UserID: u.ID, Name: "test", Scopes: scopes})
	if err != nil {
		e.T.Fatalf("create token: %v", err)
	}
	return c.Secret
}

// Project creates a repository "ns/name" with a visibility.
func (e *Env) Project(fullPath, visibility string) *repos.Project {
	e.T.Helper()
	ns, name, err := repos.SplitPath(fullPath)
	if err != nil {
		e.T.Fatal(err)
	}
	p, err := e.Server.Repos.CreateProject(context.Background(), repos.NewProject{NamespacePath: ns, Path: name, Visibility: visibility})
	if err != nil {
		e.T.Fatalf("create project %s: %v", fullPath, err)
	}
	return p
}

// Member gives a user an access level on a project or group path.
func (e *Env) Member(path string, u *auth.User, level access.AccessLevel) {
	e.T.Helper()
	target, err := e.Server.Repos.ResolveTarget(context.Background(), path)
	if err != nil {
		e.T.Fatal(err)
	}
	if err := e.Server.Repos.AddMember(context.Background(), target, u.ID, level); err != nil {
		e.T.Fatal(err)
	}
}

// RepoURL is the HTTP clone URL of a path with optional credentials.
func (e *Env) RepoURL(user, password, path string) string {
	u, _ := url.Parse(e.URL + "/" + strings.TrimPrefix(path, "/") + ".git")
	if password != "" {
		u.User = url.UserPassword(user, password)
	}
	return u.String()
}

// Result is a finished git command.
type Result struct {
	Stdout, Stderr string
	Err            error
}

// Git runs the real git binary in dir with a clean HOME and no prompts.
func (e *Env) Git(dir string, args ...string) Result {
	e.T.Helper()
	return e.GitEnv(dir, nil, args...)
}

// GitEnv is Git with extra environment variables.
func (e *Env) GitEnv(dir string, env []string, args ...string) Result {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// The client's git, started like every other: the test's arguments
	// are its own, and its HOME (with its .gitconfig) replaces Env's.
	g := gitproc.Git().WithDir(dir).WithEnv("HOME="+e.Home, "GIT_TERMINAL_PROMPT=0",
		"GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false").WithEnv(env...)
	for _, a := range args {
		g.AddArgs(gitproc.Arg(a))
	}
	var out, errb bytes.Buffer
	err := g.WithStdout(&out).WithStderr(&errb).Run(ctx)
	return Result{Stdout: out.String(), Stderr: errb.String(), Err: err}
}

// MustGit runs git and fails the test when it fails.
func (e *Env) MustGit(dir string, args ...string) string {
	e.T.Helper()
	r := e.Git(dir, args...)
	if r.Err != nil {
		e.T.Fatalf("git %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.Err, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// WorkTree makes a fresh repository with one commit on main.
func (e *Env) WorkTree() string {
	e.T.Helper()
	dir := e.T.TempDir()
	e.MustGit(dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte("# test\n"), 0o644); err != nil {
		e.T.Fatal(err)
	}
	e.MustGit(dir, "add", ".")
	e.MustGit(dir, "commit", "-q", "-m", "first")
	return dir
}

// String describes the env in failures.
func (e *Env) String() string { return fmt.Sprintf("gitgate at %s on %s", e.URL, e.Dialect) }
