package loadtest_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/loadtest"
	"github.com/gitgate/gitgate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// loadServer starts a server with two private repositories under "load"
// that user load can push to, over HTTP with a token and over SSH with a
// key; it returns the two base URLs and the key's path.
func loadServer(t *testing.T) (env *testenv.Env, httpBase, sshBase, key string) {
	env = testenv.Start(t, testenv.Options{})
	u := env.User("load", testenv.UserOpts{})
	token := env.Token(u, auth.ScopeWriteRepository)
	wt := env.WorkTree()
	for _, r := range []string{"r1", "r2"} {
		env.Project("load/"+r, access.Private)
		env.MustGit(wt, "push", "-q", env.RepoURL("load", token, "load/"+r), "main")
	}
	key = filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v %s", err, out)
	}
	pub, err := os.ReadFile(key + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Server.Auth.AddKey(context.Background(), auth.NewKey{UserID: u.ID, Title: "load", Key: string(pub)}); err != nil {
		t.Fatal(err)
	}
	return env, "http://load:" + token + "@" + env.Server.HTTPAddr() + "/load", "ssh://git@" + env.Server.SSHAddr() + "/load", key
}

func TestTwoClientsCloneFetchAndPushOverBothDoorsWithoutErrors(t *testing.T) {
	env, httpBase, sshBase, key := loadServer(t)
	res, err := loadtest.Run(context.Background(), loadtest.Config{HTTPBase: httpBase, SSHBase: sshBase, SSHKey: key,
		Repos: []string{"r1", "r2"}, Clients: 2, Duration: time.Second, MinOps: 10, ServerPID: os.Getpid(),
		SampleEvery: 200 * time.Millisecond, MetricsURL: env.URL + "/-/metrics", Work: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if errs := res.Errors(); len(errs) > 0 {
		t.Fatalf("%d of %d operations failed, the first: %+v", len(errs), len(res.Ops), errs[0])
	}
	seen := map[string]bool{}
	for _, o := range res.Ops {
		seen[o.Kind] = true
		seen[o.Door] = true
	}
	for _, want := range []string{loadtest.OpClone, loadtest.OpFetch, loadtest.OpPush, loadtest.DoorHTTP, loadtest.DoorSSH} {
		if !seen[want] {
			t.Errorf("no %s among the %d operations", want, len(res.Ops))
		}
	}
	// The pushes reached the server: each client's branch is there.
	refs := env.MustGit("", "ls-remote", httpBase+"/r1.git")
	if !strings.Contains(refs, "refs/heads/load/c0") {
		t.Errorf("client 0's pushes are not on the server:\n%s", refs)
	}
	if len(res.RSS) < 5 || res.RSS[0].RSS <= 0 || res.RSS[0].Server <= 0 || res.RSS[0].Processes < 1 {
		t.Fatalf("memory samples %v: want one every 200 ms of this process's tree", res.RSS)
	}

	var md bytes.Buffer
	if err := res.WriteMarkdown(&md, "test run"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"errors: **0** of", "| clone | http |", "| push | ssh |", "| all | both |", "memory flat after warm-up", "the server process alone",
		"| `gitgate_pack_cache_requests_total{result=\"miss\"}` |", "| `gitgate_pack_cache_bytes` |"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("the report lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), strings.TrimPrefix(strings.Split(httpBase, "@")[0], "http://load:")) {
		t.Errorf("the report shows the token:\n%s", md.String())
	}
	var csv bytes.Buffer
	if err := res.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if lines := strings.Count(csv.String(), "\n"); lines != len(res.RSS)+1 {
		t.Errorf("the CSV has %d lines for %d samples", lines, len(res.RSS))
	}
	png := filepath.Join(t.TempDir(), "plot.png")
	if err := res.WritePNG(png, "test run"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("plot: %v, %d bytes", err, len(b))
	}
}

func TestFailedOperationsAreReportedWithGitsErrorAndNoToken(t *testing.T) {
	_, httpBase, _, _ := loadServer(t)
	res, err := loadtest.Run(context.Background(), loadtest.Config{HTTPBase: httpBase, Repos: []string{"missing"},
		Clients: 1, Duration: 500 * time.Millisecond, Work: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	errs := res.Errors()
	if len(errs) == 0 || len(errs) != len(res.Ops) {
		t.Fatalf("%d of %d operations failed: a missing repository must fail every one", len(errs), len(res.Ops))
	}
	token := strings.TrimPrefix(strings.Split(httpBase, "@")[0], "http://load:")
	if !strings.Contains(errs[0].Err, "git clone") || !strings.Contains(errs[0].Err, "fatal:") || strings.Contains(errs[0].Err, token) {
		t.Fatalf("error %q: want git's fatal line, without the token", errs[0].Err)
	}
	var md bytes.Buffer
	if err := res.WriteMarkdown(&md, "failing run"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**FAIL**") || !strings.Contains(md.String(), "## Errors") {
		t.Fatalf("the report does not show the failure:\n%s", md.String())
	}
}
