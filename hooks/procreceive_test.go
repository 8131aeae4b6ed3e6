package hooks

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
)

// hookRepo makes a bare repository with main at c1 and returns it with
// c1, a fast-forward c2 and an unrelated c3.
func hookRepo(t *testing.T) (dir, c1, c2, c3 string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "r.git")
	if err := repos.InitBare(context.Background(), dir, "main"); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	tree := git("mktree")
	c1 = git("commit-tree", tree, "-m", "1")
	c2 = git("commit-tree", tree, "-p", c1, "-m", "2")
	c3 = git("commit-tree", tree, "-m", "3")
	return dir, c1, c2, c3
}

func runProcReceive(t *testing.T, dir string, hp hookParams, cmds ...string) (statuses []string) {
	t.Helper()
	var in bytes.Buffer
	gitproc.WritePkt(&in, "version=1\x00atomic push-options\n")
	gitproc.WriteFlush(&in)
	for _, c := range cmds {
		gitproc.WritePkt(&in, c+"\n")
	}
	gitproc.WriteFlush(&in)
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	if err := procReceive(context.Background(), bufio.NewReader(&in), w, hp, gitRefStore{dir: dir}); err != nil {
		t.Fatalf("proc-receive: %v", err)
	}
	r := bufio.NewReader(&out)
	if v, err := gitproc.ReadPkt(r); err != nil || string(v) != "version=1\n" {
		t.Fatalf("version answer %q %v", v, err)
	}
	if _, err := gitproc.ReadPkt(r); err != gitproc.ErrFlush {
		t.Fatalf("no flush after version: %v", err)
	}
	for {
		line, err := gitproc.ReadPkt(r)
		if err == gitproc.ErrFlush {
			return statuses
		}
		if err != nil {
			t.Fatal(err)
		}
		statuses = append(statuses, strings.TrimSpace(string(line)))
	}
}

func refValue(t *testing.T, dir, ref string) string {
	out, _ := exec.Command("git", "--git-dir="+dir, "rev-parse", "--verify", "-q", ref).Output()
	return strings.TrimSpace(string(out))
}

func TestProcReceiveAppliesProtectedBranchRules(t *testing.T) {
	rules := `[{"name":"main","push_access_level":40},{"name":"release/*","push_access_level":30},{"name":"frozen-*","push_access_level":0}]`
	tests := []struct {
		name    string
		level   access.AccessLevel
		devInit bool
		setup   func(dir, c1 string)
		cmd     func(c1, c2, c3 string) string
		want    string // status prefix
		wantRef func(c1, c2, c3 string) string
	}{
		{"developer creates main in an empty repository where the instance allows it", access.Developer, true, nil,
			func(c1, c2, c3 string) string { return access.ZeroID + " " + c1 + " refs/heads/main" },
			"ok refs/heads/main", func(c1, _, _ string) string { return c1 }},
		{"developer may not create main in an empty repository where the instance does not allow it", access.Developer, false, nil,
			func(c1, c2, c3 string) string { return access.ZeroID + " " + c1 + " refs/heads/main" },
			"ng refs/heads/main protected branch main: only maintainers may push", func(_, _, _ string) string { return "" }},
		{"developer pushes a branch a level-30 pattern protects", access.Developer, false, nil,
			func(c1, c2, c3 string) string { return access.ZeroID + " " + c1 + " refs/heads/release/1.0" },
			"ok refs/heads/release/1.0", func(_, _, _ string) string { return "" }},
		{"a level-0 pattern refuses even an admin", access.Admin, false, nil,
			func(c1, c2, c3 string) string { return access.ZeroID + " " + c1 + " refs/heads/frozen-2024" },
			"ng refs/heads/frozen-2024 protected branch frozen-2024: no one may push", func(_, _, _ string) string { return "" }},
		{"developer may not move main", access.Developer, false, setMain,
			func(c1, c2, c3 string) string { return c1 + " " + c2 + " refs/heads/main" },
			"ng refs/heads/main protected branch main: only maintainers may push", func(c1, _, _ string) string { return c1 }},
		{"maintainer fast-forwards main", access.Maintainer, false, setMain,
			func(c1, c2, c3 string) string { return c1 + " " + c2 + " refs/heads/main" },
			"ok refs/heads/main", func(_, c2, _ string) string { return c2 }},
		{"maintainer may not force-push main", access.Maintainer, false, setMain,
			func(c1, c2, c3 string) string { return c1 + " " + c3 + " refs/heads/main" },
			"ng refs/heads/main protected branch main cannot be force-pushed", func(c1, _, _ string) string { return c1 }},
		{"admin may not delete main", access.Admin, false, setMain,
			func(c1, c2, c3 string) string { return c1 + " " + access.ZeroID + " refs/heads/main" },
			"ng refs/heads/main protected branch main cannot be deleted", func(c1, _, _ string) string { return c1 }},
		{"a stale old value is refused by update-ref", access.Maintainer, false, setMain,
			func(c1, c2, c3 string) string { return c3 + " " + c2 + " refs/heads/main" },
			"ng refs/heads/main ", func(c1, _, _ string) string { return c1 }},
		{"unprotected ref below a protected name lands", access.Developer, false, nil,
			func(c1, c2, c3 string) string { return access.ZeroID + " " + c3 + " refs/heads/main-not/x" },
			"ok refs/heads/main-not/x", func(c1, _, _ string) string { return "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, c1, c2, c3 := hookRepo(t)
			if tt.setup != nil {
				tt.setup(dir, c1)
			}
			st := runProcReceive(t, dir, hookParams{level: itoa(tt.level), defaultBranch: "main", rules: rules, devInitial: tt.devInit}, tt.cmd(c1, c2, c3))
			if len(st) != 1 || !strings.HasPrefix(st[0], tt.want) {
				t.Fatalf("statuses %q, want %q…", st, tt.want)
			}
			if want := tt.wantRef(c1, c2, c3); want != "" {
				if got := refValue(t, dir, "refs/heads/main"); got != want {
					t.Fatalf("main = %q, want %q", got, want)
				}
			}
		})
	}
}

func setMain(dir, c1 string) {
	exec.Command("git", "--git-dir="+dir, "update-ref", "refs/heads/main", c1).Run()
}

func itoa(l access.AccessLevel) string { return strconv.Itoa(int(l)) }

func TestRunHookDoesNothingWithoutTheVariable(t *testing.T) {
	t.Setenv(HookEnv, "")
	if ran, _ := RunHook(context.Background(), strings.NewReader(""), &bytes.Buffer{}, &bytes.Buffer{}); ran {
		t.Fatal("RunHook ran without GITGATE_HOOK")
	}
	t.Setenv(HookEnv, "no-such-hook")
	var stderr bytes.Buffer
	if ran, code := RunHook(context.Background(), strings.NewReader(""), &bytes.Buffer{}, &stderr); !ran || code == 0 {
		t.Fatalf("unknown hook: ran=%v code=%d", ran, code)
	}
}

func TestInstallHooksWritesAnExecutableScript(t *testing.T) {
	dir := t.TempDir()
	h, err := Install(dir, "/opt/it's here/gitgate")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, HookProcReceive))
	if err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Fatalf("hook script: %v %v", fi, err)
	}
	b, _ := os.ReadFile(filepath.Join(dir, HookProcReceive))
	if !strings.Contains(string(b), `GITGATE_HOOK=proc-receive exec '/opt/it'\''s here/gitgate'`) {
		t.Fatalf("script:\n%s", b)
	}
	if h.Dir() != dir {
		t.Fatalf("hooks dir %q", h.Dir())
	}
}

// ReceivePack passes the decision's level, the rules and the default
// branch to the hook, and routes protected branches and every creation
// through it.
func TestReceivePackHandsTheDecisionToTheHook(t *testing.T) {
	h, err := Install(t.TempDir(), "/bin/gitgate")
	if err != nil {
		t.Fatal(err)
	}
	// A nil principal is anonymous: its name is what the hook gets.
	d := repos.Decision{Project: &repos.Project{DefaultBranch: "trunk"}, Level: access.Developer}
	config, env, err := h.ReceivePack(d, []access.ProtectedRule{{Name: "trunk", PushAccessLevel: access.Maintainer},
		{Name: "release/*", PushAccessLevel: access.Developer}, {Name: "release/v*", PushAccessLevel: access.Maintainer},
		{Name: "*-stable", PushAccessLevel: access.Maintainer}}, access.ProtectionDevCanInitialPush)
	if err != nil {
		t.Fatal(err)
	}
	wantConfig := []string{"core.hooksPath=" + h.Dir(), "receive.procReceiveRefs=a:refs/heads", "receive.procReceiveRefs=a:refs/tags",
		"receive.procReceiveRefs=refs/heads/trunk", "receive.procReceiveRefs=refs/heads/release", "receive.procReceiveRefs=refs/heads"}
	wantEnv := []string{"GITGATE_ACCESS_LEVEL=30", "GITGATE_DEFAULT_BRANCH=trunk",
		`GITGATE_PROTECTED_BRANCHES=[{"name":"trunk","push_access_level":40},{"name":"release/*","push_access_level":30},` +
			`{"name":"release/v*","push_access_level":40},{"name":"*-stable","push_access_level":40}]`,
		"GITGATE_USERNAME=anonymous", "GITGATE_DEVELOPER_INITIAL_PUSH=1"}
	if strings.Join(config, "\n") != strings.Join(wantConfig, "\n") {
		t.Errorf("config %q, want %q", config, wantConfig)
	}
	if strings.Join(env, "\n") != strings.Join(wantEnv, "\n") {
		t.Errorf("env %q, want %q", env, wantEnv)
	}
	var none *Hooks
	if _, _, err := none.ReceivePack(d, nil, access.DefaultBranchProtection); err == nil {
		t.Error("ReceivePack without installed hooks did not fail")
	}
}
