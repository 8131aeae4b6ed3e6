package gitproc

import (
	"context"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/metrics"
)

// BenchmarkRunnerAdvertiseRefs is the hot path of every fetch: one
// upload-pack run by the runner (its allocations are what -benchmem shows).
func BenchmarkRunnerAdvertiseRefs(b *testing.B) {
	dir := filepath.Join(b.TempDir(), "r.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		b.Fatalf("%v %s", err, out)
	}
	r := &Runner{Metrics: metrics.New(), PackObjectsHook: "/bin/false", PackCacheSocket: "/nonexistent"}
	c := Command{Service: UploadPack, RepoDir: dir, StatelessRPC: true, AdvertiseRefs: true, Protocol: "version=2",
		Config: []string{"uploadpack.allowFilter=true"}, Env: []string{"GITGATE_X=1"}, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard}
	b.ReportAllocs()
	for b.Loop() {
		if err := r.Run(context.Background(), c); err != nil {
			b.Fatal(err)
		}
	}
}
