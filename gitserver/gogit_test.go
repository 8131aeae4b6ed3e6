package gitserver_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/gitgate/gitgate/store"
)

// go-git is a second, independent client implementation.
func TestGoGitClonesAndPushes(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev := &githttp.BasicAuth{Username: "developer", Password: f.tokens["developer"]}
	dir := t.TempDir()
	repo, err := git.PlainCloneContext(ctx, dir, false, &git.CloneOptions{URL: f.RepoURL("", "", "grp/private"), Auth: dev})
	if err != nil {
		t.Fatalf("go-git clone: %v", err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gogit.txt"), []byte("from go-git\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add("gogit.txt"); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Go Git", Email: "gogit@example.com", When: time.Now()}
	id, err := wt.Commit("from go-git", &git.CommitOptions{Author: sig})
	if err != nil {
		t.Fatal(err)
	}
	err = repo.PushContext(ctx, &git.PushOptions{Auth: dev, RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/gogit"}})
	if err != nil {
		t.Fatalf("go-git push: %v", err)
	}
	if got := f.remoteRefs(t, "grp/private")["refs/heads/gogit"]; got != id.String() {
		t.Fatalf("gogit = %q after push, want %s", got, id)
	}
	// The protected branch refuses go-git too, naming the rule.
	err = repo.PushContext(ctx, &git.PushOptions{Auth: dev, RefSpecs: []config.RefSpec{"refs/heads/main:refs/heads/main"}})
	if err == nil || !strings.Contains(err.Error(), "protected branch main") {
		t.Fatalf("go-git push to protected main: %v", err)
	}
	// A wrong token is refused.
	_, err = git.PlainCloneContext(ctx, t.TempDir(), false, &git.CloneOptions{URL: f.RepoURL("", "", "grp/private"),
		Auth: &githttp.BasicAuth{Username: "x", Password: "glpat-thisisnotarealtokenatall1"}})
	if err == nil {
		t.Fatal("go-git clone with a wrong token succeeded")
	}
}
