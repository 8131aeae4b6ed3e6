package hooks

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
)

// fuzzLevels are the access levels a fuzz input picks from.
var fuzzLevels = []access.AccessLevel{access.NoAccess, access.Guest, access.Reporter, access.Developer, access.Maintainer, access.Owner, access.Admin}

// fuzzRepo makes the template repository every fuzz input starts from:
// main at c1 (protected, maintainers push), feature at c3, tag v1 at c1;
// c2 is a fast-forward of c1, c3 is unrelated. It returns its directory
// and the commits.
func fuzzRepo(tb testing.TB) (dir string, c [3]string) {
	tb.Helper()
	dir = filepath.Join(tb.TempDir(), "template.git")
	if err := repos.InitBare(context.Background(), dir, "main"); err != nil {
		tb.Fatal(err)
	}
	git := func(args ...string) string {
		cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b",
			"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
		out, err := cmd.Output()
		if err != nil {
			tb.Fatalf("git %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	tree := git("mktree")
	c[0] = git("commit-tree", tree, "-m", "1")
	c[1] = git("commit-tree", tree, "-p", c[0], "-m", "2")
	c[2] = git("commit-tree", tree, "-m", "3")
	git("update-ref", "refs/heads/main", c[0])
	git("update-ref", "refs/heads/feature", c[2])
	git("update-ref", "refs/tags/v1", c[0])
	return dir, c
}

// copyDir copies a (small) repository, so that every fuzz input starts
// from the same refs without running git to reset them.
func copyDir(tb testing.TB, src, dst string) {
	tb.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(to, b, 0o644)
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// fuzzStore is the real repository store on a copy of the template,
// made when the hook first asks for it (most inputs never get that far),
// counting the updates.
type fuzzStore struct {
	t       *testing.T
	tmpl    string
	dir     string
	updates int
}

func (s *fuzzStore) repo() gitRefStore {
	if s.dir == "" {
		s.dir = filepath.Join(s.t.TempDir(), "r.git")
		copyDir(s.t, s.tmpl, s.dir)
	}
	return gitRefStore{dir: s.dir}
}

func (s *fuzzStore) empty(ctx context.Context) (bool, error) { return s.repo().empty(ctx) }

func (s *fuzzStore) isAncestor(ctx context.Context, old, new string) (bool, error) {
	return s.repo().isAncestor(ctx, old, new)
}

func (s *fuzzStore) update(ctx context.Context, ref, old, new string) error {
	s.updates++
	return s.repo().update(ctx, ref, old, new)
}

// refsOf lists a repository's refs and where HEAD points.
func refsOf(tb testing.TB, dir string) (refs map[string]string, head string) {
	tb.Helper()
	out, err := exec.Command("git", "--git-dir="+dir, "for-each-ref", "--format=%(refname) %(objectname)").Output()
	if err != nil {
		tb.Fatalf("for-each-ref: %v", err)
	}
	refs = map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if name, oid, ok := strings.Cut(line, " "); ok {
			refs[name] = oid
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "HEAD"))
	if err != nil {
		tb.Fatal(err)
	}
	return refs, string(b)
}

// fuzzCommands reads the commands of a proc-receive input the way the
// protocol defines them, apart from the code under test: the version
// section, whose first line is "version=1" (then capabilities after a
// NUL, then the line's LF), up to its flush; then one "<old> <new> <ref>" per pkt-line up to
// the next flush, both values full object ids as receive-pack sends them.
// ok is false when the input is not a complete exchange.
func fuzzCommands(data []byte) (cmds [][3]string, ok bool) {
	r := bytes.NewReader(data)
	versioned := false
	for section := 0; section < 2; {
		line, err := gitproc.ReadPkt(r)
		switch {
		case errors.Is(err, gitproc.ErrFlush):
			if !versioned {
				return nil, false
			}
			section++
		case err != nil:
			return nil, false
		case section == 0 && !versioned:
			v, _, _ := strings.Cut(strings.TrimSuffix(string(line), "\n"), "\x00")
			if v != "version=1" {
				return nil, false
			}
			versioned = true
		case section == 1:
			f := strings.Fields(string(line))
			if len(f) != 3 || !fullHex(f[0]) || !fullHex(f[1]) {
				return nil, false
			}
			cmds = append(cmds, [3]string{f[0], f[1], f[2]})
		}
	}
	return cmds, true
}

// FuzzProcReceive drives the proc-receive hook with any input against a
// real repository: it answers a complete exchange with one status per
// command, in order, naming the command's ref; the refs it reports "ok"
// are exactly the refs that changed, each now at the new value the
// command named; the protected branch main never moves below maintainer
// level, is never rewound or deleted; and HEAD stays where it was.
func FuzzProcReceive(f *testing.F) {
	tmpl, c := fuzzRepo(f)
	f.Logf("c1 %s c2 %s c3 %s", c[0], c[1], c[2])
	f.Add(int(access.Developer), []byte("000eversion=1\n0000"+
		"00650000000000000000000000000000000000000000 "+c[1]+" refs/heads/new1"+"0000"))
	before, head := refsOf(f, tmpl)
	f.Fuzz(func(t *testing.T, level int, data []byte) {
		lvl := fuzzLevels[uint(level)%uint(len(fuzzLevels))]
		repo := &fuzzStore{t: t, tmpl: tmpl}

		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		var out bytes.Buffer
		w := bufio.NewWriter(&out)
		hp := hookParams{level: itoa(lvl), defaultBranch: "main", rules: `[{"name":"main","push_access_level":40}]`}
		err := procReceive(ctx, bufio.NewReader(bytes.NewReader(data)), w, hp, repo)
		// Only update writes to the repository: without a call, the
		// refs are the template's.
		after, headAfter := before, head
		if repo.updates > 0 {
			after, headAfter = refsOf(t, repo.dir)
		}
		if headAfter != head {
			t.Fatalf("HEAD moved from %q to %q", head, headAfter)
		}
		cmds, complete := fuzzCommands(data)
		if err != nil {
			if complete {
				t.Fatalf("complete exchange refused: %v", err)
			}
			if !maps.Equal(before, after) {
				t.Fatalf("refused input changed refs: %v -> %v", before, after)
			}
			return
		}
		if !complete {
			t.Fatalf("incomplete input %q accepted", data)
		}

		// The answer: version, flush, one status per command, flush.
		r := bytes.NewReader(out.Bytes())
		if v, err := gitproc.ReadPkt(r); err != nil || string(v) != "version=1\n" {
			t.Fatalf("version answer %q %v", v, err)
		}
		if _, err := gitproc.ReadPkt(r); !errors.Is(err, gitproc.ErrFlush) {
			t.Fatalf("no flush after the version: %v", err)
		}
		want := maps.Clone(before)
		for i, cmd := range cmds {
			line, err := gitproc.ReadPkt(r)
			if err != nil {
				t.Fatalf("status %d of %d: %v", i+1, len(cmds), err)
			}
			st := string(line)
			if !strings.HasSuffix(st, "\n") || strings.ContainsAny(st[:len(st)-1], "\r\n") {
				t.Fatalf("status %q is not one line", st)
			}
			st = st[:len(st)-1]
			switch {
			case st == "ok "+cmd[2]:
				if access.IsZero(cmd[1]) {
					delete(want, cmd[2])
				} else {
					want[cmd[2]] = cmd[1]
				}
			case strings.HasPrefix(st, "ng "+cmd[2]+" ") && len(st) > len("ng "+cmd[2]+" "):
			default:
				t.Fatalf("status %q for command %q", st, cmd)
			}
		}
		if _, err := gitproc.ReadPkt(r); !errors.Is(err, gitproc.ErrFlush) {
			t.Fatalf("no flush after the statuses: %v", err)
		}
		if _, err := gitproc.ReadPkt(r); err != io.EOF {
			t.Fatalf("more after the final flush: %v", err)
		}
		if !maps.Equal(want, after) {
			t.Fatalf("refs after %q are %v; the statuses say %v", data, after, want)
		}
		main := after["refs/heads/main"]
		if main != c[0] && !(main == c[1] && lvl >= access.Maintainer) {
			t.Fatalf("protected main moved to %q at level %d", main, lvl)
		}
	})
}

// fullHex reports whether s is a full SHA-1 or SHA-256 object name in
// lower-case hex.
func fullHex(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	return strings.Trim(s, "0123456789abcdef") == ""
}
