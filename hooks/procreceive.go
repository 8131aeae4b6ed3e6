package hooks

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
)

// hookParams is what the server passed to the hook.
type hookParams struct {
	level, defaultBranch, rules string
	// devInitial: a developer may push the default branch into an empty
	// repository (default_branch_protection).
	devInitial bool
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
	var rules []access.ProtectedRule
	if hp.rules != "" {
		var hr []hookRule
		if err := json.Unmarshal([]byte(hp.rules), &hr); err != nil {
			return fmt.Errorf("bad %s: %w", envProtected, err)
		}
		for _, r := range hr {
			rules = append(rules, access.ProtectedRule{Name: r.Name, PushAccessLevel: access.AccessLevel(r.PushAccessLevel), AllowForcePush: r.AllowForcePush})
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

	var cmds []access.RefUpdate
	for {
		line, err := gitproc.ReadPkt(in)
		if errors.Is(err, gitproc.ErrFlush) {
			break
		}
		if err != nil {
			return fmt.Errorf("read commands: %w", err)
		}
		f := strings.Fields(string(line))
		// Both values must be full object ids: git would read anything
		// else ("main", "HEAD~1") as a revision to resolve, and the ref
		// would land somewhere no check looked at.
		if len(f) != 3 || !objectID.MatchString(f[0]) || !objectID.MatchString(f[1]) {
			return fmt.Errorf("bad command %q", line)
		}
		cmds = append(cmds, access.RefUpdate{Old: f[0], New: f[1], Ref: f[2]})
	}

	// Emptiness is judged before any update of this push: refs the
	// same push creates outside proc-receive land only after the hook.
	empty, err := repo.empty(ctx)
	if err != nil {
		return err
	}
	for _, c := range cmds {
		status := "ok " + c.Ref
		if reason := decideRef(ctx, repo, access.AccessLevel(level), rules, hp.defaultBranch, empty && hp.devInitial, c); reason != "" {
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

// objectID is a full SHA-1 or SHA-256 object name as receive-pack sends it.
var objectID = regexp.MustCompile(`^(?:[0-9a-f]{40}|[0-9a-f]{64})$`)

// decideRef checks one update and performs it when allowed; it returns
// the reason git shows when not.
func decideRef(ctx context.Context, repo refStore, level access.AccessLevel, rules []access.ProtectedRule, defaultBranch string, devCreatesDefault bool, c access.RefUpdate) string {
	// receive-pack only hands over refs under refs/ (and of those only
	// the ones receive.procReceiveRefs names). Anything else would be
	// written beside them: HEAD, which update-ref follows to the default
	// branch past its protection, or a file such as FETCH_HEAD.
	if !strings.HasPrefix(c.Ref, "refs/") {
		return "funny refname"
	}
	if !access.IsZero(c.New) {
		if err := access.CheckRefName(c.Ref, defaultBranch); err != nil {
			return oneLine(err.Error())
		}
	}
	if !access.IsZero(c.Old) && !access.IsZero(c.New) {
		ff, err := repo.isAncestor(ctx, c.Old, c.New)
		// An undecidable ancestry counts as a rewrite: refuse rather
		// than let a force-push through.
		c.Forced = err != nil || !ff
	}
	if err := access.CheckRefUpdate(level, rules, defaultBranch, devCreatesDefault, c); err != nil {
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
	// --no-deref: a symbolic ref is itself replaced or deleted, never
	// the ref it points to, which the rules did not check.
	if access.IsZero(new) {
		_, err := hookGit(ctx, g.dir, gitproc.Git("update-ref", "--no-deref", "-d").AddValues(ref, old))
		return err
	}
	_, err := hookGit(ctx, g.dir, gitproc.Git("update-ref", "--no-deref", "-m", "push").AddValues(ref, new, old))
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
