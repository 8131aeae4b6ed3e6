package refsnap_test

import (
	"bytes"
	"context"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/refsnap"
)

// fuzzGit runs git with fixed names and dates, so that the objects of the
// fuzz repositories (and the ids the seeds name) are the same on every run.
func fuzzGit(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command("git", append([]string{"--git-dir=" + dir}, args...)...)
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@b", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@b",
		"GIT_AUTHOR_DATE=2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE=2026-01-01T00:00:00Z")
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// fuzzRepo makes the small bare repository the fuzz targets compare on:
// main (HEAD) and feature/x; an annotated tag v1, a tag of that tag, a
// lightweight tag and a tag of a tree; refs/remotes/origin/HEAD, a
// symbolic ref. Most refs are packed (with git's peeled data), main and
// one tag are loose. With unbornHead, HEAD names a branch that does not
// exist.
func fuzzRepo(tb testing.TB, unbornHead bool) string {
	tb.Helper()
	dir := filepath.Join(tb.TempDir(), "r.git")
	fuzzGit(tb, dir, "init", "-q", "--bare", "-b", "main")
	tree := fuzzGit(tb, dir, "mktree")
	c1 := fuzzGit(tb, dir, "commit-tree", tree, "-m", "1")
	c2 := fuzzGit(tb, dir, "commit-tree", tree, "-p", c1, "-m", "2")
	fuzzGit(tb, dir, "update-ref", "refs/heads/main", c1)
	fuzzGit(tb, dir, "update-ref", "refs/heads/feature/x", c2)
	fuzzGit(tb, dir, "tag", "-a", "-m", "v1", "v1", c1)
	fuzzGit(tb, dir, "tag", "-a", "-m", "nested", "v1-nested", "v1")
	fuzzGit(tb, dir, "tag", "light", c2)
	fuzzGit(tb, dir, "tag", "-a", "-m", "tree", "tree-tag", tree)
	fuzzGit(tb, dir, "update-ref", "refs/remotes/origin/main", c2)
	fuzzGit(tb, dir, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	fuzzGit(tb, dir, "pack-refs", "--all")
	fuzzGit(tb, dir, "update-ref", "refs/heads/main", c2)
	fuzzGit(tb, dir, "tag", "-a", "-m", "loose", "loose-tag", c2)
	if unbornHead {
		fuzzGit(tb, dir, "symbolic-ref", "HEAD", "refs/heads/unborn")
	}
	return dir
}

// runLsRefs is `git upload-pack` fed one protocol v2 request, as gitgate
// runs it; err when git refuses the request.
func runLsRefs(dir string, req []byte) ([]byte, error) {
	var errb bytes.Buffer
	out, err := gitproc.Git("upload-pack", "--stateless-rpc", gitproc.Arg(dir)).
		WithEnv("GIT_PROTOCOL=version=2").WithStdin(bytes.NewReader(req)).WithStderr(&errb).Output(context.Background())
	if err != nil {
		return nil, &gitRefused{err: err, stderr: errb.String()}
	}
	return out, nil
}

type gitRefused struct {
	err    error
	stderr string
}

func (e *gitRefused) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

// canonical is the request git 2.39's ls-remote would send for q.
func canonical(q refsnap.LsRefs) []byte {
	s := pkt("command=ls-refs\n") + pkt("agent=git/2.39.5") + pkt("object-format=sha1") + "0001"
	for _, a := range []struct {
		on   bool
		line string
	}{{q.Peel, "peel\n"}, {q.Symrefs, "symrefs\n"}, {q.Unborn, "unborn\n"}} {
		if a.on {
			s += pkt(a.line)
		}
	}
	for _, p := range q.Prefixes {
		s += pkt("ref-prefix " + p + "\n")
	}
	return []byte(s + "0000")
}

// FuzzParseLsRefs reads any request body as a protocol v2 ls-refs
// request. A request it accepts is answered from the snapshot exactly as
// `git upload-pack` answers the same bytes, on a repository with HEAD on a
// branch and on one with an unborn HEAD; git refusing an accepted request
// is a failure (the door would answer where git errs). Refusing is always
// safe: git answers then. What git 2.39 would send for the parsed request
// is accepted and parses back to the same request.
func FuzzParseLsRefs(f *testing.F) {
	var snaps []*refsnap.Snapshot
	var dirs []string
	for _, unborn := range []bool{false, true} {
		dir := fuzzRepo(f, unborn)
		s, err := refsnap.Build(context.Background(), dir)
		if err != nil || s.Unusual != "" {
			f.Fatalf("snapshot of the fuzz repository: %v %q", err, s.Unusual)
		}
		snaps, dirs = append(snaps, s), append(dirs, dir)
	}
	for _, s := range []string{
		"", "0000", "0014command=ls-refs\n0000", "0014command=ls-refs\n00010000", "0013command=ls-refs0000",
		"0014command=ls-refs\n0001000apeel\n000csymrefs\n000bunborn\n0000",
		"0014command=ls-refs\n0001001aref-prefix refs/tags/\n000fref-prefix \n0000",
		"0014command=ls-refs\n0001000apeel\n00000000", "0014command=ls-refs\n0014agent=a b\n\x00c0000",
		"0012command=fetch\n0000", "0014command=ls-refs\n0001000cpeel\x00x\n0000",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, req []byte) {
		q, ok := refsnap.ParseLsRefs(req)
		if !ok {
			return
		}
		if !bytes.HasSuffix(req, []byte("0000")) {
			t.Fatalf("accepted %q, which does not end with a flush", req)
		}
		again, ok := refsnap.ParseLsRefs(canonical(q))
		if !ok || !reflect.DeepEqual(again, q) {
			t.Fatalf("%q parsed as %+v; git's form of it %q parsed as %+v, %v", req, q, canonical(q), again, ok)
		}
		for i, s := range snaps {
			want, err := runLsRefs(dirs[i], req)
			if err != nil {
				t.Fatalf("accepted %q, which git refuses: %v", req, err)
			}
			got, err := s.LsRefs(q, true)
			if err != nil {
				continue // too long for a pkt-line: git answers
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("ls-refs %q (HEAD unborn: %v):\nsnapshot %q\ngit      %q", req, i == 1, got, want)
			}
		}
	})
}

// TestLsRefsRequestsGitRefusesAreLeftToGit: requests whose pkt-line
// lengths git refuses (a length that is not four hex digits, a packet
// longer than git reads) are not answered from the snapshot, so git
// refuses them as it would without one. Found by FuzzParseLsRefs.
func TestLsRefsRequestsGitRefusesAreLeftToGit(t *testing.T) {
	dir := fuzzRepo(t, false)
	long := "ref-prefix " + strings.Repeat("r", 65508) + "\n" // 65520 bytes: git reads 65519
	for name, req := range map[string]string{
		"flush with a letter":       "0014command=ls-refs\n000X",
		"delimiter with a letter":   "0014command=ls-refs\n001X0009peel\n0000",
		"length with a sign":        "0014command=ls-refs\n0001+009peel\n0000",
		"length with a space":       "0014command=ls-refs\n0001 009peel\n0000",
		"length with 0x":            "0014command=ls-refs\n0x00",
		"packet longer than git's":  "0014command=ls-refs\n0001" + pkt(long) + "0000",
		"length with trailing tabs": "0014command=ls-refs\n00019\t\t\tpeel\n0000",
	} {
		t.Run(name, func(t *testing.T) {
			if q, ok := refsnap.ParseLsRefs([]byte(req)); ok {
				t.Errorf("accepted as %+v", q)
			}
			if _, err := runLsRefs(dir, []byte(req)); err == nil {
				t.Errorf("git answers it: the request is not one git refuses")
			}
		})
	}
}

// hostileRepo makes a repository with the objects and configuration of
// tmpl (its object files linked, not copied) and the given HEAD,
// packed-refs (none when nil) and loose refs (name under refs/ →
// content). ok is false when the files cannot be made (a name that is a
// directory already, say).
func hostileRepo(t *testing.T, tmpl string, head, packed []byte, loose map[string][]byte) (dir string, ok bool) {
	dir = filepath.Join(t.TempDir(), "r.git")
	for _, d := range []string{"refs/heads", "refs/tags"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	config, err := os.ReadFile(filepath.Join(tmpl, "config"))
	if err != nil {
		t.Fatal(err)
	}
	// Hard links: go-git does not follow a symbolic link out of the
	// repository.
	err = filepath.WalkDir(filepath.Join(tmpl, "objects"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(tmpl, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		return os.Link(path, filepath.Join(dir, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"config": config, "HEAD": head}
	if packed != nil {
		files["packed-refs"] = packed
	}
	for name, b := range loose {
		files[filepath.Join("refs", name)] = b
	}
	for name, b := range files {
		path := filepath.Join(dir, name)
		if os.MkdirAll(filepath.Dir(path), 0o755) != nil || os.WriteFile(path, b, 0o644) != nil {
			return dir, false
		}
	}
	return dir, true
}

// FuzzSnapshotRefFiles builds a snapshot of a repository whose HEAD,
// packed-refs and one loose ref are any bytes, next to the template's own
// loose refs. It never panics; when the snapshot accepts the repository,
// it lists exactly the refs `git for-each-ref` lists, at the same objects,
// and its ls-refs answer (symrefs, peeled tags, unborn HEAD) is byte for
// byte git upload-pack's. Refusing (Unusual, or an error) is always safe:
// git answers then.
func FuzzSnapshotRefFiles(f *testing.F) {
	tmpl := fuzzRepo(f, false)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(tmpl, name))
		if err != nil {
			f.Fatal(err)
		}
		return b
	}
	packed, head := read("packed-refs"), read("HEAD")
	templateLoose := map[string][]byte{"heads/main": read("refs/heads/main"), "tags/loose-tag": read("refs/tags/loose-tag")}
	main := templateLoose["heads/main"]
	f.Add(packed, "heads/main", main, head)
	f.Add(packed, "heads/other", []byte("ref: refs/heads/main\n"), head)
	f.Add(packed, "heads/chain", []byte("ref: refs/remotes/origin/HEAD\n"), head)
	f.Add(packed, "heads/.hidden", main, head)
	f.Add(packed, "heads/x.lock", []byte("junk"), head)
	f.Add(bytes.ReplaceAll(packed, []byte("\n"), []byte("\r\n")), "", []byte(nil), head)
	f.Add(bytes.TrimSuffix(packed, []byte("\n")), "", []byte(nil), head)
	f.Add(packed[bytes.IndexByte(packed, '\n')+1:], "", []byte(nil), main)
	f.Add([]byte("# pack-refs with: peeled fully-peeled sorted \n"), "heads/main", bytes.ToUpper(main), []byte("ref: refs/heads/none\n"))
	f.Fuzz(func(t *testing.T, packed []byte, name string, content, head []byte) {
		loose := maps.Clone(templateLoose)
		if name != "" {
			if !filepath.IsLocal(name) || filepath.Clean(name) != name || strings.ContainsRune(name, 0) || len(name) > 200 {
				return
			}
			loose[name] = content
		}
		if len(packed) == 0 {
			packed = nil
		}
		dir, ok := hostileRepo(t, tmpl, head, packed, loose)
		if !ok {
			return
		}
		s, err := refsnap.Build(context.Background(), dir)
		if err != nil || s.Unusual != "" {
			return
		}
		out, err := exec.Command("git", "--git-dir="+dir, "for-each-ref", "--format=%(objectname) %(refname)").CombinedOutput()
		if err != nil {
			t.Fatalf("snapshot accepted a repository git for-each-ref refuses: %v\n%s", err, out)
		}
		var listed strings.Builder
		for _, r := range s.Refs {
			listed.WriteString(r.OID + " " + r.Name + "\n")
		}
		if listed.String() != string(out) {
			t.Fatalf("snapshot lists\n%s\ngit for-each-ref\n%s", listed.String(), out)
		}
		q := refsnap.LsRefs{Symrefs: true, Peel: true, Unborn: true}
		want, err := runLsRefs(dir, canonical(q))
		if err != nil {
			t.Fatalf("snapshot accepted a repository git upload-pack refuses: %v", err)
		}
		got, err := s.LsRefs(q, true)
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("ls-refs:\nsnapshot %q\ngit      %q", got, want)
		}
	})
}
