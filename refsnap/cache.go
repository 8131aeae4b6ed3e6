package refsnap

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gitgate/gitgate/gitproc"
)

// Sources of an advertisement, the source label of
// gitgate_ref_advertisements_total.
const (
	SourceSnapshot = "snapshot"
	SourceGit      = "git"
)

// Cache holds the snapshots of the repositories served lately and what
// git advertises as capabilities for each. Set the fields, then share one;
// it is safe for concurrent use. The zero value works (no replica
// notification, nothing counted).
type Cache struct {
	// Root is the repository storage: replicas name a repository to
	// each other by its path below it, since each may mount the storage
	// elsewhere.
	Root string
	// Notify, when set, tells the other replicas that a repository's
	// refs changed (PostgreSQL NOTIFY); Invalidate calls it with the
	// repository's path below Root.
	Notify func(ctx context.Context, repo string) error
	// Counted, when set, is told the source of every advertisement a
	// door served (SourceSnapshot or SourceGit).
	Counted func(source string)
	Log     *slog.Logger // nil: slog.Default()

	mu    sync.Mutex
	snaps map[string]*Snapshot
	caps  map[capsKey]capsEntry
}

// maxEntries bounds each map; past it the map starts over.
const maxEntries = 4096

// capsKey is what git's capability advertisement depends on besides the
// git binary: the repository's and the global configuration (by their
// stamps), the -c settings of the run and the protocol.
type capsKey struct {
	repoDir  string
	protocol string
	config   string
	files    string
}

type capsEntry struct {
	v0 Capabilities
	v2 []byte
}

func (c *Cache) log() *slog.Logger {
	if c.Log != nil {
		return c.Log
	}
	return slog.Default()
}

// Served counts one advertisement a door served (a nil Cache counts
// nothing).
func (c *Cache) Served(source string) {
	if c != nil && c.Counted != nil {
		c.Counted(source)
	}
}

// Snapshot returns a current snapshot of repoDir: the cached one when
// nothing has changed since it was read, else a new one.
func (c *Cache) Snapshot(ctx context.Context, repoDir string) (*Snapshot, error) {
	c.mu.Lock()
	s := c.snaps[repoDir]
	c.mu.Unlock()
	if s != nil && s.stamp.current() {
		return s, nil
	}
	s, err := Build(ctx, repoDir)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s.stamp.racy {
		delete(c.snaps, repoDir)
		return s, nil
	}
	if c.snaps == nil || len(c.snaps) >= maxEntries {
		c.snaps = map[string]*Snapshot{}
	}
	c.snaps[repoDir] = s
	return s, nil
}

// Invalidate forgets the snapshot of repoDir after its refs changed (a
// push, a branch created through the API) and tells the other replicas.
// It never fails the caller: the change has happened; a replica that
// misses the notice still sees the change by its stat check.
func (c *Cache) Invalidate(ctx context.Context, repoDir string) {
	if c == nil {
		return
	}
	c.Drop(repoDir)
	if c.Notify != nil {
		repo := repoDir
		if rel, err := filepath.Rel(c.Root, repoDir); err == nil && c.Root != "" && filepath.IsLocal(rel) {
			repo = rel
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := c.Notify(ctx, repo); err != nil {
			c.log().Warn("tell other replicas about changed refs", "repo", repoDir, "err", err)
		}
	}
}

// Drop forgets the snapshot of repoDir, without telling anyone (a notice
// from another replica).
func (c *Cache) Drop(repoDir string) {
	c.mu.Lock()
	delete(c.snaps, repoDir)
	c.mu.Unlock()
}

// Follow drops the snapshots that other replicas announce as changed,
// until ctx ends. listen is the source of the announcements
// (store.DB.ListenRefs): it calls onRepo with each repository (its path
// below Root) and onConnect whenever it (re)connects, and returns when
// ctx ends or its connection cannot be made; Follow then tries again.
func (c *Cache) Follow(ctx context.Context, listen func(ctx context.Context, onRepo func(string), onConnect func()) error) {
	onRepo := func(repo string) {
		if !filepath.IsAbs(repo) {
			repo = filepath.Join(c.Root, repo)
		}
		c.Drop(repo)
	}
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; backoff = min(2*backoff, 5*time.Second) {
		// Announcements made while not listening are lost: forget
		// everything on every (re)connection.
		err := listen(ctx, onRepo, c.DropAll)
		if err == nil || ctx.Err() != nil {
			return
		}
		c.log().Warn("could not follow the ref changes of the other replicas; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// DropAll forgets every snapshot (notices may have been lost).
func (c *Cache) DropAll() {
	c.mu.Lock()
	c.snaps = nil
	c.mu.Unlock()
}

// keyFor is the capabilities key of a run, false when the repository's
// config cannot be read.
func keyFor(repoDir, protocol string, config []string) (capsKey, bool) {
	var files strings.Builder
	for i, p := range append([]string{filepath.Join(repoDir, "config")}, gitproc.GlobalConfigFiles()...) {
		fi, err := os.Stat(p)
		if err != nil {
			if i == 0 {
				return capsKey{}, false
			}
			files.WriteString("-;")
			continue
		}
		s := stampOf(p, fi)
		files.WriteString(strings.Join([]string{itoa(s.size), itoa(s.mtime), itoa(int64(s.ino))}, ","))
		files.WriteByte(';')
	}
	return capsKey{repoDir: repoDir, protocol: protocol, config: strings.Join(config, "\x00"), files: files.String()}, true
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (c *Cache) getCaps(k capsKey) (capsEntry, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.caps[k]
	return e, ok
}

func (c *Cache) putCaps(k capsKey, e capsEntry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.caps == nil || len(c.caps) >= maxEntries {
		c.caps = map[capsKey]capsEntry{}
	}
	c.caps[k] = e
}

// Version is the protocol version a GIT_PROTOCOL value asks for, as git
// reads it: the highest "version=N" it names (0 without one).
func Version(protocol string) int {
	v := 0
	for _, kv := range strings.Split(protocol, ":") {
		switch kv {
		case "version=1":
			v = max(v, 1)
		case "version=2":
			v = 2
		}
	}
	return v
}

// Advertisement is the v0/v1 advertisement of `git upload-pack
// --stateless-rpc --advertise-refs` for repoDir, run with GIT_PROTOCOL
// protocol and the -c settings config, from the snapshot; ok is false
// when git must answer (Learn then takes what it needs from git's
// answer).
func (c *Cache) Advertisement(ctx context.Context, repoDir, protocol string, config []string) (adv []byte, ok bool, err error) {
	v := Version(protocol)
	if v > 1 {
		return nil, false, nil
	}
	s, err := c.Snapshot(ctx, repoDir)
	if err != nil || s.Unusual != "" {
		return nil, false, err
	}
	if s.Empty() {
		// No ref, no capability line: nothing to learn from git.
		adv, err := s.Advertisement(v, Capabilities{})
		return adv, err == nil, nil
	}
	k, ok := keyFor(repoDir, "v"+itoa(int64(v)), config)
	if !ok {
		return nil, false, nil
	}
	e, ok := c.getCaps(k)
	if !ok {
		return nil, false, nil
	}
	adv, err = s.Advertisement(v, e.v0)
	if err != nil {
		return nil, false, nil
	}
	return adv, true, nil
}

// Learn takes the capabilities from git's own v0/v1 advertisement for
// repoDir (one that Advertisement could not make), so that the next one
// comes from the snapshot. It checks that the snapshot renders exactly
// what git said; when it does not (something the snapshot does not
// model), nothing is learnt and git keeps answering.
func (c *Cache) Learn(ctx context.Context, repoDir, protocol string, config []string, gitAdv []byte) {
	v := Version(protocol)
	if v > 1 {
		return
	}
	caps, ok := parseCapabilities(gitAdv)
	if !ok {
		return
	}
	k, ok := keyFor(repoDir, "v"+itoa(int64(v)), config)
	if !ok {
		return
	}
	s, err := c.Snapshot(ctx, repoDir)
	if err != nil || s.Unusual != "" {
		return
	}
	mine, err := s.Advertisement(v, caps)
	if err != nil {
		return
	}
	if !bytes.Equal(mine, gitAdv) {
		// Possibly a push in between; the next advertisement tries again.
		c.log().Debug("ref snapshot differs from git's advertisement", "repo", repoDir)
		return
	}
	c.putCaps(k, capsEntry{v0: caps})
}

// V2Capabilities is git's protocol v2 capability advertisement for
// repoDir (it lists no refs), when known.
func (c *Cache) V2Capabilities(repoDir, protocol string, config []string) ([]byte, bool) {
	k, ok := keyFor(repoDir, protocol, config)
	if !ok {
		return nil, false
	}
	e, ok := c.getCaps(k)
	if !ok || e.v2 == nil {
		return nil, false
	}
	return e.v2, true
}

// LearnV2Capabilities keeps git's v2 capability advertisement for
// repoDir. One naming a session id is per process and is not kept.
func (c *Cache) LearnV2Capabilities(repoDir, protocol string, config []string, adv []byte) {
	if bytes.Contains(adv, []byte("session-id")) {
		return
	}
	k, ok := keyFor(repoDir, protocol, config)
	if !ok {
		return
	}
	c.putCaps(k, capsEntry{v2: append([]byte(nil), adv...)})
}

// LsRefs answers a protocol v2 ls-refs request (the whole request as the
// client sent it) from the snapshot; ok is false when git must answer:
// the request is not a plain ls-refs, the snapshot is unusual, or it asks
// for unborn and git's capabilities for the repository are not known.
func (c *Cache) LsRefs(ctx context.Context, repoDir, protocol string, config []string, req []byte) (resp []byte, ok bool, err error) {
	q, ok := ParseLsRefs(req)
	if !ok {
		return nil, false, nil
	}
	unborn := false
	if q.Unborn {
		caps, known := c.V2Capabilities(repoDir, protocol, config)
		if !known {
			return nil, false, nil
		}
		unborn = v2Advertises(caps, "ls-refs", "unborn")
	}
	s, err := c.Snapshot(ctx, repoDir)
	if err != nil || s.Unusual != "" {
		return nil, false, err
	}
	resp, err = s.LsRefs(q, unborn)
	if err != nil {
		return nil, false, nil
	}
	return resp, true, nil
}

// v2Advertises reports whether a v2 capability advertisement offers
// feature of capability ("ls-refs=unborn").
func v2Advertises(adv []byte, capability, feature string) bool {
	for _, line := range bytes.Split(adv, []byte("\n")) {
		if len(line) < 4 {
			continue
		}
		name, values, _ := strings.Cut(string(line[4:]), "=")
		if name != capability {
			continue
		}
		for _, v := range strings.Split(values, " ") {
			if v == feature {
				return true
			}
		}
	}
	return false
}
