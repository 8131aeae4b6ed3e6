package gitserver_test

import (
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/store"
)

func v2Advertisement(t *testing.T, f *fixture, path string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, f.URL+"/"+path+".git/info/refs?service=git-upload-pack", nil)
	req.Header.Set("Git-Protocol", "version=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("info/refs: %d %s", resp.StatusCode, b)
	}
	return string(b)
}

func TestV2CapabilitiesAreServedFromCacheUntilTheRepositoryConfigChanges(t *testing.T) {
	f := newFixture(t, store.SQLite, nil)
	first := v2Advertisement(t, f, "grp/public")
	if !strings.HasPrefix(first, "000eversion 2\n") || !strings.Contains(first, "filter") {
		t.Fatalf("v2 advertisement: %q", first)
	}
	before := value(f.Server.Metrics.GitProcessesStarted)
	if again := v2Advertisement(t, f, "grp/public"); again != first {
		t.Fatalf("cached advertisement differs:\n%q\n%q", first, again)
	}
	if started := value(f.Server.Metrics.GitProcessesStarted) - before; started != 0 {
		t.Fatalf("a cached advertisement started %v git processes", started)
	}
	proj, err := f.Server.Repos.Find(t.Context(), "grp/public")
	if err != nil {
		t.Fatal(err)
	}
	dir := f.Server.Repos.DiskPath(proj.ID)
	if out, err := exec.Command("git", "--git-dir="+dir, "config", "uploadpack.allowFilter", "false").CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	if changed := v2Advertisement(t, f, "grp/public"); strings.Contains(changed, "filter") {
		t.Fatalf("after disabling filters the advertisement still offers them: %q", changed)
	}
}
