package sshserver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/sshserver"
	"github.com/gitgate/gitgate/store"
)

func TestSSHKeyClonesFetchesAndPushes(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			e := startSSH(t, testenv.Options{Dialect: d})
			alice := e.User("alice", testenv.UserOpts{})
			kp := e.userKey(alice)
			e.Project("alice/proj", access.Private)
			env := e.keyGit(kp)

			if r := e.pushNew(env, e.sshURL("alice/proj"), "main:main"); r.Err != nil {
				t.Fatalf("first push over ssh: %v\n%s", r.Err, r.Stderr)
			}
			clone := filepath.Join(t.TempDir(), "clone")
			if r := e.GitEnv("", env, "clone", e.sshURL("alice/proj"), clone); r.Err != nil {
				t.Fatalf("clone over ssh: %v\n%s", r.Err, r.Stderr)
			}
			if _, err := os.Stat(filepath.Join(clone, "README.md")); err != nil {
				t.Fatalf("clone has no README.md: %v", err)
			}
			// A second commit pushed from the clone, fetched by another clone.
			if err := os.WriteFile(filepath.Join(clone, "b.txt"), []byte("b\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			e.MustGit(clone, "add", ".")
			e.MustGit(clone, "commit", "-q", "-m", "second")
			if r := e.GitEnv(clone, env, "push", "origin", "main"); r.Err != nil {
				t.Fatalf("push from clone: %v\n%s", r.Err, r.Stderr)
			}
			other := filepath.Join(t.TempDir(), "other")
			if r := e.GitEnv("", env, "clone", "-q", e.sshURL("alice/proj"), other); r.Err != nil {
				t.Fatalf("second clone: %v\n%s", r.Err, r.Stderr)
			}
			if r := e.GitEnv(other, env, "fetch", "origin"); r.Err != nil {
				t.Fatalf("fetch: %v\n%s", r.Err, r.Stderr)
			}
			if got, want := strings.TrimSpace(e.MustGit(other, "rev-parse", "origin/main")), strings.TrimSpace(e.MustGit(clone, "rev-parse", "HEAD")); got != want {
				t.Fatalf("fetched origin/main = %s, pushed %s", got, want)
			}
			// git archive --remote runs git-upload-archive.
			if r := e.GitEnv("", env, "archive", "--remote="+e.sshURL("alice/proj"), "--output="+filepath.Join(t.TempDir(), "a.tar"), "main"); r.Err != nil {
				t.Fatalf("archive over ssh: %v\n%s", r.Err, r.Stderr)
			}
			metrics := scrape(t, e.URL)
			for _, want := range []string{
				`gitgate_git_operations_total{result="ok",service="git-receive-pack",transport="ssh"} 2`,
				`gitgate_git_operations_total{result="ok",service="git-upload-pack",transport="ssh"}`,
				`gitgate_git_operations_total{result="ok",service="git-upload-archive",transport="ssh"} 1`,
				`gitgate_auth_attempts_total{method="ssh_key",result="success",transport="ssh"}`,
				`gitgate_ssh_sessions_total{result="ok"}`,
			} {
				if !strings.Contains(metrics, want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

func TestSSHPushFollowsTheKeyOwnersPermissions(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	rita := e.User("rita", testenv.UserOpts{})
	dev := e.User("dev", testenv.UserOpts{})
	e.Project("alice/proj", access.Private)
	e.Member("alice/proj", rita, access.Reporter)
	e.Member("alice/proj", dev, access.Developer)
	if r := e.pushNew(e.keyGit(e.userKey(alice)), e.sshURL("alice/proj"), "main:main"); r.Err != nil {
		t.Fatalf("owner push: %v\n%s", r.Err, r.Stderr)
	}

	reporter := e.keyGit(e.userKey(rita))
	if r := e.GitEnv("", reporter, "clone", "-q", e.sshURL("alice/proj"), filepath.Join(t.TempDir(), "c")); r.Err != nil {
		t.Fatalf("reporter clone: %v\n%s", r.Err, r.Stderr)
	}
	r := e.pushNew(reporter, e.sshURL("alice/proj"), "main:refs/heads/feature")
	if r.Err == nil || !strings.Contains(r.Stderr, "ERROR: "+access.MsgNoPush) {
		t.Fatalf("reporter push: err=%v, want refusal %q\n%s", r.Err, access.MsgNoPush, r.Stderr)
	}

	// A developer pushes a branch, but the protected default branch is
	// refused per ref by the receive hook.
	devEnv := e.keyGit(e.userKey(dev))
	clone := filepath.Join(t.TempDir(), "dev")
	e.GitEnv("", devEnv, "clone", "-q", e.sshURL("alice/proj"), clone)
	if err := os.WriteFile(filepath.Join(clone, "d.txt"), []byte("d\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.MustGit(clone, "add", ".")
	e.MustGit(clone, "commit", "-q", "-m", "dev")
	if r := e.GitEnv(clone, devEnv, "push", "origin", "HEAD:refs/heads/feature"); r.Err != nil {
		t.Fatalf("developer push to a branch: %v\n%s", r.Err, r.Stderr)
	}
	r = e.GitEnv(clone, devEnv, "push", "origin", "HEAD:main")
	if r.Err == nil || !strings.Contains(r.Stderr, "[remote rejected]") || !strings.Contains(r.Stderr, "protected branch") {
		t.Fatalf("developer push to protected main: err=%v\n%s", r.Err, r.Stderr)
	}

	// Someone without access cannot tell the repository exists.
	mallory := e.User("mallory", testenv.UserOpts{})
	r = e.GitEnv("", e.keyGit(e.userKey(mallory)), "clone", "-q", e.sshURL("alice/proj"), filepath.Join(t.TempDir(), "m"))
	if r.Err == nil || !strings.Contains(r.Stderr, "ERROR: "+access.MsgNotFound) {
		t.Fatalf("outsider clone: err=%v\n%s", r.Err, r.Stderr)
	}
}

func TestSSHTokenAsPasswordFollowsItsScopes(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{TwoFA: true})
	e.Project("alice/proj", access.Private)
	read := e.Token(alice, auth.ScopeReadRepository)
	write := e.Token(alice, auth.ScopeWriteRepository)

	// The SSH user name is ignored for tokens, as for HTTP.
	if r := e.runSSHToken("anything", write); r.exit != 0 || r.stdout != "Welcome to gitgate, @alice!\n" {
		t.Fatalf("welcome with a token: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
	if r := e.pushNew(e.tokenGit(write), e.sshURL("alice/proj"), "main:main"); r.Err != nil {
		t.Fatalf("push with a write_repository token: %v\n%s", r.Err, r.Stderr)
	}
	if r := e.GitEnv("", e.tokenGit(read), "clone", "-q", e.sshURL("alice/proj"), filepath.Join(t.TempDir(), "c")); r.Err != nil {
		t.Fatalf("clone with a read_repository token: %v\n%s", r.Err, r.Stderr)
	}
	r := e.pushNew(e.tokenGit(read), e.sshURL("alice/proj"), "main:refs/heads/other")
	if r.Err == nil || !strings.Contains(r.Stderr, "write_repository") {
		t.Fatalf("push with a read_repository token: err=%v, want the missing scope named\n%s", r.Err, r.Stderr)
	}
	// An account password is never accepted over SSH.
	e.User("bob", testenv.UserOpts{Password: "bob-password-123456"})
	if r := e.runSSHToken("bob", "bob-password-123456"); r.exit != 255 {
		t.Fatalf("account password over ssh: exit %d, stdout %q", r.exit, r.stdout)
	}
	if !strings.Contains(scrape(t, e.URL), `gitgate_auth_attempts_total{method="token",result="success",transport="ssh"}`) {
		t.Error("metrics lack successful ssh token attempts")
	}
}

func TestSSHRevokedOrExpiredTokenIsRefused(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	ctx := context.Background()
	revoked := e.Token(alice, auth.ScopeAPI)
	if r := e.runSSHToken("git", revoked); r.exit != 0 {
		t.Fatalf("token before revocation: exit %d %s", r.exit, r.stderr)
	}
	if _, err := e.Server.Auth.RevokeTokenBySecret(ctx, revoked); err != nil {
		t.Fatal(err)
	}
	if r := e.runSSHToken("git", revoked); r.exit != 255 || strings.Contains(r.stdout, "Welcome") {
		t.Fatalf("revoked token: exit %d, stdout %q", r.exit, r.stdout)
	}
	yesterday := auth.AddDays(auth.Today(time.Now()), -1)
	expired, err := e.Server.Auth.CreateToken(ctx, auth.NewToken{UserID: alice.ID, Name: "old", Scopes: []string{auth.ScopeAPI},
		ExpiresAt: &yesterday, AllowPastExpiry: true})
	if err != nil {
		t.Fatal(err)
	}
	if r := e.runSSHToken("git", expired.Secret); r.exit != 255 || strings.Contains(r.stdout, "Welcome") {
		t.Fatalf("expired token: exit %d, stdout %q", r.exit, r.stdout)
	}
}

func TestSSHBlockedUsersKeyIsRefused(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	if r := e.runSSH(kp); r.exit != 0 {
		t.Fatalf("key before blocking: exit %d %s", r.exit, r.stderr)
	}
	// A connection made before the block stops working at its next session.
	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := e.Server.Auth.SetBlocked(context.Background(), alice.ID, true); err != nil {
		t.Fatal(err)
	}
	if r := e.runSSH(kp); r.exit != 255 || strings.Contains(r.stdout, "Welcome") {
		t.Fatalf("blocked user's key: exit %d, stdout %q", r.exit, r.stdout)
	}
	if r := rawRun(t, c, ""); r.exit == 0 || strings.Contains(r.stdout, "Welcome") || !strings.HasPrefix(r.stderr, "ERROR: ") {
		t.Fatalf("session on a connection opened before the block: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
}

func TestSSHWelcomeNamesTheUser(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	kp := e.userKey(e.User("alice", testenv.UserOpts{}))
	r := e.runSSH(kp)
	if r.exit != 0 || r.stdout != "Welcome to gitgate, @alice!\n" {
		t.Fatalf("ssh git@host: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
	// Key logins are for the user git only.
	args := append(e.sshOpts(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", kp.path, "-p", e.port, "alice@"+e.host)
	if r := e.runClient("ssh", nil, args...); r.exit != 255 {
		t.Fatalf("key login as alice@: exit %d, stdout %q", r.exit, r.stdout)
	}
	// An unknown key gets nowhere.
	if r := e.runSSH(newKey(t)); r.exit != 255 {
		t.Fatalf("unknown key: exit %d, stdout %q", r.exit, r.stdout)
	}
}

func TestSSHHostKeyIsKeptAcrossRestarts(t *testing.T) {
	dataDir := t.TempDir()
	keep := func(c *server.Config) { c.DataDir = dataDir }
	knownHosts := filepath.Join(t.TempDir(), "known_hosts")
	// HostKeyAlias files the key under one name whatever the port, so the
	// restarted server (on a new port) must present the very same key.
	login := func(e *sshEnv, kp keyPair, strict string) sshResult {
		args := []string{"-F", "/dev/null", "-o", "IdentityAgent=none", "-o", "UserKnownHostsFile=" + knownHosts,
			"-o", "StrictHostKeyChecking=" + strict, "-o", "HostKeyAlias=gitgate-test", "-o", "LogLevel=ERROR",
			"-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", kp.path, "-p", e.port, "git@" + e.host}
		return e.runClient("ssh", nil, args...)
	}

	first := startSSH(t, testenv.Options{Configure: keep})
	kp := first.userKey(first.User("alice", testenv.UserOpts{}))
	if r := login(first, kp, "accept-new"); r.exit != 0 {
		t.Fatalf("first server: exit %d %s", r.exit, r.stderr)
	}
	fps, err := sshserver.HostKeyFingerprints(dataDir)
	if err != nil || len(fps) != 2 {
		t.Fatalf("host key fingerprints: %v %v", fps, err)
	}
	for _, name := range []string{"ssh_host_ed25519_key", "ssh_host_rsa_key"} {
		fi, err := os.Stat(filepath.Join(dataDir, sshserver.HostKeyDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %v, want 0600", name, fi.Mode().Perm())
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := first.Server.Shutdown(ctx); err != nil {
		t.Fatalf("shutdown: %v", err)
	}

	second := startSSH(t, testenv.Options{Configure: keep}) // same data dir, same SQLite database
	if r := login(second, kp, "yes"); r.exit != 0 || r.stdout != "Welcome to gitgate, @alice!\n" {
		t.Fatalf("restarted server with strict host key checking: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
	again, err := sshserver.HostKeyFingerprints(dataDir)
	if err != nil || strings.Join(again, "\n") != strings.Join(fps, "\n") {
		t.Fatalf("fingerprints after restart %v, before %v (%v)", again, fps, err)
	}
	if !strings.HasPrefix(fps[0], "ssh-ed25519 SHA256:") || !strings.HasPrefix(fps[1], "ssh-rsa SHA256:") {
		t.Errorf("fingerprints %q", fps)
	}
}

func TestSSHPersonalAccessTokenCommandCreatesAWorkingToken(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	if r := e.pushNew(e.keyGit(kp), e.sshURL("alice/proj"), "main:main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	r := e.runSSH(kp, "personal_access_token", "laptop", "read_repository,read_api", "7")
	if r.exit != 0 {
		t.Fatalf("personal_access_token: exit %d, stderr %q", r.exit, r.stderr)
	}
	m := regexp.MustCompile(`^Token:   (glpat-[0-9A-Za-z]{20,})\nScopes:  read_repository,read_api\nExpires: (\d{4}-\d{2}-\d{2})\n$`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("output %q is not GitLab Shell's", r.stdout)
	}
	if want := auth.AddDays(auth.Today(time.Now()), 7).Format(auth.DateLayout); m[2] != want {
		t.Errorf("expires %s, want today + 7 = %s", m[2], want)
	}
	if r := e.Git("", "clone", "-q", e.RepoURL("alice", m[1], "alice/proj"), filepath.Join(t.TempDir(), "http")); r.Err != nil {
		t.Fatalf("clone over HTTP with the new token: %v\n%s", r.Err, r.Stderr)
	}

	// Without days: the default expiry (today + 30).
	r = e.runSSH(kp, "personal_access_token", "ci", "api")
	if want := "Expires: " + auth.AddDays(auth.Today(time.Now()), auth.DefaultExpiryDays).Format(auth.DateLayout) + "\n"; r.exit != 0 || !strings.HasSuffix(r.stdout, want) {
		t.Fatalf("default expiry: exit %d, stdout %q, want suffix %q", r.exit, r.stdout, want)
	}

	refusals := []struct {
		args []string
		want string
	}{
		{[]string{"personal_access_token", "x"}, "ERROR: Usage: personal_access_token"},
		{[]string{"personal_access_token", "x", "api", "soon"}, "ERROR: Invalid value for days_ttl: 'soon'"},
		{[]string{"personal_access_token", "x", "admin_everything"}, "ERROR: unknown scope"},
		{[]string{"personal_access_token", "x", "sudo,api"}, "ERROR: the sudo scope is allowed only"},
		{[]string{"personal_access_token", "x", "api", "0"}, "ERROR: expiration date"},
	}
	for _, c := range refusals {
		if r := e.runSSH(kp, c.args...); r.exit == 0 || !strings.HasPrefix(r.stderr, c.want) || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q, want one line starting %q", c.args, r.exit, r.stderr, c.want)
		}
	}
	// The instance's lifetime limit applies here too.
	if _, err := e.Server.Auth.UpdateSettings(context.Background(), map[string]string{"max_personal_access_token_lifetime": "10"}); err != nil {
		t.Fatal(err)
	}
	if r := e.runSSH(kp, "personal_access_token", "x", "api", "11"); r.exit == 0 || !strings.Contains(r.stderr, "maximum allowable lifetime") {
		t.Errorf("beyond the lifetime limit: exit %d, stderr %q", r.exit, r.stderr)
	}
	// Only a key login may mint tokens: a token cannot breed tokens.
	tok := e.Token(alice, auth.ScopeAPI)
	if r := e.runSSHToken("git", tok, "personal_access_token", "y", "api"); r.exit == 0 || !strings.HasPrefix(r.stderr, "ERROR: ") {
		t.Errorf("personal_access_token with a token login: exit %d, stdout %q, stderr %q", r.exit, r.stdout, r.stderr)
	}
}

func TestSSHRefusesMalformedCommands(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for _, cmd := range []string{
		"git-upload-pack '../../etc'",
		"git-upload-pack 'alice/../../../etc'",
		"git-upload-pack 'alice/proj' 'alice/proj'",
		"git-upload-pack 'alice/proj' --upload-pack=touch",
		"git-upload-pack 'alice/proj'; rm -rf /",
		"git-upload-pack 'alice/proj' && id",
		"git-upload-pack `id`",
		"git-upload-pack '`id`'",
		"git-upload-pack $(id)",
		`git-upload-pack "$(touch /tmp/gitgate-pwned)"`,
		"git-upload-pack alice/proj",
		"git-upload-pack 'alice/proj'\nid",
		"sh -c id",
		"id",
		"scp -t /tmp",
		"git-upload-pack 'alice/nope'",
	} {
		r := rawRun(t, c, cmd)
		if r.exit == 0 || !strings.HasPrefix(r.stderr, "ERROR: ") || strings.Count(r.stderr, "\n") != 1 || r.stdout != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want one ERROR line and a non-zero exit", cmd, r.exit, r.stdout, r.stderr)
		}
	}
	// The same through OpenSSH, which joins its arguments with spaces.
	if r := e.runSSH(kp, "git-upload-pack", "'alice/proj';", "rm", "-rf", "/"); r.exit == 0 || !strings.HasPrefix(r.stderr, "ERROR: ") {
		t.Errorf("openssh metacharacters: exit %d, stderr %q", r.exit, r.stderr)
	}
	// Subsystems (sftp) are not served.
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestSubsystem("sftp"); err == nil {
		t.Error("sftp subsystem accepted")
	}
}

func TestSSHNegotiatesProtocolV2(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	env := e.keyGit(kp)
	if r := e.pushNew(env, e.sshURL("alice/proj"), "main:main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	r := e.GitEnv("", append(env, "GIT_TRACE_PACKET=1"), "-c", "protocol.version=2", "ls-remote", e.sshURL("alice/proj"))
	if r.Err != nil {
		t.Fatalf("ls-remote: %v\n%s", r.Err, r.Stderr)
	}
	if !strings.Contains(r.Stderr, "< version 2") || !strings.Contains(r.Stderr, "> command=ls-refs") {
		t.Fatalf("protocol v2 not negotiated over ssh:\n%s", r.Stderr)
	}
	if !strings.Contains(r.Stdout, "refs/heads/main") {
		t.Fatalf("ls-remote output %q", r.Stdout)
	}
}

func TestSSHSessionIdentityIsTheVerifiedKeyNotAnOfferedOne(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	ctx := context.Background()
	root, err := e.Server.Auth.UserByUsername(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	adminKey := e.userKey(root)
	e.Project("root/secret", access.Private)
	eve := e.User("eve", testenv.UserOpts{})
	eveKey := e.userKey(eve)

	eveOffer := gossh.PublicKeys(offerOnly{eveKey.signer.PublicKey()})
	adminOffer := gossh.PublicKeys(offerOnly{adminKey.signer.PublicKey()})
	eveSigns := gossh.PublicKeys(eveKey.signer)
	for _, attack := range []struct {
		name     string
		sequence []gossh.AuthMethod
	}{
		// Offer the admin's public key (the server answers "that key
		// would do"), then sign with eve's own key.
		{"admin offered, eve signs", []gossh.AuthMethod{adminOffer, eveSigns}},
		// CVE-2024-45337's order: both keys offered, then eve signs with
		// the key the server had answered first.
		{"eve offered, admin offered, eve signs", []gossh.AuthMethod{eveOffer, adminOffer, eveSigns}},
	} {
		name := attack.name
		c, err := e.dialSequence("git", attack.sequence...)
		if err != nil {
			t.Fatalf("%s: dial: %v", name, err)
		}
		defer c.Close()
		if r := rawRun(t, c, ""); r.stdout != "Welcome to gitgate, @eve!\n" {
			t.Fatalf("%s: welcome %q %q", name, r.stdout, r.stderr)
		}
		r := rawRun(t, c, "git-receive-pack 'root/secret.git'")
		if r.exit == 0 || !strings.Contains(r.stderr, access.MsgNotFound) {
			t.Fatalf("%s: receive-pack into the admin's repository: exit %d, stdout %q, stderr %q", name, r.exit, r.stdout, r.stderr)
		}
	}

	// The same with no key of her own: offering alone authenticates nobody.
	if c, err := e.dialSequence("git", gossh.PublicKeys(offerOnly{adminKey.signer.PublicKey()})); err == nil {
		c.Close()
		t.Fatal("offering the admin's public key alone logged in")
	}
}

func TestSSHSessionIdentityIsTheVerifiedTokenNotAnOfferedKey(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	ctx := context.Background()
	root, err := e.Server.Auth.UserByUsername(ctx, "root")
	if err != nil {
		t.Fatal(err)
	}
	adminKey := e.userKey(root)
	e.Project("root/secret", access.Private)
	eve := e.User("eve", testenv.UserOpts{})
	e.Project("eve/mine", access.Private)
	token := e.Token(eve, auth.ScopeWriteRepository)

	// Offer the admin's public key (the server answers "would do"), then
	// log in with eve's token as the password.
	c, err := e.dialSequence("git", gossh.PublicKeys(offerOnly{adminKey.signer.PublicKey()}), gossh.Password(token))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer c.Close()
	if r := rawRun(t, c, ""); r.stdout != "Welcome to gitgate, @eve!\n" {
		t.Fatalf("welcome after offering the admin's key: %q %q", r.stdout, r.stderr)
	}
	if r := rawRun(t, c, "git-receive-pack 'root/secret.git'"); r.exit == 0 || !strings.Contains(r.stderr, access.MsgNotFound) {
		t.Fatalf("receive-pack into the admin's repository: exit %d, stderr %q", r.exit, r.stderr)
	}
	// Token logins cannot mint tokens; had the admin key stuck, this would work.
	if r := rawRun(t, c, "personal_access_token x api"); r.exit == 0 {
		t.Fatalf("personal_access_token after a token login: %q", r.stdout)
	}
}

// scrape reads the Prometheus metrics page.
func scrape(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/-/metrics")
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	return string(body)
}

func TestSSHOffersOnlyPublicKeyAndPasswordAuth(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	var allowed []string
	_, err := gossh.Dial("tcp", net.JoinHostPort(e.host, e.port), &gossh.ClientConfig{
		User: "git", HostKeyCallback: gossh.InsecureIgnoreHostKey(),
		AuthCallback: func(ctx *gossh.ClientAuthContext) (gossh.AuthMethod, error) {
			allowed = ctx.AllowedMethods
			return nil, errors.New("just looking")
		},
	})
	if err == nil {
		t.Fatal("the none method logged in")
	}
	slices.Sort(allowed)
	if !slices.Equal(allowed, []string{"password", "publickey"}) {
		t.Fatalf("allowed methods %v, want password and publickey only (no keyboard-interactive)", allowed)
	}
}

func TestSSHRefusesAgentForwardingRequests(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	c, err := e.dialRaw("git", gossh.PublicKeys(kp.signer))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	ok, err := sess.SendRequest("auth-agent-req@openssh.com", true, nil)
	if err != nil {
		t.Fatalf("agent request: %v", err)
	}
	if ok {
		t.Fatal("the server accepted agent forwarding, though it never opens an agent channel")
	}
	// The session is still usable after the refusal.
	var out bytes.Buffer
	sess.Stdout = &out
	if err := sess.Run(""); err != nil {
		t.Fatalf("session after refused agent request: %v", err)
	}
	if !strings.Contains(out.String(), "Welcome to gitgate, @alice!") {
		t.Fatalf("welcome after refused agent request: %q", out.String())
	}
}

func TestBothDoorsResolveRepositoryPathsCaseInsensitively(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	token := e.Token(alice, auth.ScopeWriteRepository)
	e.Project("alice/priv", access.Private)
	env := e.keyGit(kp)
	if r := e.pushNew(env, e.sshURL("alice/priv"), "main:main"); r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	for _, path := range []string{"ALICE/PRIV", "Alice/Priv"} {
		for _, suffix := range []string{".GIT", ".Git", ".git", ""} {
			sshURL := "ssh://git@" + net.JoinHostPort(e.host, e.port) + "/" + path + suffix
			if r := e.GitEnv("", env, "ls-remote", sshURL, "refs/heads/main"); r.Err != nil || !strings.Contains(r.Stdout, "refs/heads/main") {
				t.Errorf("ssh %s%s: %v\nstdout %q\nstderr %s", path, suffix, r.Err, r.Stdout, r.Stderr)
			}
			httpURL := strings.TrimSuffix(e.RepoURL("alice", token, path), ".git") + suffix
			if r := e.Git("", "ls-remote", httpURL, "refs/heads/main"); r.Err != nil || !strings.Contains(r.Stdout, "refs/heads/main") {
				t.Errorf("http %s%s: %v\nstdout %q\nstderr %s", path, suffix, r.Err, r.Stdout, r.Stderr)
			}
		}
	}
	// Both doors refuse the same invalid path the same way.
	if r := e.GitEnv("", env, "ls-remote", "ssh://git@"+net.JoinHostPort(e.host, e.port)+"/alice/priv.git.GIT"); r.Err == nil {
		t.Errorf("ssh accepted a name ending in .git after the suffix")
	}
	if r := e.Git("", "ls-remote", strings.TrimSuffix(e.RepoURL("alice", token, "alice/priv"), ".git")+".git.GIT"); r.Err == nil {
		t.Errorf("http accepted a name ending in .git after the suffix")
	}
}

func TestSSHPushRefusesABranchNamedHEAD(t *testing.T) {
	e := startSSH(t, testenv.Options{})
	alice := e.User("alice", testenv.UserOpts{})
	kp := e.userKey(alice)
	e.Project("alice/proj", access.Private)
	env := e.keyGit(kp)
	r := e.pushNew(env, e.sshURL("alice/proj"), "main:main")
	if r.Err != nil {
		t.Fatalf("push: %v\n%s", r.Err, r.Stderr)
	}
	dir := e.WorkTree()
	r = e.GitEnv(dir, env, "push", e.sshURL("alice/proj"), "HEAD:HEAD", "HEAD:refs/tags/-v1", "HEAD:feat")
	if r.Err == nil {
		t.Fatal("push of a branch named HEAD succeeded")
	}
	for _, want := range []string{
		"! [remote rejected] HEAD -> HEAD (You cannot create a branch named HEAD.)",
		"! [remote rejected] HEAD -> -v1 (You cannot create a tag whose name starts with '-'.)",
	} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("git push shows:\n%s\nwant the line %q", r.Stderr, want)
		}
	}
	out := e.GitEnv("", env, "ls-remote", e.sshURL("alice/proj"))
	if strings.Contains(out.Stdout, "refs/heads/HEAD") || strings.Contains(out.Stdout, "refs/tags/-v1") || !strings.Contains(out.Stdout, "refs/heads/feat") {
		t.Errorf("refs after the push:\n%s", out.Stdout)
	}
}
