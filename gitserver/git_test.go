package gitserver_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

func TestCloneFetchPushOverBothProtocols(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			f := newFixture(t, d, nil)
			for _, v := range []string{"0", "2"} {
				t.Run("protocol v"+v, func(t *testing.T) {
					proto := []string{"-c", "protocol.version=" + v}
					url := f.url("maintainer", "grp/private")
					dir, r := f.clone(t, url, "-c", "protocol.version="+v)
					if r.Err != nil {
						t.Fatalf("clone: %v\n%s", r.Err, r.Stderr)
					}
					f.commit(t, dir, "v"+v+".txt", "hello")
					f.MustGit(dir, append(proto, "push", "-q", "origin", "main")...)
					f.MustGit(dir, append(proto, "push", "-q", "origin", "main:feature-"+v)...)
					f.MustGit(dir, append(proto, "tag", "v"+v+".0")...)
					f.MustGit(dir, append(proto, "push", "-q", "origin", "v"+v+".0")...)
					refs := f.remoteRefs(t, "grp/private")
					head := strings.TrimSpace(f.MustGit(dir, "rev-parse", "HEAD"))
					for _, ref := range []string{"refs/heads/main", "refs/heads/feature-" + v, "refs/tags/v" + v + ".0"} {
						if refs[ref] != head {
							t.Errorf("%s = %q after push, want %s", ref, refs[ref], head)
						}
					}
					f.MustGit(dir, append(proto, "fetch", "-q", "origin")...)
					f.MustGit(dir, append(proto, "push", "-q", "origin", "--delete", "feature-"+v)...)
					if _, ok := f.remoteRefs(t, "grp/private")["refs/heads/feature-"+v]; ok {
						t.Errorf("feature-%s still exists after delete", v)
					}
				})
			}
		})
	}
}

func TestPushTriggersHousekeeping(t *testing.T) {
	f := newFixture(t, store.SQLite, func(c *server.Config) {
		noLockout(c)
		c.HousekeepingDelay = time.Millisecond
	})
	wt := f.WorkTree()
	f.commit(t, wt, "hk.txt", "housekeeping")
	f.MustGit(wt, "push", "-q", f.url("developer", "grp/private"), "main:hk")
	dir := f.Server.Repos.DiskPath(mustFind(t, f, "grp/private").ID)
	waitFor(t, "the bitmap of the pushed repository", func() bool {
		bitmaps, _ := filepath.Glob(filepath.Join(dir, "objects", "pack", "*.bitmap"))
		return len(bitmaps) > 0
	})
	// The repository still serves after its repack.
	if _, r := f.clone(t, f.url("reporter", "grp/private")); r.Err != nil {
		t.Fatalf("clone after housekeeping: %v\n%s", r.Err, r.Stderr)
	}
}
