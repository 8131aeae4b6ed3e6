package main_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/housekeeping"
	"github.com/gitgate/gitgate/store"
)

// A server beside the CLI (same machine, same SQLite database) is
// repacking the repository: repo prune refuses rather than repack it at
// the same time.
func TestRepoPruneRefusesWhileTheServerMaintainsTheRepository(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	m := regexp.MustCompile(`id (\d+)`).FindStringSubmatch(c.must("repo", "create", "alice/proj"))
	if m == nil {
		t.Fatal("repo create printed no id")
	}
	sum := sha256.Sum256([]byte(m[1]))
	h := hex.EncodeToString(sum[:])
	bare := filepath.Join(c.dataDir, "repositories", "@hashed", h[0:2], h[2:4], h+".git")
	unlock, err := housekeeping.FileLocker{}.TryLock(context.Background(), bare)
	if err != nil {
		t.Fatal(err)
	}
	r := c.run("repo", "prune", "alice/proj")
	if r.code == 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "housekeeping is already running for this repository") {
		t.Fatalf("repo prune while the repository is locked: exit %d, stderr %q", r.code, r.stderr)
	}
	unlock()
	c.must("repo", "prune", "alice/proj")
}
