// Package backup writes a gitgate instance to one archive and restores
// it (docs/operations.md#backup-and-restore): the database as one
// consistent snapshot (SQLite's VACUUM INTO, PostgreSQL's pg_dump on an
// exported snapshot), then every repository of that snapshot as a git
// bundle, the SSH host keys and the secret key file.
//
// A bundle is written by git from the refs it reads once and the objects
// they reach, so a push or a repack running at the same time never puts
// a half-changed repository in the archive; and since repositories are
// copied after the database snapshot, every ref the database's projects
// point at is there.
package backup

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"regexp"
	"strings"
	"time"
)

// Format is the archive format this gitgate writes and reads.
const Format = 1

// Members of an archive.
const (
	manifestName = "gitgate-backup.json"
	sqliteName   = "database/gitgate.db"
	postgresName = "database/postgres.dump"
	keyFileName  = "secret_key"
	hostKeysDir  = "ssh/"
	bundlesDir   = "repositories/"
)

// Where the secret key of an instance lives, as the manifest records it.
const (
	// KeyInFile: the key file <data-dir>/secret_key, which the archive
	// holds.
	KeyInFile = "file"
	// KeyInEnvironment: GITGATE_SECRET_KEY_BASE, which the archive does
	// not hold; the restored instance needs the same value.
	KeyInEnvironment = "environment"
	// KeyNone: the instance has no key yet (no process has started).
	KeyNone = "none"
)

// Manifest describes an archive; it is its first member.
type Manifest struct {
	Format    int       `json:"format"`
	CreatedAt time.Time `json:"created_at"`
	// Database is "sqlite" or "postgres".
	Database string `json:"database"`
	// Schema is the PostgreSQL schema dumped.
	Schema string `json:"postgres_schema,omitempty"`
	// SecretKey is KeyInFile, KeyInEnvironment or KeyNone.
	SecretKey string `json:"secret_key"`
	// SecretKeyCheck is the database's key check value, so a restore can
	// prove the key it will run with before writing anything.
	SecretKeyCheck string    `json:"secret_key_check,omitempty"`
	HostKeys       []string  `json:"host_keys"`
	Projects       []Project `json:"projects"`
}

// Project is one repository of an archive.
type Project struct {
	ID int64 `json:"id"`
	// Head is the ref HEAD names (the default branch).
	Head string `json:"head"`
	// Refs counts the refs in the bundle; 0 means an empty repository,
	// which has no bundle.
	Refs   int    `json:"refs"`
	Bundle string `json:"bundle,omitempty"`
}

func bundleName(id int64) string { return fmt.Sprintf("%s%d.bundle", bundlesDir, id) }

// hostKeyName accepts the plain file names of the host key directory.
var hostKeyName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// archiveWriter writes members to a gzip-compressed tar stream.
type archiveWriter struct {
	gz  *gzip.Writer
	tw  *tar.Writer
	now time.Time
}

func newArchiveWriter(w io.Writer, now time.Time) *archiveWriter {
	gz := gzip.NewWriter(w)
	return &archiveWriter{gz: gz, tw: tar.NewWriter(gz), now: now}
}

func (a *archiveWriter) addBytes(name string, b []byte) error {
	if err := a.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: int64(len(b)), ModTime: a.now, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := a.tw.Write(b); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (a *archiveWriter) addFile(name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if err := a.tw.WriteHeader(&tar.Header{Name: name, Mode: 0o600, Size: st.Size(), ModTime: a.now, Typeflag: tar.TypeReg}); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := io.Copy(a.tw, f); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func (a *archiveWriter) close() error {
	return errors.Join(a.tw.Close(), a.gz.Close())
}

// archiveReader reads an archive: the manifest first, then the members.
type archiveReader struct {
	f  *os.File
	gz *gzip.Reader
	tr *tar.Reader
}

// openArchive opens file and reads its manifest.
func openArchive(file string) (*archiveReader, *Manifest, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, nil, fmt.Errorf("open the archive: %w", err)
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s is not a gitgate backup (not gzip-compressed)", file)
	}
	r := &archiveReader{f: f, gz: gz, tr: tar.NewReader(gz)}
	h, err := r.tr.Next()
	if err != nil || h.Name != manifestName {
		r.close()
		return nil, nil, fmt.Errorf("%s is not a gitgate backup (it does not start with %s)", file, manifestName)
	}
	var m Manifest
	if err := json.NewDecoder(io.LimitReader(r.tr, 64<<20)).Decode(&m); err != nil {
		r.close()
		return nil, nil, fmt.Errorf("%s: unreadable manifest: %w", file, err)
	}
	if m.Format != Format {
		r.close()
		return nil, nil, fmt.Errorf("%s is a backup of format %d; this gitgate reads format %d", file, m.Format, Format)
	}
	if err := m.check(); err != nil {
		r.close()
		return nil, nil, fmt.Errorf("%s: %w", file, err)
	}
	return r, &m, nil
}

// check refuses a manifest whose names could lead outside the restore.
func (m *Manifest) check() error {
	switch m.Database {
	case "sqlite", "postgres":
	default:
		return fmt.Errorf("unknown database kind %q in the manifest", m.Database)
	}
	for _, k := range m.HostKeys {
		if !hostKeyName.MatchString(k) {
			return fmt.Errorf("bad host key name %q in the manifest", k)
		}
	}
	for _, p := range m.Projects {
		if p.Bundle != "" && p.Bundle != bundleName(p.ID) {
			return fmt.Errorf("bad bundle name %q in the manifest", p.Bundle)
		}
		if p.Head != "" && !strings.HasPrefix(p.Head, "refs/heads/") {
			return fmt.Errorf("bad HEAD %q of project %d in the manifest", p.Head, p.ID)
		}
	}
	return nil
}

// next returns the next member's clean name and content, io.EOF at the
// end.
func (r *archiveReader) next() (string, io.Reader, error) {
	h, err := r.tr.Next()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return "", nil, io.EOF
		}
		return "", nil, fmt.Errorf("read the archive: %w", err)
	}
	if h.Typeflag != tar.TypeReg || path.Clean(h.Name) != h.Name || strings.HasPrefix(h.Name, "/") || strings.Contains(h.Name, "..") {
		return "", nil, fmt.Errorf("read the archive: unexpected member %q", h.Name)
	}
	return h.Name, r.tr, nil
}

func (r *archiveReader) close() {
	r.gz.Close()
	r.f.Close()
}
