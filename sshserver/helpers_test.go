package sshserver_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// git runs gitgate's hooks as the current executable: the test binary.
func TestMain(m *testing.M) { testenv.Main(m) }

// sshEnv is a running server plus what an SSH client needs to reach it.
type sshEnv struct {
	*testenv.Env
	host, port string
	knownHosts string
}

func startSSH(t testing.TB, o testenv.Options) *sshEnv {
	t.Helper()
	e := testenv.Start(t, o)
	host, port, err := net.SplitHostPort(e.Server.SSHAddr())
	if err != nil {
		t.Fatalf("ssh address %q: %v", e.Server.SSHAddr(), err)
	}
	return &sshEnv{Env: e, host: host, port: port, knownHosts: filepath.Join(t.TempDir(), "known_hosts")}
}

// sshURL is the ssh:// clone URL of a repository path.
func (e *sshEnv) sshURL(path string) string {
	return "ssh://git@" + net.JoinHostPort(e.host, e.port) + "/" + path + ".git"
}

// keyPair is a client key: its private key file and authorized_keys line.
type keyPair struct {
	path       string
	authorized string
	signer     gossh.Signer
}

func newKey(t testing.TB) keyPair {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := gossh.MarshalPrivateKey(priv, "test key")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{path: path, authorized: strings.TrimSpace(string(gossh.MarshalAuthorizedKey(signer.PublicKey()))), signer: signer}
}

// userKey registers a new key for u.
func (e *sshEnv) userKey(u *auth.User) keyPair {
	e.T.Helper()
	kp := newKey(e.T)
	if _, err := e.Server.Auth.AddKey(context.Background(), auth.NewKey{UserID: u.ID, Title: "laptop", Key: kp.authorized}); err != nil {
		e.T.Fatalf("add key for %s: %v", u.Username, err)
	}
	return kp
}

// sshOpts are the OpenSSH client options every test uses: this key only,
// no agent, no user configuration, no prompts.
func (e *sshEnv) sshOpts() []string {
	return []string{"-F", "/dev/null", "-o", "IdentityAgent=none", "-o", "UserKnownHostsFile=" + e.knownHosts,
		"-o", "StrictHostKeyChecking=accept-new", "-o", "LogLevel=ERROR"}
}

// keyGit is the environment that makes git use OpenSSH with kp.
func (e *sshEnv) keyGit(kp keyPair) []string {
	return []string{"GIT_SSH_COMMAND=ssh " + strings.Join(e.sshOpts(), " ") + " -o BatchMode=yes -o IdentitiesOnly=yes -i " + kp.path}
}

// tokenGit is the environment that makes git log in with a token as the
// SSH password, through sshpass (which reads it from SSHPASS, not argv).
func (e *sshEnv) tokenGit(token string) []string {
	return []string{"SSHPASS=" + token, "GIT_SSH_VARIANT=ssh",
		"GIT_SSH_COMMAND=sshpass -e ssh " + strings.Join(e.sshOpts(), " ") +
			" -o PubkeyAuthentication=no -o PreferredAuthentications=password -o NumberOfPasswordPrompts=1"}
}

// sshResult is a finished OpenSSH command.
type sshResult struct {
	stdout, stderr string
	exit           int
}

// runSSH runs "ssh git@host <remote>" with OpenSSH and a key.
func (e *sshEnv) runSSH(kp keyPair, remote ...string) sshResult {
	e.T.Helper()
	args := append(e.sshOpts(), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", kp.path, "-p", e.port, "git@"+e.host)
	return e.runClient("ssh", nil, append(args, remote...)...)
}

// runSSHToken runs "ssh git@host <remote>" with a token as the password.
func (e *sshEnv) runSSHToken(user, token string, remote ...string) sshResult {
	e.T.Helper()
	args := append([]string{"-e", "ssh"}, e.sshOpts()...)
	args = append(args, "-o", "PubkeyAuthentication=no", "-o", "PreferredAuthentications=password",
		"-o", "NumberOfPasswordPrompts=1", "-p", e.port, user+"@"+e.host)
	return e.runClient("sshpass", []string{"SSHPASS=" + token}, append(args, remote...)...)
}

func (e *sshEnv) runClient(name string, env []string, args ...string) sshResult {
	e.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append([]string{"HOME=" + e.Home, "PATH=" + os.Getenv("PATH"), "LANG=C"}, env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := sshResult{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.exit = ee.ExitCode()
	case err != nil:
		e.T.Fatalf("%s: %v", name, err)
	}
	return r
}

// dialRaw connects with golang.org/x/crypto's client and the given auth
// methods (host key not checked: these tests are about client identity).
func (e *sshEnv) dialRaw(user string, methods ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", net.JoinHostPort(e.host, e.port), &gossh.ClientConfig{
		User: user, Auth: methods, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
	})
}

// rawRun runs one command on a new session of c and returns its output
// and exit status.
func rawRun(t *testing.T, c *gossh.Client, command string) sshResult {
	t.Helper()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatalf("new session: %v", err)
	}
	defer sess.Close()
	var out, errb bytes.Buffer
	sess.Stdout, sess.Stderr = &out, &errb
	sess.Stdin = strings.NewReader("")
	err = sess.Run(command)
	r := sshResult{stdout: out.String(), stderr: errb.String()}
	var ee *gossh.ExitError
	switch {
	case errors.As(err, &ee):
		r.exit = ee.ExitStatus()
	case err != nil && !errors.Is(err, io.EOF):
		t.Fatalf("run %q: %v", command, err)
	}
	return r
}

// offerOnly is a signer for a public key whose private key the client
// does not use: x/crypto's client offers it (a query without signature,
// RFC 4252 §7) and, when the server says it would do, fails to sign, so
// nothing but the offer reaches the server.
type offerOnly struct{ pub gossh.PublicKey }

func (o offerOnly) PublicKey() gossh.PublicKey { return o.pub }

func (o offerOnly) Sign(io.Reader, []byte) (*gossh.Signature, error) {
	return nil, errors.New("offer only: no private key")
}

// dialSequence tries the auth methods in exactly this order (x/crypto
// otherwise tries each method name only once).
func (e *sshEnv) dialSequence(user string, methods ...gossh.AuthMethod) (*gossh.Client, error) {
	return gossh.Dial("tcp", net.JoinHostPort(e.host, e.port), &gossh.ClientConfig{
		User: user, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 30 * time.Second,
		AuthCallback: func(*gossh.ClientAuthContext) (gossh.AuthMethod, error) {
			if len(methods) == 0 {
				return nil, errors.New("no more methods")
			}
			m := methods[0]
			methods = methods[1:]
			return m, nil
		},
	})
}

// pushTo clones nothing: it pushes a fresh one-commit repository to url.
func (e *sshEnv) pushNew(env []string, url, refspec string) testenv.Result {
	e.T.Helper()
	dir := e.WorkTree()
	return e.GitEnv(dir, env, "push", url, refspec)
}
