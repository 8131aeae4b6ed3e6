// Command gitgate-load drives a running gitgate server with N concurrent
// git clients (clone, fetch and push over HTTP and SSH, across several
// repositories) for a fixed time, and writes a report: p50/p99 per
// operation and door, the errors, and the server's memory over time
// (PREFIX.md, PREFIX.csv, PREFIX.png). It exits 1 when any operation
// failed. `make loadtest` and `make soak` start a throwaway server and
// run it (docs/benchmarks.md#load-test-and-soak).
//
//	gitgate-load -http http://load:TOKEN@127.0.0.1:18190/load \
//	  -ssh ssh://git@127.0.0.1:12390/load -ssh-key key \
//	  -repos small-1,small-2 -clients 64 -duration 60s -server-pid PID -out /tmp/load
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gitgate/gitgate/internal/loadtest"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	fs := flag.NewFlagSet("gitgate-load", flag.ContinueOnError)
	httpBase := fs.String("http", "", "HTTP base URL of the repositories, with user:token (BASE/<repo>.git)")
	sshBase := fs.String("ssh", "", "SSH base URL of the repositories, e.g. ssh://git@127.0.0.1:2222/load")
	sshKey := fs.String("ssh-key", "", "private key for -ssh")
	repos := fs.String("repos", "", "comma-separated repository names below the base URLs")
	clients := fs.Int("clients", 64, "concurrent clients")
	duration := fs.Duration("duration", time.Minute, "how long clients start operations")
	minOps := fs.Int("min-ops", 0, "operations each client runs at least, however long they take")
	mix := fs.String("mix", "clone=2,fetch=5,push=3", "weights of the operations")
	pid := fs.Int("server-pid", 0, "server process whose process tree's memory is sampled (0: none)")
	every := fs.Duration("sample", time.Second, "memory sampling interval")
	opTimeout := fs.Duration("op-timeout", 5*time.Minute, "longest one operation may take")
	out := fs.String("out", "", "report path prefix: writes PREFIX.md, PREFIX.csv and PREFIX.png (default: the Markdown on stdout only)")
	title := fs.String("title", "", "report title (default: gitgate load test, DATE)")
	work := fs.String("work", "", "scratch directory for the clients' repositories (default: a temporary one, removed)")
	seed := fs.Int64("seed", 1, "seed of the clients' choices")
	metricsURL := fs.String("metrics", "", "the server's metrics URL (e.g. http://127.0.0.1:8080/-/metrics): the report shows the pack cache's and git processes' counts")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	m, err := loadtest.ParseMix(*mix)
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitgate-load:", err)
		return 2
	}
	var names []string
	for _, r := range strings.Split(*repos, ",") {
		if r = strings.TrimSpace(r); r != "" {
			names = append(names, r)
		}
	}
	scratch := *work
	if scratch == "" {
		if scratch, err = os.MkdirTemp("", "gitgate-load-"); err != nil {
			fmt.Fprintln(os.Stderr, "gitgate-load:", err)
			return 1
		}
		defer os.RemoveAll(scratch)
	}
	if *title == "" {
		*title = "gitgate load test, " + time.Now().UTC().Format("2006-01-02")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	res, err := loadtest.Run(ctx, loadtest.Config{HTTPBase: *httpBase, SSHBase: *sshBase, SSHKey: *sshKey, Repos: names,
		Clients: *clients, Duration: *duration, MinOps: *minOps, Mix: m, ServerPID: *pid, SampleEvery: *every, OpTimeout: *opTimeout,
		MetricsURL: *metricsURL, Work: scratch, Seed: *seed, Progress: os.Stderr})
	if res == nil {
		fmt.Fprintln(os.Stderr, "gitgate-load:", err)
		return 2
	}
	if err := report(res, *out, *title); err != nil {
		fmt.Fprintln(os.Stderr, "gitgate-load:", err)
		return 1
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "gitgate-load:", err)
		return 1
	}
	if n := len(res.Errors()); n > 0 || len(res.Ops) == 0 {
		fmt.Fprintf(os.Stderr, "gitgate-load: %d of %d operations failed\n", n, len(res.Ops))
		return 1
	}
	return 0
}

// report prints the Markdown and writes the three files under prefix.
func report(res *loadtest.Result, prefix, title string) error {
	if err := res.WriteMarkdown(os.Stdout, title); err != nil {
		return err
	}
	if prefix == "" {
		return nil
	}
	md, err := os.Create(prefix + ".md")
	if err != nil {
		return err
	}
	err = res.WriteMarkdown(md, title)
	if err == nil {
		fmt.Fprintf(md, "\nTime series: `%s.csv`; plot: `%s.png`.\n", base(prefix), base(prefix))
	}
	err = errors.Join(err, md.Close())
	c, cerr := os.Create(prefix + ".csv")
	if cerr == nil {
		cerr = errors.Join(res.WriteCSV(c), c.Close())
	}
	err = errors.Join(err, cerr)
	if len(res.RSS) > 0 {
		err = errors.Join(err, res.WritePNG(prefix+".png", title))
	}
	return err
}

func base(p string) string { return p[strings.LastIndex(p, "/")+1:] }
