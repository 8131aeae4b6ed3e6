package hooks

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
)

// runHookAsGit runs the proc-receive hook through RunHook, as git starts
// it (GIT_DIR and the server's variables in the environment, the exchange
// on stdin), and returns its exit code, output and stderr.
func runHookAsGit(t *testing.T, dir string, level access.AccessLevel, stdin []byte) (code int, stdout, stderr string) {
	t.Helper()
	t.Setenv(HookEnv, HookProcReceive)
	t.Setenv("GIT_DIR", dir)
	t.Setenv(envAccessLevel, itoa(level))
	t.Setenv(envDefaultBranch, "main")
	t.Setenv(envProtected, `[{"name":"main","push_access_level":40}]`)
	var out, errOut bytes.Buffer
	ran, code := RunHook(context.Background(), bytes.NewReader(stdin), &out, &errOut)
	if !ran {
		t.Fatal("RunHook did not run the hook")
	}
	return code, out.String(), errOut.String()
}

// exchange is a proc-receive input: the version, then the commands
// without a trailing LF, as receive-pack writes them.
func exchange(cmds ...string) []byte {
	var b bytes.Buffer
	_ = gitproc.WritePkt(&b, "version=1\x00atomic\n")
	_ = gitproc.WriteFlush(&b)
	for _, c := range cmds {
		_ = gitproc.WritePkt(&b, c)
	}
	_ = gitproc.WriteFlush(&b)
	return b.Bytes()
}

// Found with FuzzProcReceive (its invariants, on hostile seeds): the hook
// wrote any ref it was handed, and update-ref follows HEAD to the default
// branch, so "delete HEAD" deleted the protected main and "move HEAD"
// force-pushed it, at developer level; FETCH_HEAD was written beside the
// refs. receive-pack never sends such names, but the hook checks its
// input rather than trust it.
func TestProcReceiveRefusesRefsOutsideRefs(t *testing.T) {
	for _, tt := range []struct {
		name string
		cmd  func(c1, c3 string) string
	}{
		{"deleting HEAD", func(c1, _ string) string { return c1 + " " + access.ZeroID + " HEAD" }},
		{"rewinding HEAD", func(c1, c3 string) string { return c1 + " " + c3 + " HEAD" }},
		{"writing FETCH_HEAD", func(_, c3 string) string { return access.ZeroID + " " + c3 + " FETCH_HEAD" }},
		{"writing a path below the repository", func(_, c3 string) string { return access.ZeroID + " " + c3 + " objects/x" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, c1, _, c3 := hookRepo(t)
			setMain(dir, c1)
			cmd := tt.cmd(c1, c3)
			code, out, stderr := runHookAsGit(t, dir, access.Developer, exchange(cmd))
			ref := strings.Fields(cmd)[2]
			if code != 0 || !strings.Contains(out, "ng "+ref+" funny refname\n") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want ng %s funny refname", code, out, stderr, ref)
			}
			if got := refValue(t, dir, "refs/heads/main"); got != c1 {
				t.Fatalf("protected main moved to %q", got)
			}
			if got := refValue(t, dir, ref); ref != "HEAD" && got != "" {
				t.Fatalf("%s was written: %q", ref, got)
			}
		})
	}
}

// Found with FuzzProcReceive (its invariants, on hostile seeds): a value
// that is not an object id ("main", "HEAD~1", a short id) was handed to
// update-ref, which resolved it as a revision. The hook refuses the
// exchange (git then rejects the push) and changes nothing.
func TestProcReceiveRefusesValuesThatAreNotObjectIDs(t *testing.T) {
	for _, tt := range []struct {
		name string
		cmd  func(c1, c2 string) string
	}{
		{"branch name as the new value", func(c1, _ string) string { return access.ZeroID + " main refs/heads/copy" }},
		{"revision as the new value", func(c1, c2 string) string { return access.ZeroID + " " + c2 + "~1 refs/heads/copy" }},
		{"short old value", func(c1, c2 string) string { return c1[:7] + " " + c2 + " refs/heads/main" }},
		{"upper-case object id", func(c1, c2 string) string { return access.ZeroID + " " + strings.ToUpper(c2) + " refs/heads/copy" }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir, c1, c2, _ := hookRepo(t)
			setMain(dir, c1)
			code, out, stderr := runHookAsGit(t, dir, access.Maintainer, exchange(tt.cmd(c1, c2)))
			if code == 0 || !strings.Contains(stderr, "bad command") || strings.Count(stderr, "\n") != 1 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want one line naming the bad command", code, out, stderr)
			}
			if got := refValue(t, dir, "refs/heads/copy"); got != "" {
				t.Fatalf("refs/heads/copy was created at %q", got)
			}
			if got := refValue(t, dir, "refs/heads/main"); got != c1 {
				t.Fatalf("main moved to %q", got)
			}
		})
	}
}

// A symbolic ref under refs/ is replaced itself, never followed to the
// ref it points to, which the protected-branch rules did not check.
func TestProcReceiveDoesNotFollowSymbolicRefs(t *testing.T) {
	dir, c1, _, c3 := hookRepo(t)
	setMain(dir, c1)
	if out, err := exec.Command("git", "--git-dir="+dir, "symbolic-ref", "refs/heads/alias", "refs/heads/main").CombinedOutput(); err != nil {
		t.Fatalf("symbolic-ref: %v %s", err, out)
	}
	code, out, stderr := runHookAsGit(t, dir, access.Developer, exchange(c1+" "+c3+" refs/heads/alias"))
	if code != 0 || !strings.Contains(out, "ok refs/heads/alias\n") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	if got := refValue(t, dir, "refs/heads/main"); got != c1 {
		t.Fatalf("protected main moved through the symbolic ref to %q", got)
	}
	if got := refValue(t, dir, "refs/heads/alias"); got != c3 {
		t.Fatalf("alias = %q, want %q", got, c3)
	}
}
