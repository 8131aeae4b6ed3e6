package repos

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/packcache"
	"github.com/gitgate/gitgate/store"
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
// passes them in the environment; the hook applies CheckRefUpdate with
// what only the repository knows at that moment (is it empty, is the
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
)

// HookProcReceive is the proc-receive hook.
const HookProcReceive = "proc-receive"

// hookRule is a protected branch as the hook receives it.
type hookRule struct {
	Name            string `json:"name"`
	PushAccessLevel int    `json:"push_access_level"`
	AllowForcePush  bool   `json:"allow_force_push,omitempty"`
}

// InstallHooks writes gitgate's hook scripts into dir (created if needed)
// and makes ReceiveHook use them. Each script execs executable (the
// gitgate binary, or a test binary whose TestMain calls RunHook) with
// HookEnv naming the hook. Call it once at start-up, before serving.
func (s *Service) InstallHooks(dir, executable string) error {
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("hooks directory: %w", err)
		}
		dir = abs
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create hooks directory: %w", err)
	}
	for _, name := range []string{HookProcReceive, packcache.HookName} {
		script := "#!/bin/sh\n# Written by gitgate at start-up: git runs this hook; gitgate itself\n# answers (see repos/hook.go). Do not edit.\n" +
			HookEnv + "=" + name + " exec " + shellQuote(executable) + ` "$@"` + "\n"
		if err := writeScript(filepath.Join(dir, name), script); err != nil {
			return err
		}
	}
	s.hooksDir = dir
	return nil
}

// PackObjectsHook is the path of the pack-objects hook script, for
// uploadpack.packObjectsHook ("" before InstallHooks).
func (s *Service) PackObjectsHook() string {
	if s.hooksDir == "" {
		return ""
	}
	return filepath.Join(s.hooksDir, packcache.HookName)
}

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

// ReceiveHook returns the extra git -c config and environment that make
// receive-pack enforce protected branches for p on proj.
func (s *Service) ReceiveHook(ctx context.Context, p *auth.Principal, proj *store.Project) (config []string, env []string, err error) {
	if s.hooksDir == "" {
		return nil, nil, errors.New("receive hook: gitgate's hooks are not installed (InstallHooks was not called)")
	}
	level, err := s.AccessLevel(ctx, p, proj)
	if err != nil {
		return nil, nil, fmt.Errorf("receive hook: %w", err)
	}
	rules, err := s.ProtectedBranches(ctx, proj.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("receive hook: %w", err)
	}
	// core.hooksPath also keeps any hook someone dropped into the
	// repository's own hooks directory from running.
	// Every branch and tag a push creates goes through the hook too, for
	// CheckRefName: receive.procReceiveRefs matches whole ref components,
	// so names such as "-x" or 40 hex digits cannot be singled out. ("a:"
	// is creations only: updates of existing refs stay on receive-pack's
	// own path.)
	config = []string{"core.hooksPath=" + s.hooksDir,
		"receive.procReceiveRefs=a:refs/heads", "receive.procReceiveRefs=a:refs/tags"}
	hr := make([]hookRule, 0, len(rules))
	for _, r := range rules {
		config = append(config, "receive.procReceiveRefs=refs/heads/"+r.Name)
		hr = append(hr, hookRule{Name: r.Name, PushAccessLevel: r.PushAccessLevel, AllowForcePush: r.AllowForcePush})
	}
	js, err := json.Marshal(hr)
	if err != nil {
		return nil, nil, fmt.Errorf("receive hook: %w", err)
	}
	env = []string{
		envAccessLevel + "=" + strconv.Itoa(int(level)),
		envDefaultBranch + "=" + proj.DefaultBranch,
		envProtected + "=" + string(js),
		envUsername + "=" + p.Username(),
	}
	return config, env, nil
}

// RunHook runs the hook named by the GITGATE_HOOK environment variable, if set, and reports whether it did (callers then exit with the returned code).
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
		}, gitRefStore{})
		if ferr := out.Flush(); err == nil && ferr != nil {
			err = ferr
		}
		if err != nil {
			fmt.Fprintf(stderr, "gitgate: %s hook: %v\n", name, err)
			return true, 1
		}
		return true, 0
	}
	if name == packcache.HookName {
		return true, packcache.RunHook(os.Args[1:], stdin, stdout, stderr)
	}
	fmt.Fprintf(stderr, "gitgate: unknown hook %q\n", name)
	return true, 1
}

// hookParams is what the server passed to the hook.
type hookParams struct {
	level, defaultBranch, rules string
}

// refStore is what the hook needs from the repository; the hook's tests
// use the real one on a real repository.
type refStore interface {
	empty(ctx context.Context) (bool, error)
	isAncestor(ctx context.Context, old, new string) (bool, error)
	update(ctx context.Context, ref, old, new string) error
}

// procReceive speaks the proc-receive protocol (git help githooks):
// version negotiation, then the commands, then one status per command.
func procReceive(ctx context.Context, in *bufio.Reader, out *bufio.Writer, hp hookParams, repo refStore) error {
	level, err := strconv.Atoi(hp.level)
	if err != nil {
		return fmt.Errorf("bad %s %q", envAccessLevel, hp.level)
	}
	var rules []ProtectedRule
	if hp.rules != "" {
		var hr []hookRule
		if err := json.Unmarshal([]byte(hp.rules), &hr); err != nil {
			return fmt.Errorf("bad %s: %w", envProtected, err)
		}
		for _, r := range hr {
			rules = append(rules, ProtectedRule{Name: r.Name, PushAccessLevel: r.PushAccessLevel, AllowForcePush: r.AllowForcePush})
		}
	}

	// Version negotiation: receive-pack sends "version=1\0<capabilities>"
	// then a flush. We take no capabilities (no push options, no atomic
	// handling of our own), so receive-pack sends none of them.
	first := true
	for {
		line, err := gitproc.ReadPkt(in)
		if errors.Is(err, gitproc.ErrFlush) {
			break
		}
		if err != nil {
			return fmt.Errorf("read version: %w", err)
		}
		if first {
			v, _, _ := strings.Cut(strings.TrimRight(string(line), "\n"), "\x00")
			if v != "version=1" {
				return fmt.Errorf("unsupported proc-receive protocol %q", v)
			}
			first = false
		}
	}
	if first {
		return errors.New("no version from receive-pack")
	}
	if err := gitproc.WritePkt(out, "version=1\n"); err != nil {
		return err
	}
	if err := gitproc.WriteFlush(out); err != nil {
		return err
	}
	if err := out.Flush(); err != nil {
		return fmt.Errorf("answer version: %w", err)
	}

	var cmds []RefUpdate
	for {
		line, err := gitproc.ReadPkt(in)
		if errors.Is(err, gitproc.ErrFlush) {
			break
		}
		if err != nil {
			return fmt.Errorf("read commands: %w", err)
		}
		f := strings.Fields(string(line))
		if len(f) != 3 {
			return fmt.Errorf("bad command %q", line)
		}
		cmds = append(cmds, RefUpdate{Old: f[0], New: f[1], Ref: f[2]})
	}

	// Emptiness is judged before any update of this push: refs the
	// same push creates outside proc-receive land only after the hook.
	empty, err := repo.empty(ctx)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		status := "ok " + c.Ref
		if reason := decideRef(ctx, repo, AccessLevel(level), rules, hp.defaultBranch, empty, c); reason != "" {
			status = "ng " + c.Ref + " " + reason
		}
		if err := gitproc.WritePkt(out, status+"\n"); err != nil {
			return err
		}
	}
	if err := gitproc.WriteFlush(out); err != nil {
		return err
	}
	return out.Flush()
}

// decideRef checks one update and performs it when allowed; it returns
// the reason git shows when not.
func decideRef(ctx context.Context, repo refStore, level AccessLevel, rules []ProtectedRule, defaultBranch string, empty bool, c RefUpdate) string {
	if !isZero(c.New) {
		if err := CheckRefName(c.Ref, defaultBranch); err != nil {
			return oneLine(err.Error())
		}
	}
	if !isZero(c.Old) && !isZero(c.New) {
		ff, err := repo.isAncestor(ctx, c.Old, c.New)
		// An undecidable ancestry counts as a rewrite: refuse rather
		// than let a force-push through.
		c.Forced = err != nil || !ff
	}
	if err := CheckRefUpdate(level, rules, defaultBranch, empty, c); err != nil {
		return oneLine(err.Error())
	}
	if err := repo.update(ctx, c.Ref, c.Old, c.New); err != nil {
		return oneLine("failed to update ref: " + err.Error())
	}
	return ""
}

func oneLine(s string) string {
	s = strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
	if len(s) > 1000 {
		s = s[:1000]
	}
	return s
}

// gitRefStore is the repository the hook runs in: git starts hooks with
// the repository as the working directory and GIT_DIR set, so dir is
// empty there (tests name a repository).
type gitRefStore struct{ dir string }

func (g gitRefStore) empty(ctx context.Context) (bool, error) {
	out, err := hookGit(ctx, g.dir, gitproc.Git("for-each-ref", "--count=1", "--format=%(refname)"))
	if err != nil {
		return false, err
	}
	return len(bytes.TrimSpace(out)) == 0, nil
}

func (g gitRefStore) isAncestor(ctx context.Context, old, new string) (bool, error) {
	_, err := hookGit(ctx, g.dir, gitproc.Git("merge-base", "--is-ancestor").AddValues(old, new))
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 {
		return false, nil
	}
	return err == nil, err
}

func (g gitRefStore) update(ctx context.Context, ref, old, new string) error {
	// The old value guards against a concurrent push having moved the
	// ref since receive-pack read it (a zero old value: must not exist).
	if isZero(new) {
		_, err := hookGit(ctx, g.dir, gitproc.Git("update-ref", "-d").AddValues(ref, old))
		return err
	}
	_, err := hookGit(ctx, g.dir, gitproc.Git("update-ref", "-m", "push").AddValues(ref, new, old))
	return err
}

// hookGit runs g in the hook's environment (see gitproc.Cmd.InHook).
func hookGit(ctx context.Context, dir string, g *gitproc.Cmd) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	g.InHook()
	if dir != "" {
		g.WithGitDir(dir)
	}
	var stderr bytes.Buffer
	out, err := g.WithStderr(&stderr).Output(ctx)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := strings.TrimSpace(stderr.String())
			msg = strings.TrimPrefix(msg, "fatal: ")
			if msg == "" {
				return out, err
			}
			return out, &hookGitError{ExitError: ee, msg: msg}
		}
		return out, fmt.Errorf("git %s: %w", g.Name(), err)
	}
	return out, nil
}

// hookGitError keeps git's exit status (for merge-base) and its message
// (what the pusher sees when update-ref fails).
type hookGitError struct {
	*exec.ExitError
	msg string
}

func (e *hookGitError) Error() string { return e.msg }
func (e *hookGitError) Unwrap() error { return e.ExitError }
