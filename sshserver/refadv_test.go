package sshserver_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/store"
)

// These tests drive both Git doors of one server with the real git
// client: ref advertisements come from the ref snapshot (no git process)
// and always show the refs as they are on disk.

// refsEnv is a server with one repository, "alice/refs", holding a few
// branches and tags, and the credentials to reach it over both doors.
type refsEnv struct {
	*sshEnv
	httpURL, sshURL string
	sshGit          []string
	dir             string // the repository on disk
	work            string // a work tree that pushed it
}

func newRefsEnv(t *testing.T, d store.Dialect) *refsEnv {
	t.Helper()
	e := startSSH(t, testenv.Options{Dialect: d})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	proj := e.Project("alice/refs", access.Private)
	r := &refsEnv{sshEnv: e, httpURL: e.RepoURL("alice", e.Token(alice, "write_repository"), "alice/refs"),
		sshURL: e.sshURL("alice/refs"), sshGit: e.keyGit(kp), dir: e.Server.Repos.DiskPath(proj.ID), work: e.WorkTree()}
	r.MustGit(r.work, "branch", "feature/a")
	r.MustGit(r.work, "tag", "-a", "v1", "-m", "annotated")
	r.MustGit(r.work, "tag", "-a", "v1-of-v1", "-m", "nested", "v1")
	r.MustGit(r.work, "tag", "light")
	r.MustGit(r.work, "push", "-q", r.httpURL, "--all")
	r.MustGit(r.work, "push", "-q", r.httpURL, "--tags")
	return r
}

// onDisk is what git itself advertises for the repository: `git
// ls-remote` of the directory, with the server's protocol.
func (r *refsEnv) onDisk(t *testing.T) string {
	t.Helper()
	return r.MustGit("", "ls-remote", "--symref", r.dir)
}

// lsRemote runs git ls-remote --symref through a door.
func (r *refsEnv) lsRemote(t *testing.T, door string, protocol string) string {
	t.Helper()
	var res testenv.Result
	switch door {
	case "http":
		res = r.Git("", "-c", "protocol.version="+protocol, "ls-remote", "--symref", r.httpURL)
	case "ssh":
		res = r.GitEnv("", r.sshGit, "-c", "protocol.version="+protocol, "ls-remote", "--symref", r.sshURL)
	}
	if res.Err != nil {
		t.Fatalf("ls-remote over %s (protocol %s): %v\n%s", door, protocol, res.Err, res.Stderr)
	}
	return res.Stdout
}

func counterValue(t *testing.T, c prometheus.Metric) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func (r *refsEnv) gitStarted(t *testing.T) float64 {
	return counterValue(t, r.Server.Metrics.GitProcessesStarted)
}

// doors are the (door, protocol version) pairs the tests go through: git
// 2.39 speaks v2 by default; v0 and v1 come from older clients or
// configuration. (SSH v0/v1 stays on git.)
var doors = []struct{ door, protocol string }{{"http", "2"}, {"http", "1"}, {"http", "0"}, {"ssh", "2"}}

func TestLsRemoteAndNoopFetchStartNoGitProcess(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			r := newRefsEnv(t, d)
			want := r.onDisk(t)
			clone := filepath.Join(t.TempDir(), "clone")
			if res := r.GitEnv("", r.sshGit, "clone", "-q", r.sshURL, clone); res.Err != nil {
				t.Fatalf("clone: %v\n%s", res.Err, res.Stderr)
			}
			// The first advertisement of each kind may ask git for the
			// repository's capabilities.
			for _, dp := range doors {
				r.lsRemote(t, dp.door, dp.protocol)
			}
			before := r.gitStarted(t)
			for _, dp := range doors {
				if got := r.lsRemote(t, dp.door, dp.protocol); got != want {
					t.Errorf("ls-remote over %s v%s:\n%s\nwant (git on disk):\n%s", dp.door, dp.protocol, got, want)
				}
			}
			for _, dp := range doors {
				remote, env := r.httpURL, []string(nil)
				if dp.door == "ssh" {
					remote, env = r.sshURL, r.sshGit
				}
				res := r.GitEnv(clone, env, "-c", "protocol.version="+dp.protocol, "fetch", remote, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
				if res.Err != nil {
					t.Fatalf("no-op fetch over %s v%s: %v\n%s", dp.door, dp.protocol, res.Err, res.Stderr)
				}
			}
			if started := r.gitStarted(t) - before; started != 0 {
				t.Errorf("ls-remote and no-op fetches started %v git processes, want 0", started)
			}
			metrics := scrape(t, r.URL)
			if !strings.Contains(metrics, `gitgate_ref_advertisements_total{source="snapshot"}`) {
				t.Errorf("metrics lack the snapshot advertisements:\n%s", grep(metrics, "gitgate_ref_"))
			}
		})
	}
}

func grep(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestFetchOverSSHProtocolV2StillGetsNewCommits(t *testing.T) {
	r := newRefsEnv(t, store.SQLite)
	clone := filepath.Join(t.TempDir(), "clone")
	if res := r.GitEnv("", r.sshGit, "clone", "-q", r.sshURL, clone); res.Err != nil {
		t.Fatalf("clone: %v\n%s", res.Err, res.Stderr)
	}
	for i := range 3 {
		r.commitAndPush(t, "main", fmt.Sprint("more ", i))
	}
	before := r.gitStarted(t)
	if res := r.GitEnv(clone, r.sshGit, "fetch", "origin"); res.Err != nil {
		t.Fatalf("fetch: %v\n%s", res.Err, res.Stderr)
	}
	if got, want := strings.TrimSpace(r.MustGit(clone, "rev-parse", "origin/main")), strings.TrimSpace(r.MustGit(r.work, "rev-parse", "main")); got != want {
		t.Fatalf("fetched origin/main %s, pushed %s", got, want)
	}
	// One stateless upload-pack for the one fetch request, none for
	// the advertisement.
	if started := r.gitStarted(t) - before; started != 1 {
		t.Errorf("the fetch started %v git processes, want 1", started)
	}
	if res := r.GitEnv(clone, r.sshGit, "fsck", "--strict"); res.Err != nil {
		t.Fatalf("fsck of the fetched clone: %v\n%s", res.Err, res.Stderr)
	}
}

func (r *refsEnv) commitAndPush(t *testing.T, branch, msg string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(r.work, "f.txt"), []byte(msg), 0o644); err != nil {
		t.Fatal(err)
	}
	r.MustGit(r.work, "add", ".")
	r.MustGit(r.work, "commit", "-q", "-m", msg)
	r.MustGit(r.work, "push", "-q", r.httpURL, "HEAD:refs/heads/"+branch)
}

func TestPushedRefsAreAdvertisedAtOnceOnBothDoors(t *testing.T) {
	r := newRefsEnv(t, store.SQLite)
	for _, dp := range doors {
		r.lsRemote(t, dp.door, dp.protocol)
	}
	for i, push := range []string{"http", "ssh"} {
		branch := fmt.Sprintf("pushed-over-%s", push)
		r.MustGit(r.work, "commit", "-q", "--allow-empty", "-m", branch)
		remote, env := r.httpURL, []string(nil)
		if push == "ssh" {
			remote, env = r.sshURL, r.sshGit
		}
		refspecs := []string{"HEAD:refs/heads/" + branch, fmt.Sprintf("HEAD:refs/tags/t%d", i)}
		if i == 0 {
			refspecs = append(refspecs, ":refs/heads/feature/a")
		}
		if res := r.GitEnv(r.work, env, append([]string{"push", "-q", remote}, refspecs...)...); res.Err != nil {
			t.Fatalf("push over %s: %v\n%s", push, res.Err, res.Stderr)
		}
		want := r.onDisk(t)
		if !strings.Contains(want, "refs/heads/"+branch) {
			t.Fatalf("the push over %s did not land:\n%s", push, want)
		}
		for _, dp := range doors {
			if got := r.lsRemote(t, dp.door, dp.protocol); got != want {
				t.Errorf("after a push over %s, ls-remote over %s v%s:\n%s\nwant:\n%s", push, dp.door, dp.protocol, got, want)
			}
		}
	}
}

func TestRefsChangedByGitOnDiskAreSeen(t *testing.T) {
	r := newRefsEnv(t, store.SQLite)
	for _, dp := range doors {
		r.lsRemote(t, dp.door, dp.protocol)
	}
	head := strings.TrimSpace(r.MustGit(r.work, "rev-parse", "main~0"))
	for _, change := range [][]string{
		{"update-ref", "refs/heads/made-on-disk", head},
		{"pack-refs", "--all"},
		{"update-ref", "-d", "refs/heads/feature/a"},
		{"tag", "-a", "-m", "on disk", "disk-tag", head},
		{"symbolic-ref", "HEAD", "refs/heads/made-on-disk"},
	} {
		cmd := exec.CommandContext(context.Background(), "git", append([]string{"--git-dir=" + r.dir}, change...)...)
		cmd.Env = append(os.Environ(), "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(change, " "), err, out)
		}
		want := r.onDisk(t)
		for _, dp := range doors {
			if got := r.lsRemote(t, dp.door, dp.protocol); got != want {
				t.Errorf("after git %s on disk, ls-remote over %s v%s:\n%s\nwant:\n%s", change[0], dp.door, dp.protocol, got, want)
			}
		}
	}
}

func TestHiddenRefsAreLeftToGit(t *testing.T) {
	r := newRefsEnv(t, store.SQLite)
	r.MustGit(r.work, "push", "-q", r.httpURL, "HEAD:refs/heads/secret/x")
	for _, dp := range doors {
		r.lsRemote(t, dp.door, dp.protocol)
	}
	r.MustGit("", "--git-dir="+r.dir, "config", "uploadpack.hideRefs", "refs/heads/secret")
	want := r.onDisk(t)
	if strings.Contains(want, "secret") {
		t.Fatalf("git on disk does not hide the ref:\n%s", want)
	}
	before := r.gitStarted(t)
	for _, dp := range doors {
		if got := r.lsRemote(t, dp.door, dp.protocol); got != want {
			t.Errorf("with hidden refs, ls-remote over %s v%s:\n%s\nwant (git on disk):\n%s", dp.door, dp.protocol, got, want)
		}
	}
	if started := r.gitStarted(t) - before; started < float64(len(doors)) {
		t.Errorf("with hidden refs, %v git processes started for %d ls-remotes: the snapshot answered", started, len(doors))
	}
}
