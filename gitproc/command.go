package gitproc

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitgate/gitgate/metrics"
)

// Arg is a fixed argument of a git command: a subcommand or an option
// written in gitgate's own code. An untyped string constant becomes an Arg
// by itself, a string variable does not: a value that came from outside
// (a branch name, a ref, a path) goes through Cmd.AddValues or
// Cmd.AddValuesAfterDashes, where it cannot turn into an option.
type Arg string

// Cmd is one git command being built and run, the one way gitgate starts
// git outside the service runner (which builds on it too):
//
//	out, err := gitproc.Git("for-each-ref", "--count=1").WithGitDir(dir).Output(ctx)
//
// By default git gets Env() and nothing of the server's environment, runs
// in a process group of its own, and the whole group is killed when the
// context of Run, Output or Start ends. A Cmd is used once.
type Cmd struct {
	bin  string
	nice int
	// args are git's arguments: first nconfig "-c key=value" pairs,
	// then the subcommand and its arguments.
	args      []string
	nconfig   int
	dir       string
	env       []string
	inHook    bool
	waitDelay time.Duration
	metrics   *metrics.Metrics
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
	err       error // a refused value, reported by Start

	cmd *exec.Cmd // once started
}

// Git starts building "git args…".
func Git(args ...Arg) *Cmd {
	// Room for a few settings and arguments (flags, a path) without
	// growing: the service runner builds one per fetch.
	c := &Cmd{args: make([]string, 0, len(args)+8)}
	return c.AddArgs(args...)
}

// AddArgs appends fixed arguments (see Arg).
func (c *Cmd) AddArgs(args ...Arg) *Cmd {
	for _, a := range args {
		c.args = append(c.args, string(a))
	}
	return c
}

// AddValues appends values from outside gitgate's code, one argument
// each. git would read a value starting with "-" as an option, so such a
// value is refused: Start (and Run, Output) return an error naming it.
func (c *Cmd) AddValues(values ...string) *Cmd {
	for _, v := range values {
		if strings.HasPrefix(v, "-") && c.err == nil {
			c.err = fmt.Errorf("git %s: refusing argument %q: it would be read as an option", c.Name(), v)
		}
		c.args = append(c.args, v)
	}
	return c
}

// AddValuesAfterDashes appends "--" and then values, which git reads as
// operands (paths, revisions) whatever they look like.
func (c *Cmd) AddValuesAfterDashes(values ...string) *Cmd {
	c.args = append(c.args, "--")
	c.args = append(c.args, values...)
	return c
}

// WithConfig sets "-c key=value" before the subcommand, for this run
// only. Settings given on the command line are protected configuration:
// git honours some of them (uploadpack.packObjectsHook) only from there.
func (c *Cmd) WithConfig(kv ...string) *Cmd {
	for _, v := range kv {
		c.args = slices.Insert(c.args, 2*c.nconfig, "-c", v)
		c.nconfig++
	}
	return c
}

// WithBin runs the git executable at path ("git", found in PATH, when
// empty).
func (c *Cmd) WithBin(path string) *Cmd {
	c.bin = path
	return c
}

// WithDir runs git in dir.
func (c *Cmd) WithDir(dir string) *Cmd {
	c.dir = dir
	return c
}

// WithGitDir runs git in the repository dir, named by GIT_DIR too so
// that git does not look for one above it.
func (c *Cmd) WithGitDir(dir string) *Cmd {
	c.dir = dir
	return c.WithEnv("GIT_DIR=" + dir)
}

// WithEnv adds environment variables (KEY=VALUE) for git and its hooks.
func (c *Cmd) WithEnv(kv ...string) *Cmd {
	c.env = appendShared(c.env, kv)
	return c
}

// WithNice runs git under "nice -n n": background work at n=19 takes only
// CPU nobody else wants, and repack's own children inherit that.
func (c *Cmd) WithNice(n int) *Cmd {
	c.nice = n
	return c
}

// WithWaitDelay bounds how long Wait waits for git's output to be copied
// after git exited (or after the context ended), as exec.Cmd.WaitDelay:
// a stdin that is not a file is copied by a goroutine that may sit in a
// network read long after git is gone.
func (c *Cmd) WithWaitDelay(d time.Duration) *Cmd {
	c.waitDelay = d
	return c
}

// WithMetrics counts the process in m (started, running now).
func (c *Cmd) WithMetrics(m *metrics.Metrics) *Cmd {
	c.metrics = m
	return c
}

// WithStdin, WithStdout and WithStderr wire git's streams (nothing, by
// default: /dev/null).
func (c *Cmd) WithStdin(r io.Reader) *Cmd {
	c.stdin = r
	return c
}

// WithStdout sets git's standard output.
func (c *Cmd) WithStdout(w io.Writer) *Cmd {
	c.stdout = w
	return c
}

// WithStderr sets git's standard error.
func (c *Cmd) WithStderr(w io.Writer) *Cmd {
	c.stderr = w
	return c
}

// InHook is for a git that a hook started by git runs (proc-receive,
// pack-objects): it inherits the hook's whole environment, because git
// hands its hooks what they need there (GIT_DIR, the quarantine's object
// directories, the -c settings of the command line), and it stays in the
// hook's process group, so that killing the service's group kills it too.
func (c *Cmd) InHook() *Cmd {
	c.inHook = true
	return c
}

// String is the command line after the binary, for messages.
func (c *Cmd) String() string { return strings.Join(c.args, " ") }

// appendShared is append that, for an empty dst, keeps src itself rather
// than a copy (the service runner passes a slice it builds for the
// purpose, on every fetch); capped, so that a later append copies rather
// than writing into the caller's array.
func appendShared(dst, src []string) []string {
	if len(dst) == 0 {
		return src[:len(src):len(src)]
	}
	return append(dst, src...)
}

// Name is the git subcommand, for messages.
func (c *Cmd) Name() string {
	if len(c.args) <= 2*c.nconfig {
		return ""
	}
	return c.args[2*c.nconfig]
}

// build makes the exec.Cmd. ctx ending kills it (the whole group, unless
// InHook); a ctx that never ends costs nothing.
func (c *Cmd) build(ctx context.Context) (*exec.Cmd, error) {
	if c.err != nil {
		return nil, c.err
	}
	bin := c.bin
	if bin == "" {
		bin = "git"
	}
	argv := c.args
	if c.nice != 0 {
		argv = append([]string{"-n", strconv.Itoa(c.nice), bin}, argv...)
		bin = "nice"
	}
	var cmd *exec.Cmd
	if ctx.Done() != nil {
		cmd = exec.CommandContext(ctx, bin, argv...)
	} else {
		cmd = exec.Command(bin, argv...)
	}
	cmd.Dir = c.dir
	switch {
	case c.inHook && len(c.env) == 0:
		// nil: the hook's own environment.
	case c.inHook:
		cmd.Env = append(os.Environ(), c.env...)
	default:
		cmd.Env = append(appendEnv(make([]string, 0, envSize+len(c.env))), c.env...)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = c.stdin, c.stdout, c.stderr
	cmd.WaitDelay = c.waitDelay
	cmd.SysProcAttr = dieWithParent()
	if !c.inHook {
		// Its own process group, so that a kill reaches the children
		// too (repack's pack-objects, upload-pack's).
		cmd.SysProcAttr.Setpgid = true
		if ctx.Done() != nil {
			cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		}
	}
	return cmd, nil
}

// Start starts git; Wait must follow. When ctx ends first, git is killed
// (with its process group, unless InHook).
func (c *Cmd) Start(ctx context.Context) error {
	cmd, err := c.build(ctx)
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start git %s: %w", c.Name(), err)
	}
	c.cmd = cmd
	if c.metrics != nil {
		c.metrics.GitProcessesStarted.Inc()
		c.metrics.GitProcesses.Inc()
	}
	return nil
}

// Pid is the process id of the started git (its process group id too,
// unless InHook).
func (c *Cmd) Pid() int { return c.cmd.Process.Pid }

// Wait waits for the started git to exit and its streams to be copied. A
// git that exited non-zero is an *exec.ExitError.
func (c *Cmd) Wait() error {
	err := c.cmd.Wait()
	if c.metrics != nil {
		c.metrics.GitProcesses.Dec()
	}
	return err
}

// Run starts git and waits for it.
func (c *Cmd) Run(ctx context.Context) error {
	if err := c.Start(ctx); err != nil {
		return err
	}
	return c.Wait()
}

// Output runs git and returns its standard output.
func (c *Cmd) Output(ctx context.Context) ([]byte, error) {
	var out bytes.Buffer
	c.stdout = &out
	err := c.Run(ctx)
	return out.Bytes(), err
}
