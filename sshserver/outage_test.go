package sshserver_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// With PostgreSQL unreachable an SSH client is told to come back later,
// in words, rather than get the bare "Permission denied" of a removed key
// or revoked token; once PostgreSQL is back it gets in again, without a
// restart.
func TestDatabaseOutageTellsSSHClientsToRetryAndServiceComesBack(t *testing.T) {
	proxy := testenv.StartProxy(t)
	via := proxy.Via(testdb.URL(t, store.Postgres))
	e := startSSH(t, testenv.Options{Dialect: store.Postgres, Configure: func(c *server.Config) { c.DatabaseURL = via }})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	token := e.Token(alice, auth.ScopeReadRepository)
	e.Project("alice/proj", access.Private)
	if r := e.pushNew(e.keyGit(kp), e.sshURL("alice/proj"), "main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	// OpenSSH as git runs it: at its default log level, which shows
	// banners (the tests' usual LogLevel=ERROR would hide them).
	base := "ssh -F /dev/null -o IdentityAgent=none -o UserKnownHostsFile=" + e.knownHosts + " -o StrictHostKeyChecking=accept-new"
	doors := map[string][]string{
		"key":   {"GIT_SSH_COMMAND=" + base + " -o BatchMode=yes -o IdentitiesOnly=yes -i " + kp.path},
		"token": {"SSHPASS=" + token, "GIT_SSH_VARIANT=ssh", "GIT_SSH_COMMAND=sshpass -e " + base + " -o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1"},
	}
	clone := func(env []string) testenv.Result {
		return e.GitEnv("", env, "clone", "-q", e.sshURL("alice/proj"), filepath.Join(t.TempDir(), "c"))
	}
	proxy.Break()
	for name, env := range doors {
		r := clone(env)
		if r.Err == nil || !strings.Contains(r.Stderr, "gitgate is temporarily unavailable, please try again later") {
			t.Errorf("%s: clone with PostgreSQL unreachable: %v\n%s\nwant the unavailable message", name, r.Err, r.Stderr)
		}
	}
	proxy.Restore()
	for name, env := range doors {
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			r := clone(env)
			if r.Err == nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: clone after PostgreSQL came back: %v\n%s", name, r.Err, r.Stderr)
			}
		}
	}
}
