package gitproc

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gitgate/gitgate/metrics"
)

func TestCommandLines(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  *Cmd
		want []string // argv, or nil when the command must be refused
	}{
		{"fixed arguments", Git("pack-refs", "--all"), []string{"git", "pack-refs", "--all"}},
		{"settings go before the subcommand, in order", Git("upload-pack").WithConfig("a.b=1").AddArgs("--stateless-rpc").WithConfig("c.d=2"),
			[]string{"git", "-c", "a.b=1", "-c", "c.d=2", "upload-pack", "--stateless-rpc"}},
		{"a value is one argument", Git("check-ref-format", "--branch").AddValues("main; rm -rf /"),
			[]string{"git", "check-ref-format", "--branch", "main; rm -rf /"}},
		{"a value that looks like an option is refused", Git("check-ref-format", "--branch").AddValues("--help"), nil},
		{"after dashes anything is an operand", Git("log").AddValuesAfterDashes("-x", "--all"), []string{"git", "log", "--", "-x", "--all"}},
		{"another git binary", Git("version").WithBin("/opt/git/bin/git"), []string{"/opt/git/bin/git", "version"}},
		{"at low priority", Git("repack", "-d").WithBin("/opt/git").WithNice(19), []string{"nice", "-n", "19", "/opt/git", "repack", "-d"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, err := tc.cmd.build(context.Background())
			if tc.want == nil {
				if err == nil {
					t.Fatalf("built %q, want a refusal", cmd.Args)
				}
				if !strings.Contains(err.Error(), "would be read as an option") {
					t.Fatalf("refusal %q does not say why", err)
				}
				if err := tc.cmd.Run(context.Background()); err == nil {
					t.Fatal("Run ran a refused command")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(cmd.Args, tc.want) {
				t.Fatalf("argv %q, want %q", cmd.Args, tc.want)
			}
		})
	}
}

// envOf runs "env" as a git alias, so it sees exactly what git got.
func envOf(t *testing.T, g *Cmd) []string {
	t.Helper()
	out, err := g.WithConfig("alias.showenv=!env").AddArgs("showenv").Output(context.Background())
	if err != nil {
		t.Fatalf("git showenv: %v", err)
	}
	return strings.Split(strings.TrimSpace(string(out)), "\n")
}

func TestCommandsGetTheirOwnEnvironmentNotTheServers(t *testing.T) {
	// What the server's own environment may hold and must not reach a
	// git it starts: each would change what git does. Every name or
	// value says "leaked".
	leakedRepo := filepath.Join(t.TempDir(), "leaked.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", leakedRepo).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	stray := map[string]string{
		"GIT_DIR":               leakedRepo,
		"GIT_CONFIG_PARAMETERS": "'core.leaked'='true'",
		"GIT_TEMPLATE_DIR":      "/leaked/templates",
		"GIT_TRACE":             "/leaked/trace",
		"GITGATE_LEAKED":        "1",
	}
	for k, v := range stray {
		t.Setenv(k, v)
	}
	env := envOf(t, Git().WithDir(t.TempDir()).WithEnv("GITGATE_EXTRA=yes"))
	joined := strings.Join(env, "\n")
	if strings.Contains(strings.ToLower(joined), "leaked") {
		t.Errorf("the server's environment reached git:\n%s", joined)
	}
	for _, want := range []string{"GITGATE_EXTRA=yes", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + os.TempDir(), "LANG=C"} {
		if !slices.Contains(env, want) {
			t.Errorf("git did not get %s:\n%s", want, joined)
		}
	}

	// A git started by a hook runs in the hook's environment: git put
	// GIT_DIR and the quarantine there for it.
	hookEnv := envOf(t, Git().WithDir(t.TempDir()).InHook().WithEnv("GITGATE_EXTRA=yes"))
	for _, want := range []string{"GIT_DIR=" + leakedRepo, "GITGATE_LEAKED=1", "GITGATE_EXTRA=yes"} {
		if !slices.Contains(hookEnv, want) {
			t.Errorf("a git in a hook did not inherit %s:\n%s", want, strings.Join(hookEnv, "\n"))
		}
	}
}

// alive reports whether pid runs (a zombie waiting for a reaper does not).
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// "pid (comm) S …": the state follows the last parenthesis.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || s[i+2] != 'Z'
}

func TestCancelKillsTheWholeProcessGroup(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	// git runs sh, which starts a grandchild and reports its pid.
	g := Git("spin").WithConfig("alias.spin=!sleep 300 & echo $!; wait").WithDir(t.TempDir()).WithStdout(pw)
	if err := g.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("read the grandchild's pid: %v", err)
	}
	grandchild, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("grandchild pid %q: %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(grandchild, syscall.SIGKILL) })
	if !alive(grandchild) {
		t.Fatalf("grandchild %d not running before the cancel", grandchild)
	}
	cancel()
	if err := g.Wait(); err == nil {
		t.Fatal("a killed git reported success")
	}
	// SIGKILL is delivered to the whole group at once; the grandchild
	// only needs to be scheduled to die.
	for deadline := time.Now().Add(30 * time.Second); alive(grandchild); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("grandchild %d survived the cancel of its git", grandchild)
		}
	}
}

func TestWaitDelayEndsAWaitThatAGrandchildWouldHold(t *testing.T) {
	// git exits at once, but the background sleep keeps git's stdout
	// open: without WaitDelay, Wait would wait for the sleep.
	var out bytes.Buffer
	g := Git("leak").WithConfig("alias.leak=!sleep 300 &").WithDir(t.TempDir()).WithStdout(&out).WithWaitDelay(100 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- g.Run(context.Background()) }()
	select {
	case err := <-done:
		_ = syscall.Kill(-g.Pid(), syscall.SIGKILL) // the sleep, in git's group
		if !errors.Is(err, exec.ErrWaitDelay) {
			t.Fatalf("Run = %v, want exec.ErrWaitDelay", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Run still waiting for the grandchild's output")
	}
}

func value(t *testing.T, m prometheus.Metric) float64 {
	t.Helper()
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		t.Fatal(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func TestMetricsCountProcessesStartedAndRunning(t *testing.T) {
	m := metrics.New()
	stdin, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	// cat-file --batch runs until its stdin ends.
	g := Git("cat-file", "--batch").WithGitDir(t.TempDir()).WithStdin(stdin).WithMetrics(m)
	if err := exec.Command("git", "init", "-q", "--bare", g.dir).Run(); err != nil {
		t.Fatal(err)
	}
	if err := g.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if started, running := value(t, m.GitProcessesStarted), value(t, m.GitProcesses); started != 1 || running != 1 {
		t.Fatalf("while running: started %v, running %v; want 1, 1", started, running)
	}
	w.Close()
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if started, running := value(t, m.GitProcessesStarted), value(t, m.GitProcesses); started != 1 || running != 0 {
		t.Fatalf("after exit: started %v, running %v; want 1, 0", started, running)
	}
}

func TestARefLockedForAMomentIsWaitedFor(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"-c", "user.name=T", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "c"}} {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	// Housekeeping's pack-refs --prune holds a loose ref's lock like this,
	// longer than git's default wait of 100 ms on a busy machine.
	lock := filepath.Join(dir, ".git", "refs", "heads", "main.lock")
	if err := os.WriteFile(lock, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(500 * time.Millisecond)
		os.Remove(lock)
		close(released)
	}()
	var stderr strings.Builder
	err := Git("update-ref").AddValues("refs/heads/main", "HEAD").WithDir(dir).WithStderr(&stderr).Run(context.Background())
	<-released
	if err != nil {
		t.Fatalf("update-ref of a ref locked for 500 ms: %v: %s", err, stderr.String())
	}
}
