package api_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/internal/testenv"
)

// largeBlobs and blobSize make a repository of 150 MiB of incompressible
// content.
const (
	largeBlobs = 150
	blobSize   = 1 << 20
)

// fillRepository writes largeBlobs random blobs and one commit holding
// them on main straight into the bare repository at dir, with git
// fast-import (pushing 150 MiB through the server would test the push,
// not the archive).
func fillRepository(t *testing.T, dir string) {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		rng := rand.NewChaCha8([32]byte{1, 2, 3})
		buf := make([]byte, blobSize)
		for i := 1; i <= largeBlobs; i++ {
			_, _ = rng.Read(buf)
			fmt.Fprintf(w, "blob\nmark :%d\ndata %d\n", i, blobSize)
			_, _ = w.Write(buf)
			_, _ = w.WriteString("\n")
		}
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Test <test@example.com> 1700000000 +0000\ndata 6\nlarge\n")
		for i := 1; i <= largeBlobs; i++ {
			fmt.Fprintf(w, "M 100644 :%d blobs/%03d.bin\n", i, i)
		}
		_, _ = w.WriteString("\n")
		pw.CloseWithError(w.Flush())
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if out, err := gitproc.Git("fast-import", "--quiet").WithGitDir(dir).WithStdin(pr).Output(ctx); err != nil {
		pr.CloseWithError(err)
		t.Fatalf("fast-import: %v %s", err, out)
	}
}

// TestArchiveOfALargeRepositoryStreamsWithBoundedMemory: an archive of
// 150 MiB goes from git archive to the client without the server holding
// it. The server runs in this process, so its heap is this process's: it
// is sampled while the archive streams, and must not grow by anything
// near the archive's size (a memory bound, not a time limit).
func TestArchiveOfALargeRepositoryStreamsWithBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and archives 150 MiB")
	}
	// One database is enough: the archive never touches it after the
	// access decision, and 150 MiB twice costs minutes on a busy machine.
	func(f *fixture) {
		p := f.env.Project("alice/large", access.Private)
		fillRepository(t, f.env.Server.Repos.DiskPath(p.ID))

		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapInuse
		var peak atomic.Uint64
		peak.Store(base)
		done := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-done:
					return
				case <-tick.C:
					var s runtime.MemStats
					runtime.ReadMemStats(&s)
					if s.HeapInuse > peak.Load() {
						peak.Store(s.HeapInuse)
					}
				}
			}
		}()

		hr, err := http.NewRequest(http.MethodGet, f.env.URL+"/api/v4/projects/alice%2Flarge/repository/archive.tar", nil)
		if err != nil {
			t.Fatal(err)
		}
		hr.Header.Set("PRIVATE-TOKEN", f.aliceToken)
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		close(done)
		<-sampled
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("archive: status %d, %d bytes, %v", resp.StatusCode, n, err)
		}
		if n < largeBlobs*blobSize {
			t.Fatalf("archive of %d bytes, want at least %d", n, largeBlobs*blobSize)
		}
		growth := int64(peak.Load()) - int64(base)
		t.Logf("archive of %d MiB: heap in use grew by at most %d MiB", n>>20, growth>>20)
		if growth > 64<<20 {
			t.Fatalf("heap in use grew by %d MiB while a %d MiB archive streamed", growth>>20, n>>20)
		}
	}(newFixture(t, testenv.Options{}))
}
