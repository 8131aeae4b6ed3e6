// Package hooks is gitgate's side of git's hooks: the scripts git runs
// (installed once at start-up), the receive-pack settings that make a push
// go through them, and RunHook, the entry point the gitgate binary (and
// the test binaries) call first, which answers a hook when git started the
// binary as one: proc-receive here (protected branches, ref names) and the
// pack-objects hook in packcache.
package hooks

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/packcache"
	"github.com/gitgate/gitgate/repos"
)

// Protected branches are enforced inside receive-pack, per ref, with git's
// proc-receive hook (git ≥ 2.29): receive-pack hands every command whose
// ref matches receive.procReceiveRefs to the hook, which updates the ref
// itself and answers "ok <ref>" or "ng <ref> <reason>". git then shows
//
//	! [remote rejected] main -> main (protected branch main cannot be force-pushed)
//
// for that ref while the other refs of the same push land. A pre-receive
// hook can only accept or refuse a push as a whole, and an update hook's
// refusal is always shown as "(hook declined)": neither can name the rule.
//
// The hook needs no database: the server decides the caller's access
// level, the rules and the default branch when it starts receive-pack and
// passes them in the environment; the hook applies access.CheckRefUpdate
// with what only the repository knows at that moment (is it empty, is the
// update a fast-forward).

// Environment variables of the hook protocol between the server and the
// hook process it spawns through git.
const (
	// HookEnv names the hook to run; set by the hook scripts only.
	HookEnv = "GITGATE_HOOK"

	envAccessLevel   = "GITGATE_ACCESS_LEVEL"
	envDefaultBranch = "GITGATE_DEFAULT_BRANCH"
	envProtected     = "GITGATE_PROTECTED_BRANCHES"
	envUsername      = "GITGATE_USERNAME"
	// envDevInitialPush is "1" when the instance's
	// default_branch_protection lets a developer make the first push of
	// the default branch into an empty repository.
	envDevInitialPush = "GITGATE_DEVELOPER_INITIAL_PUSH"
)

// HookProcReceive is the proc-receive hook.
const HookProcReceive = "proc-receive"

// hookRule is a protected branch as the hook receives it.
type hookRule struct {
	Name            string `json:"name"`
	PushAccessLevel int    `json:"push_access_level"`
	AllowForcePush  bool   `json:"allow_force_push,omitempty"`
}

// Hooks are gitgate's installed hook scripts.
type Hooks struct {
	dir string
}

// Install writes gitgate's hook scripts into dir (created if needed).
// Each script execs executable (the gitgate binary, or a test binary whose
// TestMain calls RunHook) with HookEnv naming the hook. Call it once at
// start-up, before serving.
func Install(dir, executable string) (*Hooks, error) {
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return nil, fmt.Errorf("hooks directory: %w", err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("create hooks directory: %w", err)
	}
	for _, name := range []string{HookProcReceive, packcache.HookName} {
		script := "#!/bin/sh\n# Written by gitgate at start-up: git runs this hook; gitgate itself\n# answers (see hooks/hooks.go). Do not edit.\n" +
			HookEnv + "=" + name + " exec " + shellQuote(executable) + ` "$@"` + "\n"
		if err := writeScript(filepath.Join(dir, name), script); err != nil {
			return nil, err
		}
	}
	return &Hooks{dir: dir}, nil
}

// Dir is the directory holding the scripts.
func (h *Hooks) Dir() string { return h.dir }

// PackObjectsHook is the path of the pack-objects hook script, for
// uploadpack.packObjectsHook.
func (h *Hooks) PackObjectsHook() string { return filepath.Join(h.dir, packcache.HookName) }

// writeScript installs an executable script unless it is already there.
func writeScript(path, script string) error {
	if old, err := os.ReadFile(path); err == nil && string(old) == script {
		return nil
	}
	dir := filepath.Dir(path)
	// Write aside and rename, so a git starting now never runs half a script.
	tmp, err := os.CreateTemp(dir, ".hook-")
	if err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(script); err != nil {
		tmp.Close()
		return fmt.Errorf("write hook: %w", err)
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return fmt.Errorf("write hook: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write hook: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("install hook: %w", err)
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// ReceivePack returns the extra git -c config and environment that make
// receive-pack enforce protected branches (rules) for the push d allowed;
// protection is the instance's default_branch_protection, which decides
// whether a developer may push the default branch into an empty
// repository. It asks nothing of the database: the level is the
// decision's.
func (h *Hooks) ReceivePack(d repos.Decision, rules []access.ProtectedRule, protection access.BranchProtection) (config []string, env []string, err error) {
	if h == nil || h.dir == "" {
		return nil, nil, errors.New("receive hook: gitgate's hooks are not installed (hooks.Install was not called)")
	}
	// core.hooksPath also keeps any hook someone dropped into the
	// repository's own hooks directory from running.
	// Every branch and tag a push creates goes through the hook too, for
	// CheckRefName: receive.procReceiveRefs matches whole ref components,
	// so names such as "-x" or 40 hex digits cannot be singled out. ("a:"
	// is creations only: updates of existing refs stay on receive-pack's
	// own path.)
	config = make([]string, 0, 3+len(rules))
	config = append(config, "core.hooksPath="+h.dir,
		"receive.procReceiveRefs=a:refs/heads", "receive.procReceiveRefs=a:refs/tags")
	hr := make([]hookRule, 0, len(rules))
	routed := make(map[string]bool, len(rules))
	for _, r := range rules {
		if p := procReceivePrefix(r.Name); !routed[p] {
			routed[p] = true
			config = append(config, "receive.procReceiveRefs="+p)
		}
		hr = append(hr, hookRule{Name: r.Name, PushAccessLevel: int(r.PushAccessLevel), AllowForcePush: r.AllowForcePush})
	}
	js, err := json.Marshal(hr)
	if err != nil {
		return nil, nil, fmt.Errorf("receive hook: %w", err)
	}
	env = []string{
		envAccessLevel + "=" + strconv.Itoa(int(d.Level)),
		envDefaultBranch + "=" + d.Project.DefaultBranch,
		envProtected + "=" + string(js),
		envUsername + "=" + d.Principal.Username(),
	}
	if protection.DeveloperCanInitialPush() {
		env = append(env, envDevInitialPush+"=1")
	}
	return config, env, nil
}

// procReceivePrefix is the receive.procReceiveRefs value that sends every
// branch a rule may protect to the hook. git matches those values as
// whole leading ref components, and knows no wildcards: a pattern routes
// the components before its first *, and the hook matches the pattern
// itself (release/* → refs/heads/release; *-stable → all of refs/heads).
func procReceivePrefix(name string) string {
	star := strings.IndexByte(name, '*')
	if star < 0 {
		return "refs/heads/" + name
	}
	slash := strings.LastIndexByte(name[:star], '/')
	if slash < 0 {
		return "refs/heads"
	}
	return "refs/heads/" + name[:slash]
}

// RunHook runs the hook named by the GITGATE_HOOK environment variable, if
// set, and reports whether it did (callers then exit with the returned
// code). Every gitgate binary calls it first thing in main.
func RunHook(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer) (ran bool, exitCode int) {
	name := os.Getenv(HookEnv)
	if name == "" {
		return false, 0
	}
	switch name {
	case HookProcReceive:
		out := bufio.NewWriter(stdout)
		err := procReceive(ctx, bufio.NewReader(stdin), out, hookParams{
			level:         os.Getenv(envAccessLevel),
			defaultBranch: os.Getenv(envDefaultBranch),
			rules:         os.Getenv(envProtected),
			devInitial:    os.Getenv(envDevInitialPush) == "1",
		}, gitRefStore{})
		if ferr := out.Flush(); err == nil && ferr != nil {
			err = ferr
		}
		if err != nil {
			fmt.Fprintf(stderr, "gitgate: %s hook: %v\n", name, err)
			return true, 1
		}
		return true, 0
	case packcache.HookName:
		return true, packcache.RunHook(os.Args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "gitgate: unknown hook %q\n", name)
	return true, 1
}
