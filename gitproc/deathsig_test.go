package gitproc

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// envParent makes the test binary play gitgate: start a long git through
// Cmd, print its pid, and wait to be killed.
const envParent = "GITPROC_TEST_PARENT_DIR"

func TestMain(m *testing.M) {
	if dir := os.Getenv(envParent); dir != "" {
		// "!sleep 300" has no shell metacharacters: git runs sleep as
		// its own child, started with clean-on-exit.
		g := Git("spin").WithConfig("alias.spin=!sleep 300").WithDir(dir)
		if err := g.Start(context.Background()); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Println(g.Pid())
		select {}
	}
	os.Exit(m.Run())
}

// childrenOf lists the pids whose parent is pid.
func childrenOf(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, p)
		}
	}
	return out
}

func TestGitDiesWhenTheProcessThatStartedItIsKilled(t *testing.T) {
	parent := exec.Command(os.Args[0], "-test.run=^$")
	parent.Env = append(os.Environ(), envParent+"="+t.TempDir())
	out, err := parent.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = parent.Process.Kill(); _ = parent.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("read git's pid from the parent: %v", err)
	}
	git, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("git pid %q: %v", line, err)
	}
	t.Cleanup(func() { _ = syscall.Kill(-git, syscall.SIGKILL) })
	// git has started its alias's sleep before it is worth killing.
	var sleep []int
	for deadline := time.Now().Add(30 * time.Second); len(sleep) == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("git never started its child")
		}
		sleep = childrenOf(git)
	}

	// kill -9: gitgate gets no chance to kill anything itself.
	if err := parent.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = parent.Wait()
	for _, pid := range append([]int{git}, sleep...) {
		for deadline := time.Now().Add(30 * time.Second); alive(pid); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("process %d (git %d or its child) outlived the gitgate that started it", pid, git)
			}
		}
	}
}
