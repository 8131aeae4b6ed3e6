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
	"time"

	"github.com/gliderlabs/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/gitproc"
)

// Messages people see, worded after GitLab Shell.
const (
	msgUnavailable = "gitgate is temporarily unavailable, please try again later"
	msgInternal    = "Internal error"
	msgCredential  = "Your credential is no longer valid (token revoked or expired, key removed, or account blocked)"
	msgPATKeyOnly  = "personal_access_token is available only to logins with an SSH key"
	msgPATUsage    = "Usage: personal_access_token <name> <scope1[,scope2,...]> [ttl_days]"
)

// handleSession runs one exec or shell request (gliderlabs Handler).
func (s *Server) handleSession(sess ssh.Session) {
	ctx := sess.Context()
	start := time.Now()
	log := s.log.With("remote", sess.RemoteAddr().String(), "session", shortID(ctx.SessionID()))
	result, exit := gitop.Error, 1
	defer func() {
		if r := recover(); r != nil {
			log.Error("ssh session panic recovered", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			fmt.Fprintf(sess.Stderr(), "ERROR: %s\n", msgInternal)
			result, exit = gitop.Error, 1
		}
		// The sessions-total metric takes the Git operations' result values.
		s.deps.Metrics.SSHSessionsTotal.WithLabelValues(string(result)).Inc()
		_ = sess.Exit(exit)
	}()

	p, err := s.sessionPrincipal(ctx)
	if err != nil {
		if errors.Is(err, auth.ErrInvalidCredential) {
			log.Info("ssh session refused: credential no longer valid", "reason", auth.RejectionReason(err))
			result, exit = gitop.Denied, s.refuse(sess, msgCredential)
			return
		}
		log.Error("ssh session: identity", "err", err)
		result, exit = gitop.Error, s.refuse(sess, msgUnavailable)
		return
	}
	log = log.With("user", p.Username(), "auth", string(p.Method))
	cmd, err := ParseCommand(sess.RawCommand())
	if err != nil {
		log.Info("ssh command refused", "command", truncate(sess.RawCommand(), 200), "reason", userMessage(err))
		result, exit = gitop.Denied, s.refuse(sess, userMessage(err))
		return
	}
	switch cmd.Verb {
	case VerbWelcome:
		fmt.Fprintf(sess, "Welcome to gitgate, @%s!\n", p.Username())
		result, exit = gitop.OK, 0
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
// standard streams, through the operation path shared with HTTP (gitop).
func (s *Server) runGit(ctx ssh.Context, sess ssh.Session, p *auth.Principal, cmd Command, log *slog.Logger) (gitop.Result, int) {
	op := &gitop.Op{Transport: gitop.SSH, Service: gitproc.Service(cmd.Verb), Path: cmd.Path, Principal: p, Start: time.Now()}
	result, exit := s.serveGit(ctx, sess, op, log)
	s.deps.Git.Finish(ctx, op, result, slog.String("path", cmd.Path), slog.Int("exit", exit))
	return result, exit
}

func (s *Server) serveGit(ctx ssh.Context, sess ssh.Session, op *gitop.Op, log *slog.Logger) (gitop.Result, int) {
	git := s.deps.Git
	if ref := git.Authorize(ctx, op); ref != nil {
		return s.refuseGit(sess, op, ref, log)
	}
	run := gitproc.Command{
		// GIT_PROTOCOL is the one variable taken from the client's env
		// requests (protocol v2); the runner validates it again.
		Protocol: clientProtocol(sess.Environ()),
		Stderr:   sess.Stderr(),
	}
	if ref := git.Prepare(ctx, op, &run); ref != nil {
		return s.refuseGit(sess, op, ref, log)
	}
	// git reads a pipe we feed rather than the channel itself: os/exec
	// waits for its own stdin copier, which would hang on a client that
	// keeps its side open after git has exited.
	stdin, feed, err := os.Pipe()
	if err != nil {
		log.Error("ssh git: stdin pipe", "err", err)
		return gitop.Error, s.refuse(sess, msgInternal)
	}
	go func() {
		_, _ = io.Copy(feed, gitop.CountingReader{R: sess, N: &op.In})
		feed.Close()
	}()
	out, err := startOutput(gitop.CountingWriter{W: sess, N: &op.Out})
	if err != nil {
		stdin.Close()
		log.Error("ssh git: stdout pipe", "err", err)
		return gitop.Error, s.refuse(sess, msgInternal)
	}
	run.Stdin = stdin
	run.Stdout = out.File
	err = git.Run(ctx, op, run)
	stdin.Close()
	// A copy fails only when the channel does: the client is gone, or
	// has closed its side before the end of git's output.
	copyErr := out.finish()
	var ee *gitproc.ExitError
	switch {
	case err == nil && copyErr == nil:
		return gitop.OK, 0
	case ctx.Err() != nil, copyErr != nil:
		return gitop.ClientGone, 255
	case errors.As(err, &ee):
		// git has told the client why on stderr already.
		return gitop.Error, ee.Code
	}
	log.Error("ssh git: run", "service", string(op.Service), "path", op.Path, "err", err)
	return gitop.Error, s.refuse(sess, msgInternal)
}

// refuseGit words a refusal of gitop as GitLab Shell does. Without access
// a repository does not exist for the caller (404 on HTTP).
func (s *Server) refuseGit(sess ssh.Session, op *gitop.Op, ref *gitop.Refusal, log *slog.Logger) (gitop.Result, int) {
	msg := ref.Msg
	switch ref.Reason {
	case gitop.NeedsAuth:
		msg = access.MsgNotFound
	case gitop.Unavailable:
		msg = msgUnavailable
	case gitop.Internal:
		msg = msgInternal
	}
	if ref.Result == gitop.Error {
		log.Error("ssh git: "+ref.Doing, "path", op.Path, "err", ref.Err)
	}
	return ref.Result, s.refuse(sess, msg)
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
func (s *Server) personalAccessToken(ctx context.Context, sess ssh.Session, p *auth.Principal, args []string, log *slog.Logger) (gitop.Result, int) {
	if p.Method != auth.MethodSSHKey {
		return gitop.Denied, s.refuse(sess, msgPATKeyOnly)
	}
	if len(args) < 2 || len(args) > 3 {
		return gitop.Denied, s.refuse(sess, msgPATUsage)
	}
	in := auth.NewToken{UserID: p.User.ID, Name: args[0], Scopes: []string{args[1]}}
	if len(args) == 3 {
		days, err := strconv.Atoi(args[2])
		if err != nil || days < 0 || days > 100*366 {
			return gitop.Denied, s.refuse(sess, fmt.Sprintf("Invalid value for days_ttl: '%s'", args[2]))
		}
		d := auth.AddDays(auth.Today(s.deps.Auth.Now()), days)
		in.ExpiresAt = &d
	}
	created, err := s.deps.Auth.CreateToken(ctx, in)
	var ie *auth.InputError
	var ce *auth.ConflictError
	switch {
	case errors.As(err, &ie):
		return gitop.Denied, s.refuse(sess, ie.Msg)
	case errors.As(err, &ce):
		return gitop.Denied, s.refuse(sess, ce.Msg)
	case errors.Is(err, auth.ErrUnavailable):
		log.Error("ssh personal_access_token", "err", err)
		return gitop.Error, s.refuse(sess, msgUnavailable)
	case err != nil:
		log.Error("ssh personal_access_token", "err", err)
		return gitop.Error, s.refuse(sess, msgInternal)
	}
	expires := "never"
	if created.Token.ExpiresAt != nil {
		expires = created.Token.ExpiresAt.UTC().Format(auth.DateLayout)
	}
	log.Info("ssh personal_access_token created", "token_id", created.Token.ID, "token_name", created.Token.Name)
	fmt.Fprintf(sess, "Token:   %s\nScopes:  %s\nExpires: %s\n", created.Secret, strings.Join(created.Token.Scopes, ","), expires)
	return gitop.OK, 0
}

func shortID(id string) string { return truncate(id, 12) }

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
