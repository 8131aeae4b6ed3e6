package sshserver_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing/object"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/sshserver"
)

// go-git is a second, independent SSH client: its own SSH stack
// (x/crypto), its own command quoting, protocol v0.
func TestSSHGoGitClonesAndPushesWithKeyAndToken(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	fps, err := sshserver.HostKeyFingerprints(e.Server.Config().DataDir)
	if err != nil {
		t.Fatal(err)
	}
	// Check the host key against the fingerprints the CLI would print.
	hostKey := func(_ string, _ net.Addr, key gossh.PublicKey) error {
		for _, fp := range fps {
			if fp == key.Type()+" "+gossh.FingerprintSHA256(key) {
				return nil
			}
		}
		return errors.New("unknown host key " + gossh.FingerprintSHA256(key))
	}
	pem, err := os.ReadFile(kp.path)
	if err != nil {
		t.Fatal(err)
	}
	keyAuth, err := gitssh.NewPublicKeys("git", pem, "")
	if err != nil {
		t.Fatal(err)
	}
	keyAuth.HostKeyCallback = hostKey
	writeToken := e.Token(alice, auth.ScopeWriteRepository)
	readToken := e.Token(alice, auth.ScopeReadRepository)
	tokenAuth := func(token string) *gitssh.Password {
		return &gitssh.Password{User: "git", Password: token, HostKeyCallbackHelper: gitssh.HostKeyCallbackHelper{HostKeyCallback: hostKey}}
	}

	// Push a first commit with the key.
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	commit(t, repo, dir, "README.md")
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{e.sshURL("alice/proj")}}); err != nil {
		t.Fatal(err)
	}
	if err := repo.Push(&git.PushOptions{Auth: keyAuth, RefSpecs: []config.RefSpec{"refs/heads/master:refs/heads/main"}}); err != nil {
		t.Fatalf("go-git push with key: %v", err)
	}

	// Clone with a read token, push with a write token.
	clone := t.TempDir()
	if _, err := git.PlainClone(clone, false, &git.CloneOptions{URL: e.sshURL("alice/proj"), Auth: tokenAuth(readToken)}); err != nil {
		t.Fatalf("go-git clone with read token: %v", err)
	}
	if _, err := os.Stat(filepath.Join(clone, "README.md")); err != nil {
		t.Fatalf("clone lacks README.md: %v", err)
	}
	commit(t, repo, dir, "second.txt")
	err = repo.Push(&git.PushOptions{Auth: tokenAuth(readToken), RefSpecs: []config.RefSpec{"refs/heads/master:refs/heads/feature"}})
	if err == nil || !strings.Contains(err.Error(), "write_repository") {
		t.Fatalf("go-git push with a read token: %v, want the missing scope named", err)
	}
	if err := repo.Push(&git.PushOptions{Auth: tokenAuth(writeToken), RefSpecs: []config.RefSpec{"refs/heads/master:refs/heads/feature"}}); err != nil {
		t.Fatalf("go-git push with write token: %v", err)
	}
}

func commit(t *testing.T, repo *git.Repository, dir, file string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(file+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wt.Add(file); err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "Test", Email: "test@example.com", When: time.Now()}
	if _, err := wt.Commit("add "+file, &git.CommitOptions{Author: sig}); err != nil {
		t.Fatal(err)
	}
}
