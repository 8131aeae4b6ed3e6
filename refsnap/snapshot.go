// Package refsnap keeps a per-repository snapshot of the refs of a bare
// repository and renders from it what `git upload-pack` would say about
// them: the protocol v0/v1 ref advertisement and protocol v2 `ls-refs`
// answers, byte for byte, so that the Git doors can answer them without
// starting git (docs/repositories.md#ref-advertisements).
//
// A snapshot reads HEAD, the loose refs under refs/ and packed-refs
// directly, and peels tags with go-git's object reader. Whatever it does
// not fully understand (hidden refs configured, a broken or oddly named
// ref, a symref chain, shallow or alternate object stores, an unusual
// object format) makes it Unusual: the doors then let git answer.
//
// A snapshot stays valid until Cache.Invalidate drops it (after a push,
// here or, through PostgreSQL NOTIFY, on another replica) or until a stat
// of HEAD, packed-refs, the config and every directory under refs/ shows
// a change (a push by plain git on the same disk).
package refsnap

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
	"github.com/go-git/go-git/v5/storage/filesystem/dotgit"

	"github.com/gitgate/gitgate/gitproc"
)

// Ref is one ref under refs/ as git advertises it.
type Ref struct {
	Name string
	// OID is the object the ref resolves to, in hex.
	OID string
	// Peeled is the object an annotated tag (or a chain of them) finally
	// points to; empty when OID is not a tag.
	Peeled string
	// Target is the ref a symbolic ref points to; empty otherwise.
	Target string
}

// Snapshot is the refs of one repository at one moment. It is read-only
// once built and shared by every request that uses it.
type Snapshot struct {
	// Head: HeadTarget is the ref HEAD points to (empty when detached);
	// HeadOID what HEAD resolves to, empty when the branch is unborn.
	HeadTarget string
	HeadOID    string
	HeadPeeled string
	// Refs are sorted by name (byte order), as git iterates them.
	Refs []Ref
	// Unusual says why git must answer for this repository instead
	// ("" when the snapshot can be used).
	Unusual string

	stamp stamp
}

// racyWindow: a file changed less than this before the snapshot was read
// may change again within the file system's timestamp granularity
// without its mtime moving, so such a snapshot is used once, not kept.
const racyWindow = 100 * time.Millisecond

// maxRefs bounds what a snapshot holds; a repository with more refs is
// left to git rather than held in memory.
const maxRefs = 100_000

// unusualConfig are configuration keys (section.key, lowercased) that
// change what git advertises in ways a snapshot does not model; include
// and includeIf sections bring in files that are not watched.
var unusualConfig = map[string]bool{
	"uploadpack.hiderefs": true, "transfer.hiderefs": true, "transfer.advertisesid": true,
	"extensions.objectformat": true, "extensions.refstorage": true, "core.precomposeunicode": true,
}

// unusualConfigKey returns the first key of a git config file that
// unusualConfig names, or "". It reads only the keys, not the values
// (a path in a remote's URL may say anything).
func unusualConfigKey(text string) string {
	section := ""
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", line[0] == '#', line[0] == ';':
			continue
		case line[0] == '[':
			name := strings.ToLower(strings.TrimPrefix(line, "["))
			if i := strings.IndexAny(name, " \t\".]"); i >= 0 {
				name = name[:i]
			}
			section = name
			if section == "include" || section == "includeif" {
				return section
			}
			// "[section] key = value" on one line.
			_, rest, _ := strings.Cut(line, "]")
			line = strings.TrimSpace(rest)
			if line == "" {
				continue
			}
		}
		key := strings.ToLower(line)
		if i := strings.IndexAny(key, " \t="); i >= 0 {
			key = key[:i]
		}
		if unusualConfig[section+"."+key] {
			return section + "." + key
		}
	}
	return ""
}

// buildAttempts bounds how often Build starts over when a pack vanished
// while it read.
const buildAttempts = 5

// Build reads the refs of the bare repository dir.
//
// A repack (housekeeping, or git gc by hand) deletes the packs it
// replaced: a reader that listed the packs just before then finds one
// gone. git itself rescans the pack directory and tries again; so does
// Build, shortly after, with a fresh object reader, which sees the new
// packs.
//
// A ref whose object is missing after every attempt is a broken
// repository: the snapshot is Unusual and git answers.
func Build(ctx context.Context, dir string) (*Snapshot, error) {
	for attempt := 1; ; attempt++ {
		s, err := build(ctx, dir)
		var missing errMissingObject
		switch {
		case err == nil:
			return s, nil
		case attempt < buildAttempts && (errors.Is(err, dotgit.ErrPackfileNotFound) || errors.As(err, &missing)):
			// A repack deletes its old packs one after another: give it
			// a moment (5, 10, 20, 40 ms) rather than trip over each.
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(time.Duration(5<<(attempt-1)) * time.Millisecond):
			}
			continue
		case errors.As(err, &missing):
			return unusual(s, string(missing)), nil
		}
		return nil, err
	}
}

func build(ctx context.Context, dir string) (*Snapshot, error) {
	start := time.Now()
	s := &Snapshot{}
	st := &s.stamp
	// Configuration first: it decides whether the rest is worth reading.
	for _, p := range append([]string{filepath.Join(dir, "config")}, gitproc.GlobalConfigFiles()...) {
		fi := st.add(p)
		if fi == nil {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", p, err)
		}
		if k := unusualConfigKey(string(b)); k != "" {
			s.Unusual = "configuration " + k + " in " + p
		}
	}
	for _, p := range []string{"shallow", "objects/info/alternates", "reftable", "commondir"} {
		if st.add(filepath.Join(dir, p)) != nil {
			s.Unusual = p + " present"
		}
	}
	if s.Unusual == "" {
		if err := s.read(ctx, dir); err != nil {
			st.racy = true
			return s, err
		}
	}
	st.racy = st.newest.After(start.Add(-racyWindow))
	return unusual(s, s.Unusual), nil
}

// unusual marks s as not modelled (when why is not empty) and forgets
// what it read.
func unusual(s *Snapshot, why string) *Snapshot {
	if why != "" {
		s.Unusual = why
		s.HeadTarget, s.HeadOID, s.HeadPeeled, s.Refs = "", "", "", nil
	}
	return s
}

// errUnusual marks something the reader does not model.
type errUnusual string

func (e errUnusual) Error() string { return string(e) }

// errMissingObject is a ref's object not found: a broken repository, or
// a repack that replaced the packs while they were read (Build tries
// again).
type errMissingObject string

func (e errMissingObject) Error() string { return string(e) }

func (s *Snapshot) read(ctx context.Context, dir string) error {
	err := s.readRefs(ctx, dir)
	var u errUnusual
	if errors.As(err, &u) {
		s.Unusual = string(u)
		return nil
	}
	return err
}

func (s *Snapshot) readRefs(ctx context.Context, dir string) error {
	// Loose refs before packed-refs, as git reads them: a pack-refs
	// running meanwhile moves refs from the first to the second, never
	// the other way.
	loose := map[string]string{} // name → raw content
	if err := s.walkLoose(dir, "refs", loose); err != nil {
		return err
	}
	packed, err := s.readPacked(dir)
	if err != nil {
		return err
	}
	headFile := filepath.Join(dir, "HEAD")
	if s.stamp.add(headFile) == nil {
		return errUnusual("no HEAD")
	}
	headRaw, err := os.ReadFile(headFile)
	if err != nil {
		return fmt.Errorf("read HEAD: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}

	// Every ref: a loose one wins over its packed copy.
	type entry struct {
		oid, target string
		peeled      string
		knowsPeeled bool
	}
	all := make(map[string]entry, len(loose)+len(packed))
	for name, p := range packed {
		all[name] = entry{oid: p.oid, peeled: p.peeled, knowsPeeled: p.knowsPeeled}
	}
	for name, raw := range loose {
		oid, target, ok := parseRefContent(raw)
		if !ok {
			return errUnusual("loose ref " + name + " not understood")
		}
		all[name] = entry{oid: oid, target: target}
	}
	if len(all) > maxRefs {
		return errUnusual("too many refs")
	}
	resolve := func(name string) (string, error) {
		e, ok := all[name]
		if !ok {
			return "", errUnusual("symref to missing " + name)
		}
		if e.target != "" {
			return "", errUnusual("symref chain through " + name)
		}
		return e.oid, nil
	}

	objects := newObjectReader(dir)
	defer objects.close()
	names := make([]string, 0, len(all))
	for name := range all {
		if strings.HasPrefix(name, "refs/replace/") {
			return errUnusual("replace refs")
		}
		names = append(names, name)
	}
	sort.Strings(names)
	s.Refs = make([]Ref, 0, len(names))
	for i, name := range names {
		if i%256 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		e := all[name]
		r := Ref{Name: name, OID: e.oid, Target: e.target}
		if e.target != "" {
			if r.OID, err = resolve(e.target); err != nil {
				return err
			}
		}
		switch {
		case e.knowsPeeled && e.target == "":
			// packed-refs says; git checks only that the object exists.
			if err := objects.exists(r.OID); err != nil {
				return err
			}
			r.Peeled = e.peeled
		default:
			if r.Peeled, err = objects.peel(r.OID); err != nil {
				return err
			}
		}
		s.Refs = append(s.Refs, r)
	}

	oid, target, ok := parseRefContent(string(headRaw))
	switch {
	case !ok:
		return errUnusual("HEAD not understood")
	case target != "":
		if !strings.HasPrefix(target, "refs/") || !validRefName(target) {
			return errUnusual("HEAD points outside refs/")
		}
		s.HeadTarget = target
		if e, exists := all[target]; exists {
			if e.target != "" {
				return errUnusual("HEAD points to a symref")
			}
			s.HeadOID = e.oid
		}
	default:
		s.HeadOID = oid
	}
	if s.HeadOID != "" {
		if s.HeadPeeled, err = objects.peel(s.HeadOID); err != nil {
			return err
		}
	}
	return nil
}

// walkLoose collects the loose refs under rel (a directory of dir),
// stamping every directory before reading it.
func (s *Snapshot) walkLoose(dir, rel string, out map[string]string) error {
	path := filepath.Join(dir, rel)
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && rel == "refs" {
		return errUnusual("no refs directory")
	}
	if err != nil {
		return fmt.Errorf("read refs: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read refs: %w", err)
	}
	s.stamp.record(path, fi)
	entries, err := f.ReadDir(-1)
	if err != nil {
		return fmt.Errorf("read refs: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		// git skips these too: lock files of updates in flight, and
		// names starting with a dot.
		if strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".lock") {
			continue
		}
		name := rel + "/" + n
		switch {
		case e.IsDir():
			if err := s.walkLoose(dir, name, out); err != nil {
				return err
			}
		case e.Type().IsRegular():
			if !validRefName(name) {
				return errUnusual("ref name " + name)
			}
			b, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted meanwhile: the directory's mtime moved
			}
			if err != nil {
				return fmt.Errorf("read ref %s: %w", name, err)
			}
			out[name] = string(b)
		default:
			return errUnusual("not a regular file: " + name)
		}
	}
	return nil
}

type packedRef struct {
	oid, peeled string
	knowsPeeled bool
}

// readPacked parses packed-refs (git's packed-backend format).
func (s *Snapshot) readPacked(dir string) (map[string]packedRef, error) {
	path := filepath.Join(dir, "packed-refs")
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		s.stamp.add(path)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	s.stamp.record(path, fi)
	b := make([]byte, fi.Size())
	if _, err := readFull(f, b); err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	refs := map[string]packedRef{}
	peeledTrait, fullyPeeled := false, false
	if rest, ok := bytes.CutPrefix(b, []byte("# pack-refs with:")); ok {
		line, after, _ := bytes.Cut(rest, []byte("\n"))
		traits := " " + string(line) + " "
		peeledTrait = strings.Contains(traits, " peeled ")
		fullyPeeled = strings.Contains(traits, " fully-peeled ")
		b = after
	}
	last := ""
	for len(b) > 0 {
		line, rest, found := bytes.Cut(b, []byte("\n"))
		if !found {
			return nil, errUnusual("packed-refs without a final newline")
		}
		b = rest
		if len(line) > 0 && line[0] == '^' {
			p, ok := refs[last]
			if last == "" || !ok || !isHex(string(line[1:])) || p.peeled != "" {
				return nil, errUnusual("packed-refs peel line")
			}
			p.peeled = string(line[1:])
			refs[last] = p
			continue
		}
		oid, name, ok := strings.Cut(string(line), " ")
		if !ok || !isHex(oid) || !validRefName(name) || !strings.HasPrefix(name, "refs/") {
			return nil, errUnusual("packed-refs line not understood")
		}
		if _, dup := refs[name]; dup {
			return nil, errUnusual("packed-refs duplicate")
		}
		knows := fullyPeeled || (peeledTrait && strings.HasPrefix(name, "refs/tags/"))
		refs[name] = packedRef{oid: oid, knowsPeeled: knows}
		last = name
	}
	return refs, nil
}

func readFull(f *os.File, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		k, err := f.Read(b[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// parseRefContent reads a loose ref (or HEAD): "<oid>\n" or
// "ref: <target>\n", exactly as git writes them.
func parseRefContent(raw string) (oid, target string, ok bool) {
	line, ok := strings.CutSuffix(raw, "\n")
	if !ok || strings.ContainsAny(line, "\n\r") {
		return "", "", false
	}
	if t, sym := strings.CutPrefix(line, "ref: "); sym {
		return "", t, t != "" && validRefName(t)
	}
	if !isHex(line) {
		return "", "", false
	}
	if line == strings.Repeat("0", 40) {
		return "", "", false
	}
	return line, "", true
}

// isHex: a SHA-1 object name in lower-case hex, as git writes them.
func isHex(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// validRefName is the part of git's check_refname_format that a ref read
// from disk needs: anything it refuses, git may treat differently (skip,
// warn, die), so the snapshot leaves the repository to git.
func validRefName(name string) bool {
	if name == "" || name == "@" || strings.HasSuffix(name, "/") || strings.HasSuffix(name, ".") ||
		strings.Contains(name, "..") || strings.Contains(name, "@{") {
		return false
	}
	for _, comp := range strings.Split(name, "/") {
		if comp == "" || strings.HasPrefix(comp, ".") || strings.HasSuffix(comp, ".lock") {
			return false
		}
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c < 0x20 || c == 0x7f || c >= 0x80 || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
			return false
		}
	}
	return true
}

// objectReader peels tags with go-git's object store.
type objectReader struct {
	st *filesystem.Storage
}

func newObjectReader(dir string) *objectReader {
	return &objectReader{st: filesystem.NewStorageWithOptions(osfs.New(dir), cache.NewObjectLRU(1<<20), filesystem.Options{})}
}

func (o *objectReader) close() { _ = o.st.Close() }

func (o *objectReader) exists(oid string) error {
	if err := o.st.HasEncodedObject(plumbing.NewHash(oid)); err != nil {
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return errMissingObject("missing object " + oid)
		}
		return fmt.Errorf("read object %s: %w", oid, err)
	}
	return nil
}

// peel returns the object a tag (or a chain of tags) finally points to,
// or "" when oid is not a tag.
func (o *objectReader) peel(oid string) (string, error) {
	h := plumbing.NewHash(oid)
	peeled := ""
	for depth := 0; ; depth++ {
		obj, err := o.st.EncodedObject(plumbing.AnyObject, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return "", errMissingObject("missing object " + h.String())
		}
		if err != nil {
			return "", fmt.Errorf("read object %s: %w", h, err)
		}
		if obj.Type() != plumbing.TagObject {
			return peeled, nil
		}
		if depth > 32 {
			return "", errUnusual("tag chain too long")
		}
		tag, err := object.DecodeTag(o.st, obj)
		if err != nil {
			return "", errUnusual("tag " + h.String() + " not understood")
		}
		h = tag.Target
		peeled = hex.EncodeToString(h[:])
	}
}
