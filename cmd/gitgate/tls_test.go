package main_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gitgate/gitgate/store"
)

// testCA is a certificate authority made for one test.
type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	pemFile string
	pool    *x509.CertPool
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	ca := &testCA{cert: cert, key: key, pemFile: filepath.Join(t.TempDir(), name+".pem"), pool: x509.NewCertPool()}
	ca.pool.AddCert(cert)
	if err := os.WriteFile(ca.pemFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return ca
}

// issue writes a certificate for 127.0.0.1 and its key to certFile and
// keyFile, replacing them at once (as certbot does).
func (ca *testCA) issue(t *testing.T, certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	replaceFile(t, certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	replaceFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}))
}

func replaceFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path+".new", b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
}

// lockedBuffer is a server's stderr, read while it is written.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// servedBy reports whether the server at addr completes a TLS handshake
// trusting only pool.
func servedBy(addr string, pool *x509.CertPool) bool {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, &tls.Config{RootCAs: pool})
	if err != nil {
		return false
	}
	conn.Close()
	return true
}

func TestNativeTLSServesGitOverHTTPSAndReloadsTheCertificateOnSIGHUP(t *testing.T) {
	c := newCLI(t, store.SQLite)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first, second := newTestCA(t, "first-ca"), newTestCA(t, "second-ca")
	first.issue(t, certFile, keyFile)

	httpAddr := freePort(t)
	cmd := exec.Command(binary, "serve", "--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = append(c.env(), "GITGATE_HTTP_ADDR="+httpAddr, "GITGATE_SSH_ADDR="+freePort(t), "GITGATE_INITIAL_ROOT_PASSWORD=root-password-1234")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	client := func(pool *x509.CertPool) *http.Client {
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	ready := false
	for i := 0; i < 300 && !ready; i++ {
		if resp, err := client(first.pool).Get("https://" + httpAddr + "/-/readiness"); err == nil {
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
		if !ready {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !ready {
		t.Fatalf("gitgate serve over TLS never became ready:\n%s", stderr.String())
	}
	if resp, err := http.Get("http://" + httpAddr + "/-/health"); err == nil && resp.StatusCode == http.StatusOK {
		resp.Body.Close()
		t.Fatal("the TLS listener answers plain HTTP")
	}

	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	c.must("repo", "create", "alice/code")
	token := strings.TrimSpace(c.must("token", "create", "--user", "alice", "--name", "t", "--scopes", "api,write_repository"))
	// Clone URLs follow the scheme.
	req, _ := http.NewRequest(http.MethodGet, "https://"+httpAddr+"/api/v4/projects/alice%2Fcode", nil)
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := client(first.pool).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var project struct {
		HTTPURL string `json:"http_url_to_repo"`
	}
	err = json.NewDecoder(resp.Body).Decode(&project)
	resp.Body.Close()
	if err != nil || project.HTTPURL != "https://"+httpAddr+"/alice/code.git" {
		t.Fatalf("http_url_to_repo over native TLS: %q %v", project.HTTPURL, err)
	}

	gitHTTPS := func(ca *testCA, args ...string) (string, error) {
		cmd := exec.Command("git", args...)
		cmd.Dir = t.TempDir()
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "GIT_TERMINAL_PROMPT=0", "GIT_SSL_CAINFO=" + ca.pemFile,
			"GIT_AUTHOR_NAME=a", "GIT_AUTHOR_EMAIL=a@example.com", "GIT_COMMITTER_NAME=a", "GIT_COMMITTER_EMAIL=a@example.com"}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	remote := "https://alice:" + token + "@" + httpAddr + "/alice/code.git"
	wt := t.TempDir()
	if out, err := gitHTTPS(first, "clone", "-q", remote, wt); err != nil {
		t.Fatalf("git clone over https: %v\n%s", err, out)
	}
	if out, err := gitHTTPS(first, "-C", wt, "commit", "-q", "--allow-empty", "-m", "over tls"); err != nil {
		t.Fatalf("commit: %v\n%s", err, out)
	}
	if out, err := gitHTTPS(first, "-C", wt, "push", "-q", "origin", "HEAD:main"); err != nil {
		t.Fatalf("git push over https: %v\n%s", err, out)
	}

	// A renewed certificate (here from another CA, so the two can be
	// told apart) is served after SIGHUP, without a restart.
	second.issue(t, certFile, keyFile)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !servedBy(httpAddr, second.pool) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !servedBy(httpAddr, second.pool) || servedBy(httpAddr, first.pool) {
		t.Fatalf("after SIGHUP the server does not serve the new certificate:\n%s", stderr.String())
	}
	if out, err := gitHTTPS(second, "clone", "-q", remote, t.TempDir()); err != nil {
		t.Fatalf("git clone over https after the reload: %v\n%s", err, out)
	}
	if out, err := gitHTTPS(first, "ls-remote", remote); err == nil {
		t.Fatalf("git trusted the replaced certificate's CA after the reload:\n%s", out)
	}

	// A broken certificate file is refused on reload; the one served
	// so far stays.
	replaceFile(t, certFile, []byte("not a certificate\n"))
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(stderr.String(), "the TLS certificate was not reloaded") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(stderr.String(), "the TLS certificate was not reloaded") {
		t.Fatalf("a broken certificate on SIGHUP was not reported:\n%s", stderr.String())
	}
	if !servedBy(httpAddr, second.pool) {
		t.Fatal("a broken certificate on SIGHUP stopped the previous one from being served")
	}
}

func TestSIGHUPWithoutTLSLeavesTheServerRunning(t *testing.T) {
	c := newCLI(t, store.SQLite)
	httpAddr := freePort(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(c.env(), "GITGATE_HTTP_ADDR="+httpAddr, "GITGATE_SSH_ADDR="+freePort(t), "GITGATE_INITIAL_ROOT_PASSWORD=root-password-1234")
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	for i := 0; i < 300 && !strings.Contains(stderr.String(), "gitgate listening"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 200 && !strings.Contains(stderr.String(), "SIGHUP: nothing to reload"); i++ {
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get("http://" + httpAddr + "/-/health")
	if err != nil {
		t.Fatalf("the server died of SIGHUP: %v\n%s", err, stderr.String())
	}
	resp.Body.Close()
	if !strings.Contains(stderr.String(), "SIGHUP: nothing to reload") {
		t.Fatalf("SIGHUP was not logged:\n%s", stderr.String())
	}
}

func TestTLSCertificateAndKeyGoTogether(t *testing.T) {
	c := newCLI(t, store.SQLite)
	for _, args := range [][]string{{"serve", "--tls-cert", "/nonexistent/cert.pem"}, {"serve", "--tls-key", "/nonexistent/key.pem"}} {
		r := c.run(args...)
		if r.code != 2 || !strings.Contains(r.stderr, "GITGATE_TLS_CERT (--tls-cert) and GITGATE_TLS_KEY (--tls-key) must be set together") || strings.Count(r.stderr, "\n") != 1 {
			t.Fatalf("gitgate %v: %+v", args, r)
		}
	}
	r := c.run("serve", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem", "--http-addr", freePort(t), "--ssh-addr", freePort(t))
	if r.code != 1 || !strings.Contains(r.stderr, "TLS certificate /nonexistent/cert.pem and key /nonexistent/key.pem") || strings.Count(r.stderr, "\n") != 1 {
		t.Fatalf("serve with missing certificate files: %+v", r)
	}
	if _, err := os.Stat(filepath.Join(c.dataDir, "gitgate.db")); !os.IsNotExist(err) {
		t.Fatalf("serve refused for its certificate but created the database first: %v", err)
	}
}
