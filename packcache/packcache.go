// Package packcache lets identical concurrent fetches share one pack.
//
// git upload-pack runs gitgate's pack-objects hook (uploadpack.packObjects
// Hook) in place of "git pack-objects". The pack is a function of the
// repository, the pack-objects arguments and the object list on stdin, so
// the hook asks the server's Cache for it by that key: the first request
// makes the server run pack-objects into a file, and every identical
// request meanwhile (or within TTL) streams that file as it grows. Sixteen
// CI jobs cloning one repository at once then cost one pack-objects
// instead of sixteen.
//
// The pack is produced by the server process, not by the hook of the first
// request: a client that disconnects has its upload-pack and hook killed,
// and that must not break the others following the same pack.
//
// The files on disk are bounded by Config.MaxBytes: finished packs are
// deleted oldest first when the cache would grow beyond it, and a pack that
// alone is bigger is streamed to those following it but not kept. The
// server hands each hook an open descriptor of the file along with its
// name, so a deletion never takes a pack from a hook reading it: on Linux
// an unlinked file stays readable through the descriptors open on it.
package packcache

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gitgate/gitgate/gitproc"
)

// HookName is the hook's name (script file and GITGATE_HOOK value).
const HookName = "pack-objects"

// EnvSocket names the cache's socket in the hook's environment; without
// it the hook just runs pack-objects.
const EnvSocket = gitproc.EnvPackCacheSocket

// TTL is how long a finished pack is served from the cache.
const TTL = 5 * time.Minute

// DefaultMaxBytes bounds the packs on disk when Config.MaxBytes is unset.
const DefaultMaxBytes = 1 << 30

// sweepInterval is how often the packs being produced are measured (they
// grow on disk, written by pack-objects itself) and old ones deleted.
const sweepInterval = time.Second

// maxInput bounds the object list of a shared request; a larger one is
// packed by the hook itself (such requests are not alike anyway).
const maxInput = 16 << 20

// Results of a request, for metrics.
const (
	ResultHit    = "hit"    // a finished pack was served
	ResultShared = "shared" // joined a pack being produced
	ResultMiss   = "miss"   // this request started the pack
	ResultBypass = "bypass" // not cacheable: the hook packed by itself
)

// Reasons a finished pack is deleted, for metrics.
const (
	EvictedAge    = "age"     // older than TTL
	EvictedSize   = "size"    // the oldest, to stay within MaxBytes
	EvictedTooBig = "too_big" // bigger than MaxBytes by itself: streamed, not kept
)

// Cache is the server side: it produces packs into files under dir and
// tells hooks which file to follow.
type Cache struct {
	dir     string
	root    string // requests for repositories outside it are refused
	gitBin  string
	log     *slog.Logger
	counted func(result string)
	// maxBytes bounds the bytes of the files in entries.
	maxBytes int64
	now      func() time.Time
	sized    func(bytes int64)
	evicted  func(reason string)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	ln     net.Listener

	mu      sync.Mutex
	entries map[string]*entry
}

type entry struct {
	key     string
	path    string        // the file followers read
	done    chan struct{} // closed when the producer ended
	failed  bool
	created time.Time
	// out is the producer's file while pack-objects writes it (its size
	// is read from there); size is the final size once done is closed.
	out  *os.File
	size int64
}

// Config tunes New.
type Config struct {
	Dir      string // where packs are written (created)
	RepoRoot string // only repositories below it are served
	Socket   string // unix socket path for the hooks
	GitBin   string
	Log      *slog.Logger
	// Counted, when set, is told every request's result.
	Counted func(result string)
	// MaxBytes bounds the packs on disk, those being produced included
	// (default DefaultMaxBytes).
	MaxBytes int64
	// Sized, when set, is told the bytes of the packs on disk whenever
	// they are measured; Evicted is told every deletion's reason.
	Sized   func(bytes int64)
	Evicted func(reason string)
	// Now is the clock that ages packs (default time.Now).
	Now func() time.Time
}

// New starts a cache listening on cfg.Socket.
func New(cfg Config) (*Cache, error) {
	if cfg.GitBin == "" {
		cfg.GitBin = "git"
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("pack cache directory: %w", err)
	}
	// Leftovers of an earlier run are never followed: start empty.
	if err := clearDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("pack cache directory: %w", err)
	}
	_ = os.Remove(cfg.Socket)
	ln, err := net.Listen("unix", cfg.Socket)
	if err != nil {
		return nil, fmt.Errorf("pack cache socket: %w", err)
	}
	// Only the server's user (and so its git processes) may ask.
	if err := os.Chmod(cfg.Socket, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("pack cache socket: %w", err)
	}
	root := filepath.Clean(cfg.RepoRoot)
	// Hooks report their working directory as the kernel resolves it.
	if r, err := filepath.EvalSymlinks(root); err == nil {
		root = r
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Cache{dir: cfg.Dir, root: root, gitBin: cfg.GitBin, log: cfg.Log, counted: cfg.Counted,
		maxBytes: cfg.MaxBytes, now: cfg.Now, sized: cfg.Sized, evicted: cfg.Evicted,
		ctx: ctx, cancel: cancel, ln: ln, entries: map[string]*entry{}}
	c.wg.Add(2)
	go c.serve()
	go c.janitor()
	return c, nil
}

func clearDir(dir string) error {
	names, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n.Name())); err != nil {
			return err
		}
	}
	return nil
}

// Close stops accepting requests, kills running producers and removes
// the cached packs.
func (c *Cache) Close() error {
	c.cancel()
	err := c.ln.Close()
	c.wg.Wait()
	_ = clearDir(c.dir)
	return err
}

func (c *Cache) count(result string) {
	if c.counted != nil {
		c.counted(result)
	}
}

// request is what a hook sends: the repository, pack-objects' arguments
// and its stdin.
type request struct {
	dir   string
	args  []string
	input []byte
}

func (c *Cache) serve() {
	defer c.wg.Done()
	for {
		conn, err := c.ln.Accept()
		if err != nil {
			return
		}
		c.wg.Add(1)
		go func() {
			defer c.wg.Done()
			defer conn.Close()
			c.handle(conn)
		}()
	}
}

// handle answers one hook: "F <path>\n" to follow, with an open
// descriptor of the file attached, then (after the producer ends) "0\n"
// or "1\n"; or "B\n" to pack by itself.
func (c *Cache) handle(conn net.Conn) {
	req, err := readRequest(bufio.NewReader(conn))
	if err != nil || !c.acceptable(req) {
		c.count(ResultBypass)
		fmt.Fprint(conn, "B\n")
		return
	}
	e, f, result, err := c.entryFor(req)
	if err != nil {
		c.log.Warn("pack cache: create file", "err", err)
		c.count(ResultBypass)
		fmt.Fprint(conn, "B\n")
		return
	}
	c.count(result)
	err = sendFollow(conn, e.path, f)
	f.Close()
	if err != nil {
		return
	}
	select {
	case <-e.done:
	case <-c.ctx.Done():
		return
	}
	status := "0\n"
	if e.failed {
		status = "1\n"
	}
	_, _ = io.WriteString(conn, status)
}

// acceptable keeps the socket from being a way to run arbitrary git: the
// repository must be below the storage root and the arguments those
// upload-pack passes.
func (c *Cache) acceptable(r *request) bool {
	dir := filepath.Clean(r.dir)
	if !filepath.IsAbs(dir) || !strings.HasPrefix(dir, c.root+string(filepath.Separator)) {
		return false
	}
	inRepo := func(p string) bool {
		if p == "" {
			return true // "no shallow file", as upload-pack passes it
		}
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, p)
		}
		return strings.HasPrefix(filepath.Clean(p), dir+string(filepath.Separator))
	}
	i, ok := subcommand(r.args)
	if !ok {
		return false
	}
	if i == 3 && !inRepo(r.args[2]) {
		return false
	}
	for i++; i < len(r.args); i++ {
		a := r.args[i]
		switch {
		case a == "--revs", a == "--thin", a == "--stdout", a == "--progress", a == "--delta-base-offset",
			a == "--include-tag", a == "--keep-true-parents", a == "--use-bitmap-index", a == "--shallow", a == "-q",
			strings.HasPrefix(a, "--filter="), strings.HasPrefix(a, "--missing="):
		default:
			return false
		}
	}
	return true
}

// subcommand finds "pack-objects" in upload-pack's hook arguments:
// "git [--shallow-file FILE] pack-objects options…". It returns its index.
func subcommand(args []string) (int, bool) {
	switch {
	case len(args) >= 2 && args[0] == "git" && args[1] == "pack-objects":
		return 1, true
	case len(args) >= 4 && args[0] == "git" && args[1] == "--shallow-file" && args[3] == "pack-objects":
		return 3, true
	}
	return 0, false
}

func key(r *request) string {
	sum := sha256.New()
	for _, part := range append([]string{filepath.Clean(r.dir)}, r.args...) {
		sum.Write([]byte(part))
		sum.Write([]byte{0})
	}
	sum.Write(r.input)
	return hex.EncodeToString(sum.Sum(nil))
}

// sendFollow tells a hook to follow the pack at path, passing f, open on
// it, along: the hook then reads the pack even if it is deleted before the
// hook could open it by name.
func sendFollow(conn net.Conn, path string, f *os.File) error {
	msg := []byte("F " + path + "\n")
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		_, err := conn.Write(msg)
		return err
	}
	_, _, err := uc.WriteMsgUnix(msg, syscall.UnixRights(int(f.Fd())), nil)
	return err
}

// entryFor returns the pack for r (cached, in production, or started now)
// and a descriptor open on its file for the hook; files are created and
// deleted under c.mu, so the file is there to open.
func (c *Cache) entryFor(r *request) (*entry, *os.File, string, error) {
	k := key(r)
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[k]; ok {
		select {
		case <-e.done:
			// Failed packs are never kept (finish), so this one is good.
			if c.now().Sub(e.created) < TTL {
				if f, err := os.Open(e.path); err == nil {
					return e, f, ResultHit, nil
				}
			}
			c.removeLocked(e, EvictedAge)
		default:
			// Joined whatever its age: a pack being produced is the
			// one this request wants.
			if f, err := os.Open(e.path); err == nil {
				return e, f, ResultShared, nil
			}
		}
	}
	e := &entry{key: k, path: filepath.Join(c.dir, k+fmt.Sprintf(".%d.pack", time.Now().UnixNano())), done: make(chan struct{}), created: c.now()}
	out, err := os.OpenFile(e.path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, "", err
	}
	f, err := os.Open(e.path)
	if err != nil {
		out.Close()
		_ = os.Remove(e.path)
		return nil, nil, "", err
	}
	e.out = out
	c.entries[k] = e
	c.wg.Add(1)
	go c.produce(r, e)
	return e, f, ResultMiss, nil
}

// produce runs pack-objects into e's file.
func (c *Cache) produce(r *request, e *entry) {
	defer c.wg.Done()
	f := e.out
	defer f.Close()
	defer c.finish(e)
	// The arguments are those acceptable let through.
	g := gitproc.Git().WithBin(c.gitBin).WithDir(r.dir)
	for _, a := range r.args[1:] {
		g.AddArgs(gitproc.Arg(a))
	}
	var stderr limited
	g.WithStdin(strings.NewReader(string(r.input))).WithStdout(f).WithStderr(&stderr)
	if err := g.Run(c.ctx); err != nil {
		e.failed = true
		c.log.Warn("pack cache: pack-objects failed", "repo", r.dir, "err", err, "stderr", strings.TrimSpace(stderr.String()))
	}
}

// finish records the end of e's producer: its final size, and whether it
// is kept at all.
func (c *Cache) finish(e *entry) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, err := e.out.Stat(); err == nil {
		e.size = st.Size()
	} else {
		e.failed = true
	}
	e.out = nil
	close(e.done)
	switch {
	case e.failed:
		c.removeLocked(e, "")
	case e.size > c.maxBytes:
		c.removeLocked(e, EvictedTooBig)
	}
	c.sweepLocked()
}

// removeLocked forgets a finished e and deletes its file; hooks reading
// it keep their descriptors. reason, unless empty, is counted.
func (c *Cache) removeLocked(e *entry, reason string) {
	if c.entries[e.key] == e {
		delete(c.entries, e.key)
	}
	_ = os.Remove(e.path)
	if reason != "" && c.evicted != nil {
		c.evicted(reason)
	}
}

// sweepLocked deletes finished packs older than TTL, then the oldest
// finished ones while the files on disk exceed maxBytes. Packs being
// produced are counted at their current size but never deleted: their
// followers may not have opened them yet and they are needed anyway.
func (c *Cache) sweepLocked() {
	var total int64
	var finished []*entry
	now := c.now()
	for _, e := range c.entries {
		if e.out != nil {
			if st, err := e.out.Stat(); err == nil {
				total += st.Size()
			}
			continue
		}
		if now.Sub(e.created) >= TTL {
			c.removeLocked(e, EvictedAge)
			continue
		}
		total += e.size
		finished = append(finished, e)
	}
	if total > c.maxBytes {
		slices.SortFunc(finished, func(a, b *entry) int { return a.created.Compare(b.created) })
		for _, e := range finished {
			if total <= c.maxBytes {
				break
			}
			c.removeLocked(e, EvictedSize)
			total -= e.size
		}
	}
	if c.sized != nil {
		c.sized(total)
	}
}

// janitor measures the packs being produced and applies TTL and
// maxBytes every sweepInterval.
func (c *Cache) janitor() {
	defer c.wg.Done()
	t := time.NewTicker(sweepInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
		}
		c.mu.Lock()
		c.sweepLocked()
		c.mu.Unlock()
	}
}

// limited keeps the first 4 KiB of stderr for the log.
type limited struct{ b []byte }

func (l *limited) Write(p []byte) (int, error) {
	if room := 4096 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (l *limited) String() string { return string(l.b) }

// The wire format of a request: three length-prefixed fields (dir, args
// joined by NUL, input).
func writeRequest(w io.Writer, r *request) error {
	for _, field := range [][]byte{[]byte(r.dir), []byte(strings.Join(r.args, "\x00")), r.input} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(field)))
		if _, err := w.Write(n[:]); err != nil {
			return err
		}
		if _, err := w.Write(field); err != nil {
			return err
		}
	}
	return nil
}

func readRequest(r io.Reader) (*request, error) {
	var fields [3][]byte
	for i := range fields {
		var n [8]byte
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return nil, err
		}
		size := binary.BigEndian.Uint64(n[:])
		if size > maxInput {
			return nil, errors.New("request too large")
		}
		fields[i] = make([]byte, size)
		if _, err := io.ReadFull(r, fields[i]); err != nil {
			return nil, err
		}
	}
	return &request{dir: string(fields[0]), args: strings.Split(string(fields[1]), "\x00"), input: fields[2]}, nil
}
