// Package gitproc is the one way gitgate starts git. Cmd (command.go)
// builds any git command: the system git binary, an environment of its own
// (Env), its own process group, killed with its children when the context
// ends, arguments from outside kept apart from options. Runner runs the
// Git service processes (upload-pack, receive-pack, upload-archive) for
// any door on top of it, streams wired straight through.
package gitproc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/metrics"
)

// Service is a Git service gitgate runs for a client. Its value is the
// name both protocols use for it (the smart-HTTP endpoint and service
// parameter, the SSH command, the metrics label): "git-upload-pack".
type Service string

// Services gitgate runs.
const (
	UploadPack    Service = "git-upload-pack"
	ReceivePack   Service = "git-receive-pack"
	UploadArchive Service = "git-upload-archive"
)

// ParseService reads a service name as a client sends it
// ("git-upload-pack"); ok is false for anything gitgate does not serve.
func ParseService(s string) (svc Service, ok bool) {
	switch Service(s) {
	case UploadPack, ReceivePack, UploadArchive:
		return Service(s), true
	}
	return "", false
}

// ValidService reports whether s is a service gitgate serves.
func ValidService(s string) bool { _, ok := ParseService(s); return ok }

// String is the service's protocol name ("git-upload-pack").
func (s Service) String() string { return string(s) }

// Subcommand is git's subcommand for the service ("upload-pack").
func (s Service) Subcommand() Arg { return Arg(strings.TrimPrefix(string(s), "git-")) }

// Action is what the service does to the repository: receive-pack writes
// (a push), upload-pack and upload-archive read.
func (s Service) Action() access.Action {
	if s == ReceivePack {
		return access.Write
	}
	return access.Read
}

// protocolPattern is what GIT_PROTOCOL may hold (docs/ssh.md#environment):
// key=value pairs of letters and digits, colon-separated. Anything else is
// dropped, so a client cannot inject other variables or options.
var protocolPattern = regexp.MustCompile(`^[A-Za-z0-9]+=[A-Za-z0-9]+(:[A-Za-z0-9]+=[A-Za-z0-9]+)*$`)

// ValidProtocol reports whether a Git-Protocol value may be passed on.
func ValidProtocol(p string) bool { return p != "" && len(p) <= 256 && protocolPattern.MatchString(p) }

// Command describes one service run.
type Command struct {
	Service Service // UploadPack, ReceivePack or UploadArchive
	RepoDir string  // absolute path of the bare repository
	// StatelessRPC and AdvertiseRefs are the smart-HTTP modes.
	StatelessRPC  bool
	AdvertiseRefs bool
	// Protocol is the client's GIT_PROTOCOL (validated here).
	Protocol string
	// Config are extra "-c key=value" settings for this run.
	Config []string
	// Env are extra environment variables (KEY=VALUE) for git and its hooks.
	Env    []string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// Runner runs commands and counts them in metrics.
type Runner struct {
	// GitBin is the git executable ("git" when empty).
	GitBin  string
	Metrics *metrics.Metrics
	// KillGrace is how long a cancelled process gets after SIGTERM
	// before SIGKILL.
	KillGrace time.Duration
	// PackObjectsHook and PackCacheSocket, when set, make upload-pack
	// get its packs through the shared pack cache (package packcache).
	PackObjectsHook string
	PackCacheSocket string

	running  atomic.Int64
	lastExit atomic.Int64 // unix nanoseconds
}

// Running is the number of git service processes running now; background
// work (housekeeping) waits for it to drop to zero.
func (r *Runner) Running() int64 { return r.running.Load() }

// QuietFor reports how long no git service process has been running (zero
// while one runs; since start-up when none ever ran).
func (r *Runner) QuietFor() time.Duration {
	if r.running.Load() > 0 {
		return 0
	}
	last := r.lastExit.Load()
	if last == 0 {
		return time.Duration(1<<63 - 1)
	}
	return time.Since(time.Unix(0, last))
}

// ExitError is a git process that ran and exited non-zero.
type ExitError struct{ Code int }

func (e *ExitError) Error() string { return fmt.Sprintf("git exited with status %d", e.Code) }

// Run executes the command and waits for it. When ctx ends first, the
// whole process group is killed and ctx's error is returned.
func (r *Runner) Run(ctx context.Context, c Command) error {
	g, err := r.command(c)
	if err != nil {
		return err
	}
	// Not Start(ctx): wait stops the process itself, gently first.
	if err := g.Start(context.Background()); err != nil {
		return err
	}
	r.running.Add(1)
	defer func() {
		r.lastExit.Store(time.Now().UnixNano())
		r.running.Add(-1)
	}()
	return r.wait(ctx, g)
}

// command builds the service's git command line and environment.
func (r *Runner) command(c Command) (*Cmd, error) {
	if _, ok := ParseService(string(c.Service)); !ok {
		return nil, fmt.Errorf("unknown git service %q", c.Service)
	}
	g := Git(c.Service.Subcommand()).WithBin(r.GitBin).WithConfig(c.Config...)
	// The hook is honoured only from protected configuration, which
	// includes the command line.
	shared := c.Service == UploadPack && !c.AdvertiseRefs && r.PackObjectsHook != "" && r.PackCacheSocket != ""
	if shared {
		g.WithConfig("uploadpack.packObjectsHook=" + r.PackObjectsHook)
	}
	if c.StatelessRPC {
		g.AddArgs("--stateless-rpc")
	}
	if c.AdvertiseRefs {
		g.AddArgs("--advertise-refs")
	}
	g.AddValues(c.RepoDir).WithDir(c.RepoDir)
	env := make([]string, 0, len(c.Env)+2)
	if ValidProtocol(c.Protocol) {
		env = append(env, "GIT_PROTOCOL="+c.Protocol)
	}
	env = append(env, c.Env...)
	if shared {
		env = append(env, EnvPackCacheSocket+"="+r.PackCacheSocket)
	}
	g.WithEnv(env...)
	// A client that stops sending must not keep Wait (and the request)
	// hanging once git has exited: exec copies a non-file Stdin in a
	// goroutine that may sit in a network read.
	g.WithStdin(c.Stdin).WithStdout(c.Stdout).WithStderr(c.Stderr).WithWaitDelay(5 * time.Second).WithMetrics(r.Metrics)
	return g, nil
}

// wait waits for the started service. When ctx ends first, the process
// group gets SIGTERM, then SIGKILL after KillGrace, and ctx's error is
// returned.
func (r *Runner) wait(ctx context.Context, g *Cmd) error {
	waitErr := make(chan error, 1)
	go func() { waitErr <- g.Wait() }()
	select {
	case err := <-waitErr:
		return exitErr(err)
	case <-ctx.Done():
		pgid := g.Pid()
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		grace := r.KillGrace
		if grace == 0 {
			grace = 2 * time.Second
		}
		select {
		case <-waitErr:
		case <-time.After(grace):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-waitErr
		}
		// Children that outlived the leader die too.
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		return ctx.Err()
	}
}

func exitErr(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return &ExitError{Code: ee.ExitCode()}
	}
	return err
}

// EnvPackCacheSocket names the pack cache's socket in the environment of
// upload-pack and its pack-objects hook (package packcache).
const EnvPackCacheSocket = "GITGATE_PACK_SOCKET"

// Env is the environment every git gitgate runs gets (services,
// housekeeping, the pack cache): enough to run, nothing from the server's
// own environment that could change git's behaviour.
func Env() []string { return appendEnv(make([]string, 0, envSize)) }

// envSize is the most variables Env holds.
var envSize = 5 + len(lockWaits)

// lockWaits are how long git waits for a ref's lock (milliseconds) rather
// than fail at once (git's defaults: 100 ms for a loose ref, 1 s for
// packed-refs). Housekeeping's `pack-refs --prune` takes each loose ref's
// lock for a moment, at nice 19 on a busy machine: a 10-minute soak run
// saw two pushes of 3,065 refused with "cannot lock ref ... File exists".
// They are passed as GIT_CONFIG_COUNT variables, which need no argument
// and no configuration file.
var lockWaits = []string{
	"GIT_CONFIG_COUNT=2",
	"GIT_CONFIG_KEY_0=core.filesRefLockTimeout", "GIT_CONFIG_VALUE_0=2000",
	"GIT_CONFIG_KEY_1=core.packedRefsTimeout", "GIT_CONFIG_VALUE_1=10000",
}

func appendEnv(env []string) []string {
	env = append(env, "PATH="+os.Getenv("PATH"), "HOME="+os.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "LANG=C")
	env = append(env, lockWaits...)
	if v := os.Getenv("GIT_EXEC_PATH"); v != "" {
		env = append(env, "GIT_EXEC_PATH="+v)
	}
	return env
}

// GlobalConfigFiles are the configuration files besides the repository's
// own that a git started with Env reads: the system file is off
// (GIT_CONFIG_NOSYSTEM) and HOME is the temporary directory, so only the
// "global" files under it count. Code that predicts what git will answer
// (refsnap) watches them.
func GlobalConfigFiles() []string {
	home := os.TempDir()
	return []string{filepath.Join(home, ".gitconfig"), filepath.Join(home, ".config", "git", "config")}
}
