package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/store"
)

// git runs the real git with a clean environment.
func git(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"}, args...)...)
	cmd.Dir = dir
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_CONFIG_NOSYSTEM=1", "LANG=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := git(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(out)
}

func TestRepoPruneFromTheCLIDeletesObjectsOfDeletedBranches(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	m := regexp.MustCompile(`id (\d+)`).FindStringSubmatch(c.must("repo", "create", "alice/proj"))
	if m == nil {
		t.Fatal("repo create printed no id")
	}
	sum := sha256.Sum256([]byte(m[1]))
	h := hex.EncodeToString(sum[:])
	bare := filepath.Join(c.dataDir, "repositories", "@hashed", h[0:2], h[2:4], h+".git")
	// Objects of a deleted branch, pushed straight into the repository.
	wt := t.TempDir()
	mustGit(t, wt, "init", "-q")
	mustGit(t, wt, "commit", "-q", "--allow-empty", "-m", "first")
	mustGit(t, wt, "push", "-q", bare, "main")
	mustGit(t, wt, "checkout", "-q", "-b", "gone")
	mustGit(t, wt, "commit", "-q", "--allow-empty", "-m", "pushed by mistake")
	gone := mustGit(t, wt, "rev-parse", "HEAD")
	mustGit(t, wt, "push", "-q", bare, "gone")
	mustGit(t, wt, "push", "-q", bare, ":gone")
	fetch := func() error {
		dir := t.TempDir()
		mustGit(t, dir, "init", "-q")
		_, err := git(t, dir, "-c", "protocol.version=2", "fetch", "-q", "file://"+bare, gone)
		return err
	}
	if err := fetch(); err != nil {
		t.Fatalf("before prune, the deleted branch's commit is not fetchable: %v", err)
	}
	// The default grace keeps what became unreachable a moment ago.
	c.must("repo", "prune", "alice/proj")
	if err := fetch(); err != nil {
		t.Fatalf("prune with the default grace removed a just-deleted branch's commit: %v", err)
	}
	if out := c.must("repo", "prune", "ALICE/proj.git", "--grace", "0s"); !strings.Contains(out, "Pruned unreachable objects older than 0s from alice/proj") {
		t.Fatalf("repo prune printed %q", out)
	}
	if err := fetch(); err == nil {
		t.Fatal("the deleted branch's commit is still fetchable by id after repo prune")
	}
	if _, err := git(t, bare, "cat-file", "-e", gone); err == nil {
		t.Fatal("the deleted branch's commit is still in the repository")
	}
	if out := mustGit(t, bare, "fsck", "--no-dangling"); strings.Contains(out, "error") {
		t.Fatalf("repository damaged by prune: %s", out)
	}
	for _, bad := range [][]string{{"repo", "prune", "alice/nope"}, {"repo", "prune", "alice/proj", "--grace", "-1s"}, {"repo", "prune"}} {
		if r := c.run(bad...); r.code == 0 || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("gitgate %v: exit %d, stderr %q; want one error line", bad, r.code, r.stderr)
		}
	}
	// The reachable-only setting is changed like every other setting.
	c.must("settings", "set", "git_fetch_reachable_only=true")
	if got := strings.TrimSpace(c.must("settings", "get", "git_fetch_reachable_only")); got != "true" {
		t.Fatalf("settings get git_fetch_reachable_only: %q", got)
	}
}
