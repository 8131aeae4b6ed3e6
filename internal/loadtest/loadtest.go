// Package loadtest drives a running gitgate server with N concurrent
// clients for a fixed time: real git processes cloning, fetching and
// pushing several repositories over HTTP and SSH, while the server's
// process tree's memory is sampled from /proc. It reports p50/p99 per
// operation and door, the errors, and whether memory stayed flat after
// warm-up (docs/benchmarks.md#load-test-and-soak). cmd/gitgate-load is its
// command; `make loadtest` and `make soak` run it against a throwaway
// server.
package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gitgate/gitgate/gitproc"
)

// Operations a client runs.
const (
	OpClone = "clone" // a bare clone of a repository, then deleted
	OpFetch = "fetch" // a fetch of every branch into the client's own clone
	OpPush  = "push"  // a new commit on the client's own branch, pushed
)

// Doors.
const (
	DoorHTTP = "http"
	DoorSSH  = "ssh"
)

// Config is what to run.
type Config struct {
	// HTTPBase and SSHBase are the URLs below which the repositories
	// live (BASE/<repo>.git), e.g. http://user:token@127.0.0.1:8080/load
	// and ssh://git@127.0.0.1:2222/load; at least one is needed. With
	// both, each operation takes one at random.
	HTTPBase, SSHBase string
	// SSHKey is the private key for SSHBase.
	SSHKey string
	// Repos are the repositories' names. Client i fetches from and pushes
	// to Repos[i mod len]; it clones any of them.
	Repos []string
	// Clients run at once, each one operation after another, for Duration.
	Clients  int
	Duration time.Duration
	// MinOps makes each client run at least that many operations,
	// however long they take.
	MinOps int
	// Mix weighs the operations (OpClone, OpFetch, OpPush).
	Mix map[string]int
	// ServerPID, when set, is the server whose process tree's memory is
	// sampled every SampleEvery (default 1 s).
	ServerPID   int
	SampleEvery time.Duration
	// OpTimeout bounds one operation (default 5 minutes); operations
	// running at the end of Duration are waited for, up to it.
	OpTimeout time.Duration
	// MetricsURL, when set, is the server's Prometheus endpoint: the
	// report shows what the pack cache and git processes did meanwhile.
	MetricsURL string
	// Work is a scratch directory for the clients' repositories.
	Work string
	// Seed makes the clients' choices repeatable.
	Seed int64
	// Progress, when set, gets a line every ten seconds.
	Progress io.Writer
}

// Op is one finished operation.
type Op struct {
	Client   int
	Kind     string // OpClone, OpFetch or OpPush
	Door     string // DoorHTTP or DoorSSH
	Repo     string
	Start    time.Duration // since the run's start
	Duration time.Duration
	Err      string // the failure and git's first error line; empty when it succeeded
}

// Result is a finished run.
type Result struct {
	Config  Config
	Started time.Time
	Elapsed time.Duration
	Ops     []Op
	RSS     []RSSSample
	// RSSError tells why memory could not be sampled, if it could not.
	RSSError string
	// MetricsBefore and MetricsAfter are the server's samples of
	// metricPrefixes before and after the load; MetricsError tells why
	// they could not be read, if they could not.
	MetricsBefore, MetricsAfter map[string]float64
	MetricsError                string
}

// Errors are the failed operations.
func (r *Result) Errors() []Op {
	var out []Op
	for _, o := range r.Ops {
		if o.Err != "" {
			out = append(out, o)
		}
	}
	return out
}

// ParseMix reads "clone=2,fetch=5,push=3".
func ParseMix(s string) (map[string]int, error) {
	mix := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return nil, fmt.Errorf("mix %q: want op=weight, e.g. clone=2,fetch=5,push=3", s)
		}
		switch k {
		case OpClone, OpFetch, OpPush:
			mix[k] = n
		default:
			return nil, fmt.Errorf("mix %q: unknown operation %q (clone, fetch, push)", s, k)
		}
	}
	if mix[OpClone]+mix[OpFetch]+mix[OpPush] == 0 {
		return nil, fmt.Errorf("mix %q: every weight is zero", s)
	}
	return mix, nil
}

func (c *Config) check() error {
	switch {
	case c.HTTPBase == "" && c.SSHBase == "":
		return errors.New("no target: give an HTTP base URL, an SSH base URL, or both")
	case c.SSHBase != "" && c.SSHKey == "":
		return errors.New("an SSH target needs a key")
	case len(c.Repos) == 0:
		return errors.New("no repositories")
	case c.Clients <= 0 || c.Duration <= 0:
		return errors.New("clients and duration must be positive")
	case c.Work == "":
		return errors.New("no scratch directory")
	}
	if c.Mix == nil {
		c.Mix = map[string]int{OpClone: 2, OpFetch: 5, OpPush: 3}
	}
	if c.SampleEvery <= 0 {
		c.SampleEvery = time.Second
	}
	if c.OpTimeout <= 0 {
		c.OpTimeout = 5 * time.Minute
	}
	return nil
}

// Run runs the load until cfg.Duration has passed and every operation in
// flight has ended, or ctx ends (then the git processes are killed).
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	home := filepath.Join(cfg.Work, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	gitconfig := "[user]\n\tname = Load Client\n\temail = load@example.invalid\n[init]\n\tdefaultBranch = main\n" +
		"[protocol]\n\tversion = 2\n[advice]\n\tdetachedHead = false\n[gc]\n\tauto = 0\n"
	if err := os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(gitconfig), 0o600); err != nil {
		return nil, fmt.Errorf("scratch directory: %w", err)
	}
	env := []string{"HOME=" + home, "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false", "SSH_ASKPASS=/bin/false"}
	if cfg.SSHBase != "" {
		key, err := filepath.Abs(cfg.SSHKey)
		if err != nil {
			return nil, err
		}
		// Loopback load only: no host key check, no multiplexing.
		env = append(env, "GIT_SSH_COMMAND=ssh -F /dev/null -i "+key+" -o IdentitiesOnly=yes -o IdentityAgent=none -o BatchMode=yes -o StrictHostKeyChecking=no"+
			" -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ControlMaster=no -o ControlPath=none")
	}

	res := &Result{Config: cfg}
	if cfg.MetricsURL != "" {
		var err error
		if res.MetricsBefore, err = scrapeMetrics(ctx, cfg.MetricsURL); err != nil {
			res.MetricsError = err.Error()
		}
	}
	res.Started = time.Now()
	start := res.Started
	since := func() time.Duration { return time.Since(start) }

	sampleCtx, stopSampling := context.WithCancel(ctx)
	var sampler sync.WaitGroup
	if cfg.ServerPID > 0 {
		sampler.Add(1)
		go func() {
			defer sampler.Done()
			t := time.NewTicker(cfg.SampleEvery)
			defer t.Stop()
			for {
				rss, own, procs, err := TreeRSS(cfg.ServerPID)
				if err != nil {
					res.RSSError = err.Error()
					return
				}
				res.RSS = append(res.RSS, RSSSample{At: since(), RSS: rss, Server: own, Processes: procs})
				select {
				case <-sampleCtx.Done():
					return
				case <-t.C:
				}
			}
		}()
	}

	var mu sync.Mutex
	record := func(o Op) {
		mu.Lock()
		res.Ops = append(res.Ops, o)
		mu.Unlock()
	}
	deadline := start.Add(cfg.Duration)
	var wg sync.WaitGroup
	for i := range cfg.Clients {
		c := &client{id: i, cfg: &cfg, env: env, dir: filepath.Join(cfg.Work, fmt.Sprintf("c%d", i)),
			home: cfg.Repos[i%len(cfg.Repos)], rnd: rand.New(rand.NewSource(cfg.Seed + int64(i)))}
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.loop(ctx, deadline, since, record)
		}()
	}
	progressDone := make(chan struct{})
	if cfg.Progress != nil {
		go func() {
			t := time.NewTicker(10 * time.Second)
			defer t.Stop()
			for {
				select {
				case <-progressDone:
					return
				case <-t.C:
				}
				mu.Lock()
				n, failed := len(res.Ops), 0
				for _, o := range res.Ops {
					if o.Err != "" {
						failed++
					}
				}
				mu.Unlock()
				fmt.Fprintf(cfg.Progress, "%4.0fs  %d operations, %d failed\n", since().Seconds(), n, failed)
			}
		}()
	}
	wg.Wait()
	close(progressDone)
	res.Elapsed = since()
	// One last sample at the end, then stop.
	stopSampling()
	sampler.Wait()
	sort.Slice(res.Ops, func(a, b int) bool { return res.Ops[a].Start < res.Ops[b].Start })
	if cfg.MetricsURL != "" && res.MetricsError == "" {
		var err error
		if res.MetricsAfter, err = scrapeMetrics(ctx, cfg.MetricsURL); err != nil {
			res.MetricsError = err.Error()
		}
	}
	if err := ctx.Err(); err != nil {
		return res, fmt.Errorf("load run interrupted: %w", err)
	}
	return res, nil
}

// client is one simulated user: its own bare clone of its home
// repository (made by its first operation), its own branch to push to.
type client struct {
	id     int
	cfg    *Config
	env    []string
	dir    string
	home   string
	rnd    *rand.Rand
	cloned bool
	pushes int
	clones int
}

func (c *client) loop(ctx context.Context, deadline time.Time, since func() time.Duration, record func(Op)) {
	for n := 0; (time.Now().Before(deadline) || n < c.cfg.MinOps) && ctx.Err() == nil; n++ {
		kind, repo := c.next()
		door, base := c.door()
		o := Op{Client: c.id, Kind: kind, Door: door, Repo: repo, Start: since()}
		opCtx, cancel := context.WithTimeout(ctx, c.cfg.OpTimeout)
		err := c.run(opCtx, kind, repo, base)
		cancel()
		o.Duration = since() - o.Start
		if err != nil {
			o.Err = err.Error()
			if ctx.Err() != nil {
				return // interrupted: not the server's failure
			}
		} else if kind == OpClone && repo == c.home && !c.cloned {
			c.cloned = true
		}
		record(o)
	}
}

// next picks an operation: the first is the clone of the home repository
// the others need.
func (c *client) next() (kind, repo string) {
	if !c.cloned {
		return OpClone, c.home
	}
	mix := c.cfg.Mix
	n := c.rnd.Intn(mix[OpClone] + mix[OpFetch] + mix[OpPush])
	switch {
	case n < mix[OpClone]:
		return OpClone, c.cfg.Repos[c.rnd.Intn(len(c.cfg.Repos))]
	case n < mix[OpClone]+mix[OpFetch]:
		return OpFetch, c.home
	}
	return OpPush, c.home
}

func (c *client) door() (string, string) {
	switch {
	case c.cfg.HTTPBase == "":
		return DoorSSH, c.cfg.SSHBase
	case c.cfg.SSHBase == "":
		return DoorHTTP, c.cfg.HTTPBase
	case c.rnd.Intn(2) == 0:
		return DoorSSH, c.cfg.SSHBase
	}
	return DoorHTTP, c.cfg.HTTPBase
}

func repoURL(base, repo string) string { return strings.TrimSuffix(base, "/") + "/" + repo + ".git" }

func (c *client) homeDir() string { return filepath.Join(c.dir, "home.git") }

func (c *client) run(ctx context.Context, kind, repo, base string) error {
	url := repoURL(base, repo)
	switch kind {
	case OpClone:
		dir := filepath.Join(c.dir, fmt.Sprintf("clone-%d", c.clones))
		c.clones++
		keep := repo == c.home && !c.cloned
		if keep {
			dir = c.homeDir()
		}
		_ = os.RemoveAll(dir)
		err := c.git(ctx, "", []gitproc.Arg{"clone", "--bare", "-q"}, url, dir)
		if !keep {
			_ = os.RemoveAll(dir)
		}
		return err
	case OpFetch:
		return c.git(ctx, c.homeDir(), []gitproc.Arg{"fetch", "-q", "--prune"}, url, "+refs/heads/*:refs/heads/*")
	case OpPush:
		commit, err := c.commit(ctx)
		if err != nil {
			return err
		}
		return c.git(ctx, c.homeDir(), []gitproc.Arg{"push", "-q"}, url, "+"+commit+":"+c.branch())
	}
	return fmt.Errorf("unknown operation %q", kind)
}

func (c *client) branch() string { return fmt.Sprintf("refs/heads/load/c%d", c.id) }

// commit makes a commit on the client's branch (or on HEAD, the first
// time) that adds or changes one small file at the top of the tree.
func (c *client) commit(ctx context.Context) (string, error) {
	dir := c.homeDir()
	parent, err := c.output(ctx, dir, nil, []gitproc.Arg{"rev-parse", "-q", "--verify"}, c.branch()+"^{commit}")
	if err != nil {
		if parent, err = c.output(ctx, dir, nil, []gitproc.Arg{"rev-parse", "--verify"}, "HEAD^{commit}"); err != nil {
			return "", err
		}
	}
	c.pushes++
	content := fmt.Sprintf("client %d push %d at %s\n%x\n", c.id, c.pushes, time.Now().Format(time.RFC3339Nano), c.rnd.Int63())
	blob, err := c.output(ctx, dir, strings.NewReader(content), []gitproc.Arg{"hash-object", "-w", "--stdin"})
	if err != nil {
		return "", err
	}
	top, err := c.output(ctx, dir, nil, []gitproc.Arg{"ls-tree"}, parent)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("load-c%d.txt", c.id)
	var tree strings.Builder
	for _, line := range strings.Split(top, "\n") {
		if line != "" && !strings.HasSuffix(line, "\t"+name) {
			tree.WriteString(line + "\n")
		}
	}
	fmt.Fprintf(&tree, "100644 blob %s\t%s\n", blob, name)
	treeID, err := c.output(ctx, dir, strings.NewReader(tree.String()), []gitproc.Arg{"mktree"})
	if err != nil {
		return "", err
	}
	commit, err := c.output(ctx, dir, nil, []gitproc.Arg{"commit-tree", "-m", "load", "-p"}, parent, treeID)
	if err != nil {
		return "", err
	}
	if _, err := c.output(ctx, dir, nil, []gitproc.Arg{"update-ref"}, c.branch(), commit); err != nil {
		return "", err
	}
	return commit, nil
}

// git runs a git command of the load in dir; a failure carries git's
// first error line.
func (c *client) git(ctx context.Context, dir string, args []gitproc.Arg, values ...string) error {
	_, err := c.output(ctx, dir, nil, args, values...)
	return err
}

func (c *client) output(ctx context.Context, dir string, stdin io.Reader, args []gitproc.Arg, values ...string) (string, error) {
	if err := os.MkdirAll(c.dir, 0o700); err != nil {
		return "", err
	}
	if dir == "" {
		dir = c.dir
	}
	var out, stderr bytes.Buffer
	g := gitproc.Git(args...).AddValues(values...).WithDir(dir).WithEnv(c.env...).WithStdout(&out).WithStderr(&stderr)
	if stdin != nil {
		g.WithStdin(stdin)
	}
	if err := g.Run(ctx); err != nil {
		msg := fmt.Sprintf("git %s: %v", args[0], err)
		if line := firstErrorLine(stderr.String()); line != "" {
			msg += ": " + line
		}
		return "", errors.New(Mask(msg))
	}
	return strings.TrimSpace(out.String()), nil
}

// firstErrorLine is what git says went wrong, on one line: a push's
// rejected refs with their reasons (" ! [remote rejected] ... (reason)")
// and the server's own error lines first, then git's first "fatal:" or
// "error:" line; else its first line.
func firstErrorLine(stderr string) string {
	var why []string
	first, verdict := "", ""
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			continue
		case strings.HasPrefix(line, "! ["), strings.HasPrefix(line, "remote: error"), strings.HasPrefix(line, "remote: fatal"):
			why = append(why, line)
		case verdict == "" && (strings.HasPrefix(line, "fatal:") || strings.HasPrefix(line, "error:")):
			verdict = line
		}
		if first == "" {
			first = line
		}
	}
	if verdict != "" {
		why = append(why, verdict)
	}
	if len(why) == 0 {
		return first
	}
	return strings.Join(why, " | ")
}

var credentials = regexp.MustCompile(`://([^:/@\s]+):[^@/\s]*@`)

// Mask hides the password or token of URLs in s.
func Mask(s string) string { return credentials.ReplaceAllString(s, "://$1:***@") }
