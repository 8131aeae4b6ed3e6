package sshserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
)

// Messages people see, worded after GitLab Shell.
const (
	msgUnavailable = "gitgate is temporarily unavailable, please try again later"
	msgInternal    = "Internal error"
	msgCredential  = "Your credential is no longer valid (token revoked or expired, key removed, or account blocked)"
	msgPATKeyOnly  = "personal_access_token is available only to logins with an SSH key"
	msgPATUsage    = "Usage: personal_access_token <name> <scope1[,scope2,...]> [ttl_days]"
)

// Result values of the sessions-total and git-operations metrics.
const (
	resultOK         = "ok"
	resultDenied     = "denied"
	resultError      = "error"
	resultClientGone = "client_gone"
)

// handleSession runs one exec or shell request (gliderlabs Handler).
func (s *Server) handleSession(sess ssh.Session) {
	ctx := sess.Context()
	start := time.Now()
	log := s.log.With("remote", sess.RemoteAddr().String(), "session", shortID(ctx.SessionID()))
	result, exit := resultError, 1
	defer func() {
		if r := recover(); r != nil {
			log.Error("ssh session panic recovered", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			fmt.Fprintf(sess.Stderr(), "ERROR: %s\n", msgInternal)
			result, exit = resultError, 1
		}
		s.deps.Metrics.SSHSessionsTotal.WithLabelValues(result).Inc()
		_ = sess.Exit(exit)
	}()

	p, err := s.sessionPrincipal(ctx)
	if err != nil {
		if errors.Is(err, auth.ErrInvalidCredential) {
			log.Info("ssh session refused: credential no longer valid", "reason", auth.RejectionReason(err))
			result, exit = resultDenied, s.refuse(sess, msgCredential)
			return
		}
		log.Error("ssh session: identity", "err", err)
		result, exit = resultError, s.refuse(sess, msgUnavailable)
		return
	}
	log = log.With("user", p.Username(), "auth", string(p.Method))
	cmd, err := ParseCommand(sess.RawCommand())
	if err != nil {
		log.Info("ssh command refused", "command", truncate(sess.RawCommand(), 200), "reason", userMessage(err))
		result, exit = resultDenied, s.refuse(sess, userMessage(err))
		return
	}
	switch cmd.Verb {
	case VerbWelcome:
		fmt.Fprintf(sess, "Welcome to gitgate, @%s!\n", p.Username())
		result, exit = resultOK, 0
	case VerbPersonalAccessToken:
		result, exit = s.personalAccessToken(ctx, sess, p, cmd.Args, log)
	default:
		result, exit = s.runGit(ctx, sess, p, cmd, log)
	}
	log.Info("ssh session finished", "command", cmd.Verb, "path", cmd.Path, "exit", exit, "result", result,
		"duration", time.Since(start).Round(time.Millisecond).String())
}

// refuse prints one "ERROR: …" line on stderr and gives the exit status.
func (s *Server) refuse(sess ssh.Session, msg string) int {
	fmt.Fprintf(sess.Stderr(), "ERROR: %s\n", msg)
	return 1
}

// runGit authorises and runs a Git service with the channel as its
// standard streams.
func (s *Server) runGit(ctx ssh.Context, sess ssh.Session, p *auth.Principal, cmd Command, log *slog.Logger) (string, int) {
	m := s.deps.Metrics
	done := func(result string) { m.GitOperations.WithLabelValues("ssh", cmd.Verb, result).Inc() }
	proj, err := s.deps.Repos.Find(ctx, cmd.Path)
	if err == nil {
		action := access.Read
		if cmd.Verb == gitproc.ReceivePack {
			action = access.Write
		}
		err = s.deps.Repos.Authorize(ctx, p, proj, action)
	}
	if err != nil {
		result, msg := denial(err)
		if result == resultError {
			log.Error("ssh git: authorization", "path", cmd.Path, "err", err)
		}
		done(result)
		return result, s.refuse(sess, msg)
	}
	run := gitproc.Command{
		Service: cmd.Verb,
		RepoDir: s.deps.Repos.DiskPath(proj.ID),
		// GIT_PROTOCOL is the one variable taken from the client's env
		// requests (protocol v2); the runner validates it again.
		Protocol: clientProtocol(sess.Environ()),
		Stderr:   sess.Stderr(),
	}
	if cmd.Verb == gitproc.UploadPack {
		st, err := s.deps.Auth.Settings(ctx)
		if err != nil {
			log.Error("ssh git: settings", "err", err)
			done(resultError)
			return resultError, s.refuse(sess, msgUnavailable)
		}
		if st.GitFetchReachableOnly {
			repos.RestrictFetch(&run)
		}
	}
	if cmd.Verb == gitproc.ReceivePack {
		run.Config, run.Env, err = s.deps.Hooks.ReceiveHook(ctx, s.deps.Repos, p, proj)
		if err != nil {
			log.Error("ssh git: receive hook", "path", cmd.Path, "err", err)
			done(resultError)
			return resultError, s.refuse(sess, msgInternal)
		}
	}
	// git reads a pipe we feed rather than the channel itself: os/exec
	// waits for its own stdin copier, which would hang on a client that
	// keeps its side open after git has exited.
	stdin, feed, err := os.Pipe()
	if err != nil {
		log.Error("ssh git: stdin pipe", "err", err)
		done(resultError)
		return resultError, s.refuse(sess, msgInternal)
	}
	var in, out atomic.Int64
	go func() {
		_, _ = io.Copy(feed, countingReader{r: sess, n: &in})
		feed.Close()
	}()
	run.Stdin = stdin
	run.Stdout = countingWriter{w: sess, n: &out}
	start := time.Now()
	err = s.deps.Runner.Run(ctx, run)
	stdin.Close()
	m.GitDuration.WithLabelValues("ssh", cmd.Verb).Observe(time.Since(start).Seconds())
	m.GitBytes.WithLabelValues("ssh", "out").Add(float64(out.Load()))
	m.GitBytes.WithLabelValues("ssh", "in").Add(float64(in.Load()))
	var ee *gitproc.ExitError
	switch {
	case err == nil:
		if cmd.Verb == gitproc.ReceivePack && s.deps.AfterPush != nil {
			s.deps.AfterPush(run.RepoDir)
		}
		done(resultOK)
		return resultOK, 0
	case ctx.Err() != nil:
		done(resultClientGone)
		return resultClientGone, 255
	case errors.As(err, &ee):
		// git has told the client why on stderr already.
		done(resultError)
		return resultError, ee.Code
	}
	log.Error("ssh git: run", "service", cmd.Verb, "path", cmd.Path, "err", err)
	done(resultError)
	return resultError, s.refuse(sess, msgInternal)
}

// denial maps a repos.Authorize or Find error to a metrics result and the
// line the person sees. Without access a repository does not exist for
// the caller (404 on HTTP).
func denial(err error) (result, msg string) {
	var fe *access.ForbiddenError
	switch {
	case errors.Is(err, access.ErrNotFound), errors.Is(err, access.ErrUnauthenticated):
		return resultDenied, access.MsgNotFound
	case errors.As(err, &fe):
		return resultDenied, fe.Msg
	case errors.Is(err, auth.ErrUnavailable):
		return resultError, msgUnavailable
	}
	return resultError, msgInternal
}

// clientProtocol picks GIT_PROTOCOL from the client's environment
// requests; every other variable is ignored.
func clientProtocol(env []string) string {
	proto := ""
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GIT_PROTOCOL="); ok && gitproc.ValidProtocol(v) {
			proto = v
		}
	}
	return proto
}

// personalAccessToken creates a token for the key's owner and prints it as
// GitLab Shell does. Limits (scopes, sudo, lifetime) are auth.CreateToken's.
func (s *Server) personalAccessToken(ctx context.Context, sess ssh.Session, p *auth.Principal, args []string, log *slog.Logger) (string, int) {
	if p.Method != auth.MethodSSHKey {
		return resultDenied, s.refuse(sess, msgPATKeyOnly)
	}
	if len(args) < 2 || len(args) > 3 {
		return resultDenied, s.refuse(sess, msgPATUsage)
	}
	in := auth.NewToken{UserID: p.User.ID, Name: args[0], Scopes: []string{args[1]}}
	if len(args) == 3 {
		days, err := strconv.Atoi(args[2])
		if err != nil || days < 0 || days > 100*366 {
			return resultDenied, s.refuse(sess, fmt.Sprintf("Invalid value for days_ttl: '%s'", args[2]))
		}
		d := auth.AddDays(auth.Today(s.deps.Auth.Now()), days)
		in.ExpiresAt = &d
	}
	created, err := s.deps.Auth.CreateToken(ctx, in)
	var ie *auth.InputError
	var ce *auth.ConflictError
	switch {
	case errors.As(err, &ie):
		return resultDenied, s.refuse(sess, ie.Msg)
	case errors.As(err, &ce):
		return resultDenied, s.refuse(sess, ce.Msg)
	case errors.Is(err, auth.ErrUnavailable):
		log.Error("ssh personal_access_token", "err", err)
		return resultError, s.refuse(sess, msgUnavailable)
	case err != nil:
		log.Error("ssh personal_access_token", "err", err)
		return resultError, s.refuse(sess, msgInternal)
	}
	expires := "never"
	if created.Token.ExpiresAt != nil {
		expires = created.Token.ExpiresAt.UTC().Format(auth.DateLayout)
	}
	log.Info("ssh personal_access_token created", "token_id", created.Token.ID, "token_name", created.Token.Name)
	fmt.Fprintf(sess, "Token:   %s\nScopes:  %s\nExpires: %s\n", created.Secret, strings.Join(created.Token.Scopes, ","), expires)
	return resultOK, 0
}

// countingReader counts bytes for the metrics as they pass.
type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countingWriter counts bytes for the metrics.
type countingWriter struct {
	w io.Writer
	n *atomic.Int64
}

func (c countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n.Add(int64(n))
	return n, err
}

func shortID(id string) string { return truncate(id, 12) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
