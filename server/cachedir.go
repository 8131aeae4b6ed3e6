package server

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The scratch directory is what one process keeps for itself: the pack
// cache's packs and the socket its hooks ask through (docs/replicas.md).
// Replicas may share the data directory (one volume mounted by all), so
// the default is a directory of its own under <data-dir>/cache, never one
// another running process uses: a replica that empties its scratch at
// start must not delete the packs another replica is streaming.
const (
	// scratchLock is locked (flock) for as long as the process runs.
	scratchLock = ".lock"
	// scratchHeartbeat is touched every heartbeatEvery by the owner, so
	// that the scratch of a dead process can be told from a live one's,
	// also from another machine, where its flock may not show.
	scratchHeartbeat = ".heartbeat"
	heartbeatEvery   = time.Minute
	// scratchStaleAfter is how long a heartbeat may be silent before the
	// next process to start removes the directory.
	scratchStaleAfter = time.Hour
	// maxSocketPath leaves room below the 108 bytes of a unix socket's
	// path (sun_path, with its terminating NUL).
	maxSocketPath = 100
)

// scratch is the process's scratch directory, held until close.
type scratch struct {
	dir string
	// own: made for this process, removed at close; an explicit
	// GITGATE_CACHE_DIR is only emptied (by the pack cache) at the next
	// start.
	own  bool
	lock *os.File
	stop chan struct{}
	done chan struct{}
}

// openScratch takes the configured scratch directory, or makes this
// process's own under <data-dir>/cache, removing there the directories of
// processes gone for scratchStaleAfter.
func openScratch(cfg Config, log *slog.Logger) (*scratch, error) {
	if cfg.CacheDir != "" {
		dir, err := filepath.Abs(cfg.CacheDir)
		if err != nil {
			return nil, fmt.Errorf("GITGATE_CACHE_DIR: %w", err)
		}
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("GITGATE_CACHE_DIR: %w", err)
		}
		lock, err := lockScratch(dir)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("GITGATE_CACHE_DIR %s is in use by another running gitgate process: give each process its own", dir)
		}
		if err != nil {
			return nil, fmt.Errorf("GITGATE_CACHE_DIR: %w", err)
		}
		return &scratch{dir: dir, lock: lock}, nil
	}
	parent := filepath.Join(cfg.DataDir, "cache")
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	sweepScratch(parent, time.Now(), log)
	dir := filepath.Join(parent, scratchName())
	if err := os.Mkdir(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	lock, err := lockScratch(dir)
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	s := &scratch{dir: dir, own: true, lock: lock}
	if err := s.beat(); err != nil {
		s.close()
		return nil, fmt.Errorf("cache directory: %w", err)
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.heartbeat(log)
	return s, nil
}

// scratchName names a process's directory: readable (which host, which
// process) and unique even for two processes with one host name and one
// pid (two containers on the host network), short enough for a socket.
func scratchName() string {
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '_'
	}, host)
	if len(host) > 24 {
		host = host[:24]
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

func lockScratch(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, scratchLock), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// sweepScratch removes the directories under parent that a process made
// for itself (they have a heartbeat) and that neither beat for
// scratchStaleAfter nor are locked by a live process of this machine.
func sweepScratch(parent string, now time.Time, log *slog.Logger) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		fi, err := os.Stat(filepath.Join(dir, scratchHeartbeat))
		if err != nil || now.Sub(fi.ModTime()) < scratchStaleAfter {
			continue
		}
		lock, err := lockScratch(dir)
		if err != nil {
			continue
		}
		err = os.RemoveAll(dir)
		lock.Close()
		if err != nil {
			log.Warn("could not remove the cache directory of a stopped process", "dir", dir, "err", err)
			continue
		}
		log.Info("removed the cache directory of a stopped process", "dir", dir)
	}
}

func (s *scratch) beat() error {
	p := filepath.Join(s.dir, scratchHeartbeat)
	now := time.Now()
	if err := os.Chtimes(p, now, now); err == nil {
		return nil
	}
	return os.WriteFile(p, nil, 0o600)
}

func (s *scratch) heartbeat(log *slog.Logger) {
	defer close(s.done)
	t := time.NewTicker(heartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if err := s.beat(); err != nil {
				log.Warn("could not touch the cache directory's heartbeat", "dir", s.dir, "err", err)
			}
		}
	}
}

// socketPath is where a unix socket of the process goes: the scratch
// directory when the path fits a socket, else a private temporary
// directory (made, and removed by the caller's cleanup).
func (s *scratch) socketPath(name string) (path string, cleanup func(), err error) {
	if p := filepath.Join(s.dir, name); len(p) <= maxSocketPath {
		return p, func() { os.Remove(p) }, nil
	}
	tmp, err := os.MkdirTemp("", "gitgate-")
	if err != nil {
		return "", nil, err
	}
	return filepath.Join(tmp, name), func() { os.RemoveAll(tmp) }, nil
}

// close stops the heartbeat, removes a directory made for this process,
// and lets go of the lock.
func (s *scratch) close() {
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	if s.own {
		os.RemoveAll(s.dir)
	}
	if s.lock != nil {
		s.lock.Close()
		s.lock = nil
	}
}
