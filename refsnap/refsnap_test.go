package refsnap_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/refsnap"
)

// git runs a git command for building test repositories.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_GLOBAL=/dev/null")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// serverGit runs git as gitgate's server does (gitproc's environment).
func serverGit(t testing.TB, env []string, stdin []byte, args ...gitproc.Arg) []byte {
	t.Helper()
	var errb bytes.Buffer
	c := gitproc.Git(args...).WithEnv(env...).WithStderr(&errb)
	if stdin != nil {
		c.WithStdin(bytes.NewReader(stdin))
	}
	out, err := c.Output(context.Background())
	if err != nil {
		t.Fatalf("git %s: %v\n%s", c, err, errb.String())
	}
	return out
}

// gitAdvertisement is `git upload-pack --stateless-rpc --advertise-refs`.
func gitAdvertisement(t testing.TB, dir, protocol string, config []string) []byte {
	t.Helper()
	args := []gitproc.Arg{}
	for _, c := range config {
		args = append(args, "-c", gitproc.Arg(c))
	}
	args = append(args, "upload-pack", "--stateless-rpc", "--advertise-refs", gitproc.Arg(dir))
	return serverGit(t, []string{"GIT_PROTOCOL=" + protocol}, nil, args...)
}

// gitLsRefs is a real v2 exchange: upload-pack fed the request.
func gitLsRefs(t testing.TB, dir string, req []byte) []byte {
	t.Helper()
	return serverGit(t, []string{"GIT_PROTOCOL=version=2"}, req, "upload-pack", "--stateless-rpc", gitproc.Arg(dir))
}

func pkt(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// lsRefsRequest is what git 2.39 sends for ls-refs, with args.
func lsRefsRequest(args ...string) []byte {
	s := pkt("command=ls-refs\n") + pkt("agent=git/2.39.5\n") + pkt("object-format=sha1\n") + "0001"
	for _, a := range args {
		s += pkt(a + "\n")
	}
	return []byte(s + "0000")
}

// fixtures builds the repositories the identity test compares on.
func fixtures(t testing.TB, withMany bool) map[string]string {
	t.Helper()
	root := t.TempDir()
	work := filepath.Join(root, "work")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	git(t, work, "init", "-q", "-b", "main")
	for i := range 3 {
		if err := os.WriteFile(filepath.Join(work, "f"), []byte(fmt.Sprint(i)), 0o644); err != nil {
			t.Fatal(err)
		}
		git(t, work, "add", "f")
		git(t, work, "commit", "-q", "-m", fmt.Sprint("c", i))
	}
	git(t, work, "branch", "feature/x", "HEAD~1")
	git(t, work, "branch", "feature-y", "HEAD~2")
	git(t, work, "tag", "-a", "v1", "-m", "annotated")
	git(t, work, "tag", "-a", "v1-nested", "-m", "tag of a tag", "v1")
	git(t, work, "tag", "-a", "v1-nested2", "-m", "tag of a tag of a tag", "v1-nested")
	git(t, work, "tag", "light", "HEAD~1")
	git(t, work, "tag", "-a", "tree-tag", "-m", "a tag of a tree", "HEAD^{tree}")
	repos := map[string]string{}

	typical := filepath.Join(root, "typical.git")
	git(t, root, "clone", "-q", "--mirror", work, typical)
	// Loose refs beside the packed ones, one of them overriding its
	// packed copy, remote-tracking refs with their symref.
	git(t, typical, "update-ref", "refs/heads/loose", "main~1")
	git(t, typical, "update-ref", "refs/heads/feature/x", "main")
	git(t, typical, "update-ref", "refs/tags/loose-annotated", git(t, typical, "rev-parse", "v1"))
	git(t, typical, "update-ref", "refs/misc/points-at-tag", git(t, typical, "rev-parse", "v1-nested"))
	git(t, typical, "update-ref", "refs/remotes/origin/main", "main")
	git(t, typical, "symbolic-ref", "refs/remotes/origin/HEAD", "refs/remotes/origin/main")
	git(t, typical, "update-ref", "refs/notes/commits", "main~2")
	repos["typical"] = typical

	loose := filepath.Join(root, "loose.git")
	git(t, root, "clone", "-q", "--bare", work, loose)
	repos["all loose, no packed peel data"] = loose
	if err := os.Remove(filepath.Join(loose, "packed-refs")); err == nil {
		for _, r := range strings.Split(git(t, typical, "for-each-ref", "--format=%(objectname) %(refname)", "refs/heads", "refs/tags"), "\n") {
			oid, name, _ := strings.Cut(r, " ")
			git(t, loose, "update-ref", name, oid)
		}
	}

	empty := filepath.Join(root, "empty.git")
	git(t, root, "init", "-q", "--bare", "-b", "main", empty)
	repos["empty (unborn HEAD)"] = empty

	unborn := filepath.Join(root, "unborn.git")
	git(t, root, "clone", "-q", "--bare", work, unborn)
	git(t, unborn, "symbolic-ref", "HEAD", "refs/heads/nothing-yet")
	repos["unborn HEAD with refs"] = unborn

	detached := filepath.Join(root, "detached.git")
	git(t, root, "clone", "-q", "--bare", work, detached)
	if err := os.WriteFile(filepath.Join(detached, "HEAD"), []byte(git(t, detached, "rev-parse", "main~1")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repos["detached HEAD"] = detached

	detachedTag := filepath.Join(root, "detached-tag.git")
	git(t, root, "clone", "-q", "--bare", work, detachedTag)
	if err := os.WriteFile(filepath.Join(detachedTag, "HEAD"), []byte(git(t, detachedTag, "rev-parse", "v1")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	repos["HEAD at a tag object"] = detachedTag

	if !withMany {
		return repos
	}
	many := filepath.Join(root, "many.git")
	git(t, root, "clone", "-q", "--bare", work, many)
	head := git(t, many, "rev-parse", "main")
	tag := git(t, many, "rev-parse", "v1")
	// Written as git writes them (update-ref is slow here: it fsyncs
	// every ref): 5,500 packed refs, sorted, with peel data, and 4,500
	// loose ones in ten directories, one overriding a packed tag.
	packed := strings.Split(git(t, many, "for-each-ref", "--format=%(objectname) %(refname)"), "\n")
	for i := range 5000 {
		packed = append(packed, fmt.Sprintf("%s refs/heads/b/%05d", head, i))
	}
	for i := range 500 {
		packed = append(packed, fmt.Sprintf("%s refs/tags/t%04d", tag, i))
	}
	sort.Slice(packed, func(i, j int) bool {
		return strings.SplitN(packed[i], " ", 2)[1] < strings.SplitN(packed[j], " ", 2)[1]
	})
	var pr strings.Builder
	pr.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	for _, line := range packed {
		pr.WriteString(line + "\n")
		if oid, _, _ := strings.Cut(line, " "); oid == tag || strings.HasSuffix(line, "refs/tags/v1") {
			pr.WriteString("^" + head + "\n")
		} else if strings.Contains(line, "refs/tags/") {
			if p := git(t, many, "rev-parse", oid+"^{}"); p != oid {
				pr.WriteString("^" + p + "\n")
			}
		}
	}
	write(t, filepath.Join(many, "packed-refs"), pr.String())
	for i := range 4500 {
		write(t, filepath.Join(many, fmt.Sprintf("refs/heads/c/%d/%05d", i%10, i)), head+"\n")
	}
	write(t, filepath.Join(many, "refs/tags/t0007"), head+"\n")
	repos["10k refs, packed and loose"] = many
	return repos
}

// reachableOnly is the -c settings of the git_fetch_reachable_only
// instance setting (repos.RestrictFetch).
var reachableOnly = []string{"uploadpack.allowAnySHA1InWant=false", "uploadpack.allowReachableSHA1InWant=true"}

func TestSnapshotAdvertisementIsByteIdenticalToGits(t *testing.T) {
	ctx := context.Background()
	for name, dir := range fixtures(t, true) {
		for _, protocol := range []string{"", "version=1"} {
			for _, config := range [][]string{nil, reachableOnly} {
				t.Run(fmt.Sprintf("%s/%q/%d settings", name, protocol, len(config)), func(t *testing.T) {
					c := &refsnap.Cache{}
					want := gitAdvertisement(t, dir, protocol, config)
					got, ok, err := c.Advertisement(ctx, dir, protocol, config)
					if err != nil {
						t.Fatal(err)
					}
					if !ok {
						// Not learnt yet: git answers once.
						c.Learn(ctx, dir, protocol, config, want)
						if got, ok, err = c.Advertisement(ctx, dir, protocol, config); err != nil || !ok {
							t.Fatalf("no advertisement from the snapshot after learning git's: ok=%v err=%v", ok, err)
						}
					}
					if !bytes.Equal(got, want) {
						t.Fatalf("snapshot advertisement differs from git's\n got: %q\nwant: %q", head(got), head(want))
					}
				})
			}
		}
	}
}

func head(b []byte) []byte { return b[:min(len(b), 2000)] }

func TestSnapshotLsRefsIsByteIdenticalToGits(t *testing.T) {
	ctx := context.Background()
	requests := map[string][]byte{
		"no arguments":        lsRefsRequest(),
		"symrefs":             lsRefsRequest("symrefs"),
		"peel":                lsRefsRequest("peel"),
		"symrefs peel":        lsRefsRequest("symrefs", "peel"),
		"symrefs unborn":      lsRefsRequest("symrefs", "unborn"),
		"unborn without syms": lsRefsRequest("peel", "unborn"),
		"clone": lsRefsRequest("symrefs", "peel", "unborn", "ref-prefix HEAD", "ref-prefix refs/heads/",
			"ref-prefix refs/tags/"),
		"fetch one branch":     lsRefsRequest("symrefs", "peel", "ref-prefix main", "ref-prefix refs/main", "ref-prefix refs/tags/main", "ref-prefix refs/heads/main", "ref-prefix refs/remotes/main", "ref-prefix refs/remotes/main/HEAD"),
		"overlapping prefixes": lsRefsRequest("peel", "ref-prefix refs/heads/", "ref-prefix refs/heads/b/0001", "ref-prefix refs/heads/feature"),
		"glob in prefix":       lsRefsRequest("symrefs", "ref-prefix refs/heads/*", "ref-prefix refs/tags/v1"),
		"remotes and notes":    lsRefsRequest("symrefs", "peel", "ref-prefix refs/remotes/", "ref-prefix refs/notes/"),
		"empty prefix":         lsRefsRequest("ref-prefix "),
		"nothing matches":      lsRefsRequest("symrefs", "ref-prefix refs/nothing/"),
		"no delimiter":         []byte(pkt("command=ls-refs\n") + pkt("agent=git/2.39.5\n") + "0000"),
		"no newlines":          []byte(pkt("command=ls-refs") + pkt("object-format=sha1") + "0001" + pkt("symrefs") + pkt("peel") + "0000"),
	}
	for name, dir := range fixtures(t, true) {
		c := &refsnap.Cache{}
		c.LearnV2Capabilities(dir, "version=2", nil, gitAdvertisement(t, dir, "version=2", nil))
		for rname, req := range requests {
			t.Run(name+"/"+rname, func(t *testing.T) {
				want := gitLsRefs(t, dir, req)
				got, ok, err := c.LsRefs(ctx, dir, "version=2", nil, req)
				if err != nil || !ok {
					t.Fatalf("not answered from the snapshot: ok=%v err=%v", ok, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("ls-refs differs from git's\n got: %q\nwant: %q", head(got), head(want))
				}
			})
		}
	}
}

func TestUnbornIsLeftToGitWhenItsCapabilitiesAreUnknown(t *testing.T) {
	dir := fixtures(t, false)["empty (unborn HEAD)"]
	c := &refsnap.Cache{}
	if _, ok, _ := c.LsRefs(context.Background(), dir, "version=2", nil, lsRefsRequest("symrefs", "unborn")); ok {
		t.Fatal("answered unborn without knowing whether the repository allows it")
	}
	git(t, dir, "config", "lsrefs.unborn", "ignore")
	c.LearnV2Capabilities(dir, "version=2", nil, gitAdvertisement(t, dir, "version=2", nil))
	req := lsRefsRequest("symrefs", "unborn")
	got, ok, err := c.LsRefs(context.Background(), dir, "version=2", nil, req)
	if err != nil || !ok {
		t.Fatalf("ok=%v err=%v", ok, err)
	}
	if want := gitLsRefs(t, dir, req); !bytes.Equal(got, want) {
		t.Fatalf("with lsrefs.unborn=ignore: got %q, want %q", got, want)
	}
}

func TestRequestsTheSnapshotDoesNotModelGoToGit(t *testing.T) {
	for name, req := range map[string][]byte{
		"fetch":               []byte(pkt("command=fetch\n") + "0001" + pkt("done\n") + "0000"),
		"unknown argument":    lsRefsRequest("symrefs", "exclude refs/heads/x"),
		"server option":       []byte(pkt("command=ls-refs\n") + pkt("server-option=x\n") + "0001" + "0000"),
		"other object format": []byte(pkt("command=ls-refs\n") + pkt("object-format=sha256\n") + "0001" + "0000"),
		"trailing data":       append(lsRefsRequest("peel"), []byte(pkt("command=ls-refs\n"))...),
		"truncated":           lsRefsRequest("peel")[:20],
		"response end packet": []byte(pkt("command=ls-refs\n") + "0001" + "0002"),
		"empty packet":        []byte(pkt("command=ls-refs\n") + "0001" + "0004" + "0000"),
		"NUL in an argument":  lsRefsRequest("ref-prefix refs/\x00x"),
		"flush first":         []byte("0000"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, ok := refsnap.ParseLsRefs(req); ok {
				t.Fatalf("%q taken for an ls-refs request the snapshot answers", req)
			}
		})
	}
}

func TestUnusualRepositoriesAreLeftToGit(t *testing.T) {
	ctx := context.Background()
	cases := map[string]func(t *testing.T, dir string){
		"uploadpack.hideRefs": func(t *testing.T, dir string) { git(t, dir, "config", "uploadpack.hideRefs", "refs/heads/feature") },
		"transfer.hideRefs":   func(t *testing.T, dir string) { git(t, dir, "config", "transfer.hideRefs", "refs/tags") },
		"session ids":         func(t *testing.T, dir string) { git(t, dir, "config", "transfer.advertiseSID", "true") },
		"included config":     func(t *testing.T, dir string) { git(t, dir, "config", "include.path", "/dev/null") },
		"shallow repository": func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "shallow"), git(t, dir, "rev-parse", "main")+"\n")
		},
		"broken ref": func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "refs/heads/broken"), strings.Repeat("1", 40)+"\n")
		},
		"ref that is not a ref": func(t *testing.T, dir string) { write(t, filepath.Join(dir, "refs/heads/junk"), "hello\n") },
		"badly named ref": func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "refs/heads/a b"), git(t, dir, "rev-parse", "main")+"\n")
		},
		"dangling symref": func(t *testing.T, dir string) {
			git(t, dir, "symbolic-ref", "refs/heads/dangling", "refs/heads/nowhere")
		},
		"replace refs": func(t *testing.T, dir string) {
			git(t, dir, "update-ref", "refs/replace/"+git(t, dir, "rev-parse", "main"), "main~1")
		},
		"alternate object storage": func(t *testing.T, dir string) {
			write(t, filepath.Join(dir, "objects/info/alternates"), "/nonexistent\n")
		},
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			dir := fixtures(t, false)["typical"]
			c := &refsnap.Cache{}
			c.Learn(ctx, dir, "", nil, gitAdvertisement(t, dir, "", nil))
			if _, ok, _ := c.Advertisement(ctx, dir, "", nil); !ok {
				t.Fatal("the unspoilt repository is not served from its snapshot")
			}
			spoil(t, dir)
			if adv, ok, err := c.Advertisement(ctx, dir, "", nil); ok || err != nil {
				t.Fatalf("served from the snapshot after %s (err %v):\n%q", name, err, head(adv))
			}
			if _, ok, _ := c.LsRefs(ctx, dir, "version=2", nil, lsRefsRequest("peel")); ok {
				t.Fatalf("ls-refs answered from the snapshot after %s", name)
			}
		})
	}
}

func write(t testing.TB, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkAdvertisementFromSnapshot is the cost of one v0 advertisement
// from a cached snapshot: the stat check of its files and the rendering.
func BenchmarkAdvertisementFromSnapshot(b *testing.B) {
	for _, name := range []string{"typical", "10k refs, packed and loose"} {
		b.Run(name, func(b *testing.B) {
			dir := fixtures(b, true)[name]
			// Old enough for the snapshot to be kept (not racy).
			age(b, dir)
			c := &refsnap.Cache{}
			ctx := context.Background()
			c.Learn(ctx, dir, "", nil, gitAdvertisement(b, dir, "", nil))
			b.ResetTimer()
			for range b.N {
				if _, ok, err := c.Advertisement(ctx, dir, "", nil); !ok || err != nil {
					b.Fatalf("ok=%v err=%v", ok, err)
				}
			}
		})
	}
}

// age sets every mtime under dir an hour back.
func age(t testing.TB, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err == nil {
			err = os.Chtimes(p, old, old)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

func TestBuildRidesOutARepackDeletingPacksUnderIt(t *testing.T) {
	dir := fixtures(t, false)["typical"]
	stop := make(chan struct{})
	repacked := make(chan error, 1)
	go func() {
		// Each round adds an object, so each repack writes a pack of a
		// new name and deletes the one before.
		n := 0
		for {
			select {
			case <-stop:
				repacked <- nil
				return
			default:
			}
			n++
			add := exec.Command("git", "--git-dir="+dir, "hash-object", "-w", "--stdin")
			add.Stdin = strings.NewReader(fmt.Sprint("object ", n))
			repack := exec.Command("git", "--git-dir="+dir, "repack", "-a", "-d", "-q")
			for _, c := range []*exec.Cmd{add, repack} {
				if out, err := c.CombinedOutput(); err != nil {
					repacked <- fmt.Errorf("%v: %v\n%s", c.Args, err, out)
					return
				}
			}
		}
	}()
	deadline := time.Now().Add(3 * time.Second)
	builds := 0
	for time.Now().Before(deadline) {
		s, err := refsnap.Build(context.Background(), dir)
		if err != nil {
			close(stop)
			t.Fatalf("build %d during repacks: %v", builds+1, err)
		}
		if s.Unusual != "" {
			close(stop)
			t.Fatalf("build %d during repacks: unusual (%s)", builds+1, s.Unusual)
		}
		builds++
	}
	close(stop)
	if err := <-repacked; err != nil {
		t.Fatal(err)
	}
	t.Logf("%d builds during repacks", builds)
}
