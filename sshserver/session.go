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
	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/refsnap"
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
	op := &gitop.Op{Transport: gitop.SSH, Service: gitproc.Service(cmd.Verb), Path: cmd.Path, Principal: p,
		Client: remoteAddr(sess.RemoteAddr()), Start: time.Now()}
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
	release, ref := git.Admit(ctx, op)
	if ref != nil {
		return s.refuseGit(sess, op, ref, log)
	}
	defer release()
	// A stalled client or an upload-pack input over the limit ends the
	// run through runCtx, which kills git; cut says which.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cut atomic.Int32
	cutFor := func(why int32) {
		cut.CompareAndSwap(0, why)
		cancel()
	}
	prog := newProgress(s.cfg.IdleTimeout)
	var in io.Reader = progressReader{r: gitop.CountingReader{R: sess, N: &op.In}, p: prog}
	if max := s.cfg.UploadPackMaxInput; op.Service == gitproc.UploadPack && max > 0 {
		in = &cappedReader{r: in, left: max, over: func() { cutFor(cutTooLarge) }}
	}
	out := progressWriter{w: gitop.CountingWriter{W: sess, N: &op.Out}, p: prog}
	go prog.watch(runCtx, func() {
		cutFor(cutStalled)
		// A write blocked on the channel's window, or a read of a
		// client that sends nothing, ends only with the connection.
		if st := stateOf(ctx); st != nil {
			st.close()
		}
	})
	var (
		result gitop.Result
		exit   int
	)
	// Protocol v2 of upload-pack is spoken here (v2.go); v0 and v1, and
	// the other services, are git's. (Prepare drops v2 when the instance
	// restricts fetches to reachable objects.)
	if op.Service == gitproc.UploadPack && git.Refs != nil && refsnap.Version(run.Protocol) == 2 {
		result, exit = s.serveV2(runCtx, sess, op, run, in, out, log)
	} else {
		result, exit = s.pipeGit(runCtx, sess, op, run, in, out, log)
	}
	cancel()
	switch cut.Load() {
	case cutStalled:
		log.Info("ssh git: the client stalled; connection closed", "service", string(op.Service), "path", op.Path,
			"idle_timeout", s.cfg.IdleTimeout.String(), "bytes_in", op.In.Load(), "bytes_out", op.Out.Load())
		return gitop.ClientGone, 255
	case cutTooLarge:
		log.Warn("ssh git: upload-pack input over the limit", "path", op.Path, "limit", s.cfg.UploadPackMaxInput)
		s.sayBounded(ctx, sess, fmt.Sprintf("ERROR: Request too large: a fetch may send at most %d bytes of wants and haves.", s.cfg.UploadPackMaxInput))
		return gitop.Denied, 1
	}
	return result, exit
}

// pipeGit runs git for the whole command, its input fed from in.
func (s *Server) pipeGit(ctx context.Context, sess ssh.Session, op *gitop.Op, run gitproc.Command, in io.Reader, out io.Writer, log *slog.Logger) (gitop.Result, int) {
	// git reads a pipe we feed rather than the channel itself: os/exec
	// waits for its own stdin copier, which would hang on a client that
	// keeps its side open after git has exited.
	stdin, feed, err := os.Pipe()
	if err != nil {
		log.Error("ssh git: stdin pipe", "err", err)
		return gitop.Error, s.refuse(sess, msgInternal)
	}
	defer stdin.Close()
	go func() {
		_, _ = io.Copy(feed, in)
		feed.Close()
	}()
	o, err := startOutput(out)
	if err != nil {
		log.Error("ssh git: stdout pipe", "err", err)
		return gitop.Error, s.refuse(sess, msgInternal)
	}
	run.Stdin, run.Stdout = stdin, o.File
	return s.outputEnded(ctx, sess, op, s.deps.Git.Run(ctx, op, run), o, log)
}

// refuseGit words a refusal of gitop as GitLab Shell does. Without access
// a repository does not exist for the caller (404 on HTTP).
func (s *Server) refuseGit(sess ssh.Session, op *gitop.Op, ref *gitop.Refusal, log *slog.Logger) (gitop.Result, int) {
	msg := ref.Msg
	switch ref.Reason {
	case gitop.Gone:
		return ref.Result, 255
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

// Why a Git command was cut.
const (
	cutStalled int32 = iota + 1
	cutTooLarge
)

// sayBounded writes one line to the client's stderr, waiting no longer
// than the idle timeout: a client that takes no data gets its connection
// closed instead of holding the session.
func (s *Server) sayBounded(ctx ssh.Context, sess ssh.Session, line string) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		fmt.Fprintln(sess.Stderr(), line)
	}()
	t := time.NewTimer(s.cfg.IdleTimeout)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
		if st := stateOf(ctx); st != nil {
			st.close()
		}
	}
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
