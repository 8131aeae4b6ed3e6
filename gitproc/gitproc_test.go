package gitproc

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/metrics"
)

func TestValidProtocol(t *testing.T) {
	for p, want := range map[string]bool{
		"version=2": true, "version=2:object-format=sha1": false, "version=1:foo=bar": true,
		"": false, "version=2\nX=1": false, "version=2 x": false, "version=2:": false, "=2": false,
		"version=2;rm": false, strings.Repeat("a=b:", 100) + "a=b": false,
	} {
		if got := ValidProtocol(p); got != want {
			t.Errorf("ValidProtocol(%q) = %v, want %v", p, got, want)
		}
	}
}

func TestPktLineRoundTrip(t *testing.T) {
	var b bytes.Buffer
	for _, s := range []string{"hello\n", "", "version=1\x00caps"} {
		if err := WritePkt(&b, s); err != nil {
			t.Fatal(err)
		}
	}
	WriteFlush(&b)
	for _, want := range []string{"hello\n", "", "version=1\x00caps"} {
		got, err := ReadPkt(&b)
		if err != nil || string(got) != want {
			t.Fatalf("ReadPkt = %q, %v; want %q", got, err, want)
		}
	}
	if _, err := ReadPkt(&b); !errors.Is(err, ErrFlush) {
		t.Fatalf("want flush, got %v", err)
	}
	if _, err := ReadPkt(&b); err != io.EOF {
		t.Fatalf("want EOF, got %v", err)
	}
	for _, bad := range []string{"zzzz", "0001", "0003", "0010abc"} {
		if _, err := ReadPkt(strings.NewReader(bad)); err == nil || errors.Is(err, ErrFlush) {
			t.Errorf("ReadPkt(%q) = %v, want an error", bad, err)
		}
	}
	if err := WritePkt(io.Discard, strings.Repeat("x", MaxPktPayload+1)); err == nil {
		t.Error("oversized pkt-line written")
	}
}

func TestRunnerKillsTheProcessWhenTheContextEnds(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "r.git")
	if out, err := exec.Command("git", "init", "-q", "--bare", dir).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	m := metrics.New()
	r := &Runner{Metrics: m, KillGrace: 100 * time.Millisecond}
	// upload-pack without --stateless-rpc waits for the client's wants
	// after advertising: a stdin that never ends keeps it running.
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer pw.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- r.Run(ctx, Command{Service: UploadPack, RepoDir: dir, Stdin: pr, Stdout: io.Discard, Stderr: io.Discard})
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if err := r.Run(context.Background(), Command{Service: "git-evil", RepoDir: dir}); err == nil {
		t.Fatal("unknown service ran")
	}
}
