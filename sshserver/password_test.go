package sshserver_test

import (
	"context"
	"net/http"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// SSH takes tokens as passwords, never account passwords: an account
// password sent over SSH is refused without computing a password hash,
// so the SSH door gives a password flood nothing to spend memory on.
func TestSSHPasswordsNeverReachThePasswordHash(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	e.User("alice", testenv.UserOpts{Password: "alices-account-password"})
	before := e.Server.Auth.PasswordStats()
	for _, user := range []string{"git", "alice"} {
		if c, err := e.dialRaw(user, gossh.Password("alices-account-password")); err == nil {
			c.Close()
			t.Fatalf("an account password logged in over SSH as %s", user)
		}
	}
	if got := e.Server.Auth.PasswordStats().Verified - before.Verified; got != 0 {
		t.Fatalf("SSH password attempts computed %d password hashes", got)
	}
}

// A password lockout (docs/authentication.md) locks the password only:
// the account's SSH keys and tokens keep working over SSH.
func TestSSHKeysAndTokensWorkWhileTheAccountIsLocked(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{Password: "alices-account-password"})
	e.Project("alice/proj", access.Private)
	kp := e.userKey(alice)
	token := e.Token(alice, auth.ScopeReadRepository)
	for range auth.MaxFailedLogins {
		req, _ := http.NewRequest("GET", e.URL+"/alice/proj.git/info/refs?service=git-upload-pack", nil)
		req.SetBasicAuth("alice", "a-wrong-password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("wrong password over HTTP: %d", resp.StatusCode)
		}
	}
	u, err := e.Server.Auth.User(context.Background(), alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Server.Auth.Locked(u) {
		t.Fatalf("account not locked after %d wrong passwords", auth.MaxFailedLogins)
	}
	if r := e.GitEnv("", e.keyGit(kp), "ls-remote", e.sshURL("alice/proj")); r.Err != nil {
		t.Errorf("SSH key of a locked account: %v\n%s", r.Err, r.Stderr)
	}
	if r := e.GitEnv("", e.tokenGit(token), "ls-remote", e.sshURL("alice/proj")); r.Err != nil {
		t.Errorf("token over SSH of a locked account: %v\n%s", r.Err, r.Stderr)
	}
}
