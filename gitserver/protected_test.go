package gitserver_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

func TestProtectedBranchRefusedPerRefWhileOtherRefsLand(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d, nil)
			before := f.remoteRefs(t, "grp/private")["refs/heads/main"]
			dir, r := f.clone(t, f.url("developer", "grp/private"))
			if r.Err != nil {
				t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
			}
			f.commit(t, dir, "dev.txt", "developer change")
			r = f.Git(dir, "push", "origin", "main", "main:topic")
			if r.Err == nil {
				t.Fatal("push to protected main by a developer succeeded")
			}
			const want = "! [remote rejected] main -> main (protected branch main: only maintainers may push)"
			if !strings.Contains(r.Stderr, want) {
				t.Errorf("git push shows:\n%s\nwant the line %q", r.Stderr, want)
			}
			head := strings.TrimSpace(f.MustGit(dir, "rev-parse", "HEAD"))
			refs := f.remoteRefs(t, "grp/private")
			if refs["refs/heads/topic"] != head {
				t.Errorf("topic = %q, want %s: the unprotected ref of the same push must land", refs["refs/heads/topic"], head)
			}
			if refs["refs/heads/main"] != before {
				t.Errorf("main moved to %s despite the refusal", refs["refs/heads/main"])
			}
		})
	}
}

func TestNobodyForcePushesOrDeletesAProtectedBranch(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	for _, who := range []string{"maintainer", "boss"} {
		t.Run(who, func(t *testing.T) {
			dir, r := f.clone(t, f.url(who, "grp/internal"))
			if r.Err != nil {
				t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
			}
			f.commit(t, dir, who+".txt", "fast-forward")
			f.MustGit(dir, "push", "-q", "origin", "main") // maintainers push
			f.MustGit(dir, "commit", "-q", "--amend", "-m", "rewritten")
			r = f.Git(dir, "push", "--force", "origin", "main")
			if want := "! [remote rejected] main -> main (protected branch main cannot be force-pushed)"; r.Err == nil || !strings.Contains(r.Stderr, want) {
				t.Errorf("force-push: err=%v, stderr:\n%s\nwant the line %q", r.Err, r.Stderr, want)
			}
			r = f.Git(dir, "push", "origin", "--delete", "main")
			if want := "! [remote rejected] main (protected branch main cannot be deleted)"; r.Err == nil || !strings.Contains(r.Stderr, want) {
				t.Errorf("delete: err=%v, stderr:\n%s\nwant the line %q", r.Err, r.Stderr, want)
			}
		})
	}
}

func TestForcePushToAnUnprotectedBranch(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	dir, r := f.clone(t, f.url("developer", "grp/private"))
	if r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	f.MustGit(dir, "checkout", "-q", "-b", "topic")
	f.commit(t, dir, "a.txt", "a")
	f.MustGit(dir, "push", "-q", "origin", "topic")
	f.MustGit(dir, "commit", "-q", "--amend", "-m", "rewritten")
	f.MustGit(dir, "push", "-q", "--force", "origin", "topic")
	head := strings.TrimSpace(f.MustGit(dir, "rev-parse", "HEAD"))
	if got := f.remoteRefs(t, "grp/private")["refs/heads/topic"]; got != head {
		t.Fatalf("topic = %s after force-push, want %s", got, head)
	}
}

// Under the default default_branch_protection, 4 (GitLab's "fully
// protected after the initial push"), a developer makes the first push of
// the default branch; where it is 2, only a maintainer may.
func TestDeveloperCreatesTheDefaultBranchOfAnEmptyRepository(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	f.Project("grp/empty", access.Private)
	wt := f.WorkTree()
	f.MustGit(wt, "push", "-q", f.url("developer", "grp/empty"), "main")
	if _, err := f.Server.Auth.UpdateSettings(context.Background(), map[string]string{auth.SettingDefaultBranchProtection: "2"}); err != nil {
		t.Fatal(err)
	}
	f.Project("grp/full", access.Private)
	r := f.Git(wt, "push", f.url("developer", "grp/full"), "main")
	if want := "(protected branch main: only maintainers may push)"; r.Err == nil || !strings.Contains(r.Stderr, want) {
		t.Fatalf("first push under protection 2: err=%v, stderr:\n%s\nwant %q", r.Err, r.Stderr, want)
	}
	// The second push to main is an ordinary protected-branch push.
	f.commit(t, wt, "b.txt", "b")
	r = f.Git(wt, "push", f.url("developer", "grp/empty"), "main")
	if want := "(protected branch main: only maintainers may push)"; r.Err == nil || !strings.Contains(r.Stderr, want) {
		t.Fatalf("second push: err=%v, stderr:\n%s\nwant %q", r.Err, r.Stderr, want)
	}
}

func TestPushRefusesBranchAndTagNamesGitAndGitLabRefuse(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	dir, r := f.clone(t, f.url("maintainer", "grp/internal"))
	if r.Err != nil {
		t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
	}
	f.commit(t, dir, "feat.txt", "feature")
	head := strings.TrimSpace(f.MustGit(dir, "rev-parse", "HEAD"))
	hex := strings.Repeat("ab", 20)
	r = f.Git(dir, "push", "origin", "HEAD:feat", "HEAD:HEAD", "HEAD:refs/heads/-x", "HEAD:refs/heads/refs/heads/main",
		"HEAD:refs/heads/"+hex, "HEAD:refs/tags/HEAD", "HEAD:refs/tags/"+hex, "HEAD:refs/tags/main", "HEAD:refs/tags/v1")
	if r.Err == nil {
		t.Fatal("push with refused names succeeded")
	}
	for _, want := range []string{
		"! [remote rejected] HEAD -> HEAD (You cannot create a branch named HEAD.)",
		"! [remote rejected] HEAD -> -x (You cannot create a branch whose name starts with '-'.)",
		"! [remote rejected] HEAD -> refs/heads/main (You cannot create a branch whose name starts with refs/heads/.)",
		"! [remote rejected] HEAD -> " + hex + " (You cannot create a branch with a 40-character hexadecimal branch name.)",
		"! [remote rejected] HEAD -> HEAD (You cannot create a tag named HEAD.)",
		"! [remote rejected] HEAD -> " + hex + " (You cannot create a tag with a SHA-1 or SHA-256 tag name.)",
		"! [remote rejected] HEAD -> main (You cannot use default branch name to create a tag.)",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("git push shows:\n%s\nwant the line %q", r.Stderr, want)
		}
	}
	refs := f.remoteRefs(t, "grp/internal")
	for _, bad := range []string{"refs/heads/HEAD", "refs/heads/-x", "refs/heads/refs/heads/main", "refs/heads/" + hex,
		"refs/tags/HEAD", "refs/tags/" + hex, "refs/tags/main"} {
		if _, ok := refs[bad]; ok {
			t.Errorf("%s was created", bad)
		}
	}
	// The good refs of the same push land.
	if refs["refs/heads/feat"] != head || refs["refs/tags/v1"] != head {
		t.Errorf("feat = %q, v1 = %q, want both at %s", refs["refs/heads/feat"], refs["refs/tags/v1"], head)
	}
	// Ordinary pushes still work: update, force-push and delete an
	// unprotected branch.
	f.commit(t, dir, "more.txt", "more")
	f.MustGit(dir, "push", "-q", "origin", "HEAD:feat")
	f.MustGit(dir, "commit", "-q", "--amend", "-m", "rewritten")
	f.MustGit(dir, "push", "-q", "--force", "origin", "HEAD:feat")
	f.MustGit(dir, "push", "-q", "origin", "--delete", "feat", "v1")
	refs = f.remoteRefs(t, "grp/internal")
	if _, ok := refs["refs/heads/feat"]; ok {
		t.Error("feat not deleted")
	}
}
