package gitserver

import (
	"os"
	"path/filepath"
	"sync"
	"time"
)

// capabilityCache keeps protocol v2 capability advertisements. Unlike a v0
// advertisement, a v2 one lists no refs: it depends only on the git binary,
// the client's GIT_PROTOCOL and the repository's config, so it can be
// served without spawning git — half the processes of every v2 fetch and
// ls-remote. An entry is keyed by the config file's size and modification
// time, so a changed config is never served stale.
type capabilityCache struct {
	mu sync.Mutex
	m  map[capabilityKey][]byte
}

type capabilityKey struct {
	repoDir, protocol string
	configSize        int64
	configMTime       time.Time
}

// maxCapabilityEntries bounds the cache; one entry per repository.
const maxCapabilityEntries = 10000

func capabilityKeyFor(repoDir, protocol string) (capabilityKey, bool) {
	fi, err := os.Stat(filepath.Join(repoDir, "config"))
	if err != nil {
		return capabilityKey{}, false
	}
	return capabilityKey{repoDir: repoDir, protocol: protocol, configSize: fi.Size(), configMTime: fi.ModTime()}, true
}

func (c *capabilityCache) get(k capabilityKey) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	b, ok := c.m[k]
	return b, ok
}

func (c *capabilityCache) put(k capabilityKey, b []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxCapabilityEntries {
		c.m = map[capabilityKey][]byte{}
	}
	c.m[k] = append([]byte(nil), b...)
}
