// Package gitop is the one path of a Git operation, shared by the HTTP
// and SSH doors: find the project, authorize the service
// (repos.Authorize), prepare the run (the reachable-only fetch setting,
// the receive hook of a push), start git through gitproc.Runner, tell
// housekeeping about a push, then count the operation and log it once.
// A door keeps only its protocol: HTTP its headers, pkt-line
// advertisement and request bodies, SSH its channels, exit status and
// environment. Each renders a Refusal its own way.
//
// A push is authorized in Engine.Authorize and git is started in
// Engine.Run, for both doors.
package gitop

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/hooks"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/refsnap"
	"github.com/gitgate/gitgate/repos"
)

// Result is how an operation ended, the result label of
// gitgate_git_operations_total.
type Result string

// Results.
const (
	// OK: git ran and succeeded.
	OK Result = "ok"
	// Denied: refused (authentication, permission, a limit).
	Denied Result = "denied"
	// Error: gitgate or git failed.
	Error Result = "error"
	// ClientGone: the client went away before the end.
	ClientGone Result = "client_gone"
)

// Transports, the transport label of the Git metrics.
const (
	HTTP = "http"
	SSH  = "ssh"
)

// Engine runs Git operations for the doors. Set the fields, then share
// one; it is safe for concurrent use.
type Engine struct {
	Auth    *auth.Service // instance settings (git_fetch_reachable_only)
	Repos   *repos.Service
	Hooks   *hooks.Hooks
	Runner  *gitproc.Runner
	Metrics *metrics.Metrics // nil: not counted
	Log     *slog.Logger     // nil: slog.Default()
	// AfterPush, when set, is told the repository directory after every
	// successful receive-pack (housekeeping). It must not block.
	AfterPush func(repoDir string)
	// Limiter bounds the operations running at once (Admit); nil: no
	// bound.
	Limiter *Limiter
	// Refs, when set, answers ref advertisements from snapshots; every
	// receive-pack, whatever its result, invalidates the repository's.
	Refs *refsnap.Cache
}

// Op is one Git operation: which service on which repository, for whom,
// and the bytes it moved. A door makes one per operation.
type Op struct {
	Transport string
	Service   gitproc.Service
	// Path is the repository as the client named it ("group/project").
	Path      string
	Principal *auth.Principal // nil: anonymous
	// Client is the caller's address: the operation limiter's fairness
	// counts an anonymous caller by it.
	Client netip.Addr
	// Start is when the door began serving the operation.
	Start time.Time

	// Decision and Dir are set by a successful Authorize.
	Decision repos.Decision
	Dir      string

	// In and Out count the bytes from and to the client as they cross
	// the door (see CountingReader, CountingWriter).
	In, Out atomic.Int64
}

// Reason says why an operation was refused, for the door to word.
type Reason int

// Reasons.
const (
	// NeedsAuth: an anonymous caller must sign in (HTTP: 401 with a
	// challenge).
	NeedsAuth Reason = iota + 1
	// NotFound: the project does not exist for the caller.
	NotFound
	// Forbidden: visible, but not allowed; Msg says why.
	Forbidden
	// Unavailable: a dependency (the database) cannot answer now.
	Unavailable
	// Internal: anything else that failed.
	Internal
	// Busy: the operation limiter has no slot for it now (HTTP: 503 with
	// Retry-After); Msg says why.
	Busy
	// Gone: the client went away while the operation waited; there is no
	// one to answer.
	Gone
)

// Refusal is an operation that does not run: the metrics result, the
// reason and the line a person sees (Msg), and for a failure what was
// being done and the error, for the log.
type Refusal struct {
	Result Result
	Reason Reason
	Msg    string
	Doing  string
	Err    error
	// RetryAfter is when a Busy client may try again.
	RetryAfter time.Duration
}

// Refuse maps an error of finding or authorizing a project (or of
// preparing its run, doing) to a Refusal. Without access a project does
// not exist for the caller; an anonymous caller is asked to sign in
// whether the project is private or missing
// (docs/permissions.md#decision).
func Refuse(err error, anonymous bool, doing string) *Refusal {
	var fe *access.ForbiddenError
	switch {
	case errors.Is(err, access.ErrUnauthenticated), errors.Is(err, access.ErrNotFound) && anonymous:
		return &Refusal{Result: Denied, Reason: NeedsAuth, Msg: access.ErrUnauthenticated.Error()}
	case errors.Is(err, access.ErrNotFound):
		return &Refusal{Result: Denied, Reason: NotFound, Msg: access.MsgNotFound}
	case errors.As(err, &fe):
		return &Refusal{Result: Denied, Reason: Forbidden, Msg: fe.Msg}
	case errors.Is(err, repos.ErrUnavailable):
		return &Refusal{Result: Error, Reason: Unavailable, Doing: doing, Err: err}
	}
	return &Refusal{Result: Error, Reason: Internal, Doing: doing, Err: err}
}

// Authorize finds the project op names and decides whether op's caller
// may use op's service on it: the one place a fetch or a push is
// authorized. On success it fills op.Decision and op.Dir and returns nil.
func (e *Engine) Authorize(ctx context.Context, op *Op) *Refusal {
	proj, err := e.Repos.Find(ctx, op.Path)
	if err == nil {
		op.Decision, err = e.Repos.Authorize(ctx, op.Principal, proj, op.Service.Action())
	}
	if err != nil {
		return Refuse(err, op.Principal.IsAnonymous(), "authorize")
	}
	op.Dir = e.Repos.DiskPath(proj.ID)
	// Storage that cannot be read is a 503 like a database that cannot
	// be reached, not a git failing halfway (docs/replicas.md).
	if err := e.Repos.CheckDisk(op.Dir); err != nil {
		return Refuse(err, op.Principal.IsAnonymous(), "open repository")
	}
	return nil
}

// Prepare fills the service, the repository and what the decision adds
// to an authorized operation's command: the instance setting
// git_fetch_reachable_only for a fetch (repos.RestrictFetch), the receive
// hook for a push, built from op.Decision (no second access query).
func (e *Engine) Prepare(ctx context.Context, op *Op, cmd *gitproc.Command) *Refusal {
	cmd.Service, cmd.RepoDir = op.Service, op.Dir
	switch op.Service {
	case gitproc.UploadPack:
		st, err := e.Auth.Settings(ctx)
		if err != nil {
			return &Refusal{Result: Error, Reason: Unavailable, Doing: "read settings", Err: err}
		}
		if st.GitFetchReachableOnly {
			repos.RestrictFetch(cmd)
		}
	case gitproc.ReceivePack:
		if cmd.AdvertiseRefs {
			return nil
		}
		// Read per push, uncached: a rule changed through the API or the
		// CLI holds from the next push on every replica.
		rules, err := e.Repos.ProtectedBranches(ctx, op.Decision.Project.ID)
		var st auth.Settings
		if err == nil {
			st, err = e.Auth.Settings(ctx)
		}
		if err == nil {
			cmd.Config, cmd.Env, err = e.Hooks.ReceivePack(op.Decision, rules, st.DefaultBranchProtection)
		}
		if err != nil {
			return &Refusal{Result: Error, Reason: Internal, Doing: "prepare receive hook", Err: err}
		}
	}
	return nil
}

// Run starts git for a prepared command and waits for it: the one place
// a door's git starts. A successful push is recorded as the project's
// last activity and handed to housekeeping. The
// duration of a service run (not of an advertisement) is observed.
func (e *Engine) Run(ctx context.Context, op *Op, cmd gitproc.Command) error {
	start := time.Now()
	err := e.Runner.Run(ctx, cmd)
	if cmd.AdvertiseRefs {
		return err
	}
	if op.Service == gitproc.ReceivePack {
		// Even a failed push may have moved some refs.
		e.Refs.Invalidate(ctx, cmd.RepoDir)
	}
	if e.Metrics != nil {
		e.Metrics.GitDuration.WithLabelValues(op.Transport, string(op.Service)).Observe(time.Since(start).Seconds())
	}
	if err == nil && op.Service == gitproc.ReceivePack {
		e.recordPush(ctx, op)
		if e.AfterPush != nil {
			e.AfterPush(cmd.RepoDir)
		}
	}
	return err
}

// recordPush notes the push as the project's last activity (the
// projects page shows it). The push has succeeded whatever happens here,
// so a failure is logged, never returned.
func (e *Engine) recordPush(ctx context.Context, op *Op) {
	if e.Repos == nil || op.Decision.Project == nil {
		return
	}
	if err := e.Repos.RecordPush(context.WithoutCancel(ctx), op.Decision.Project.ID); err != nil {
		e.log().Warn("record push activity", "project", op.Decision.Project.FullPath(), "err", err)
	}
}

// Finish counts the bytes op moved and, unless result is "" (a request
// that is not a whole Git operation, such as a successful HTTP
// advertisement), counts the operation and writes the one "git operation
// finished" log line, with the door's own attributes.
func (e *Engine) Finish(ctx context.Context, op *Op, result Result, attrs ...slog.Attr) {
	in, out := op.In.Load(), op.Out.Load()
	if e.Metrics != nil {
		e.Metrics.GitBytes.WithLabelValues(op.Transport, "in").Add(float64(in))
		e.Metrics.GitBytes.WithLabelValues(op.Transport, "out").Add(float64(out))
		if result != "" {
			e.Metrics.GitOperations.WithLabelValues(op.Transport, string(op.Service), string(result)).Inc()
		}
	}
	if result == "" {
		return
	}
	all := make([]slog.Attr, 0, 8+len(attrs))
	all = append(all, slog.String("transport", op.Transport))
	all = append(all, attrs...)
	all = append(all, slog.String("service", string(op.Service)), slog.String("user", op.Principal.Username()),
		slog.String("result", string(result)), slog.Int64("bytes_in", in), slog.Int64("bytes_out", out),
		slog.Duration("duration", time.Since(op.Start)))
	e.log().LogAttrs(ctx, slog.LevelInfo, "git operation finished", all...)
}

func (e *Engine) log() *slog.Logger {
	if e.Log != nil {
		return e.Log
	}
	return slog.Default()
}

// CountingReader counts the bytes read through it into n.
type CountingReader struct {
	R io.Reader
	N *atomic.Int64
}

func (c CountingReader) Read(p []byte) (int, error) {
	n, err := c.R.Read(p)
	c.N.Add(int64(n))
	return n, err
}

// CountingWriter counts the bytes written through it into n.
type CountingWriter struct {
	W io.Writer
	N *atomic.Int64
}

func (c CountingWriter) Write(p []byte) (int, error) {
	n, err := c.W.Write(p)
	c.N.Add(int64(n))
	return n, err
}
