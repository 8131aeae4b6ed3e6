package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/sshserver"
	"github.com/gitgate/gitgate/store"
)

// Config names the instance to back up or restore into.
type Config struct {
	DataDir     string
	DatabaseURL string
	// RepoRoot is where the bare repositories live.
	RepoRoot string
	// SecretKeyBase is GITGATE_SECRET_KEY_BASE. When set, the key is not
	// in a file and so not in the archive; a restore checks it against
	// the archive before writing anything.
	SecretKeyBase string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

func (c Config) now() time.Time {
	if c.Now == nil {
		return time.Now()
	}
	return c.Now()
}

func (c Config) postgres() bool {
	return strings.HasPrefix(c.DatabaseURL, "postgres://") || strings.HasPrefix(c.DatabaseURL, "postgresql://")
}

// Report is what Create wrote or Restore restored.
type Report struct {
	Manifest *Manifest
	// Warnings are things the operator must know (one line each).
	Warnings []string
}

// Create writes the instance to the archive file to, which must not
// exist. The archive appears only once it is complete: it is written
// aside and renamed into place, so a failed backup leaves nothing.
func Create(ctx context.Context, cfg Config, to string) (*Report, error) {
	if _, err := os.Lstat(to); err == nil {
		return nil, fmt.Errorf("%s already exists: choose a new file name", to)
	}
	if st, err := os.Stat(filepath.Dir(to)); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("directory %s does not exist", filepath.Dir(to))
	}
	var pgDump string
	if cfg.postgres() {
		p, err := lookTool("pg_dump")
		if err != nil {
			return nil, err
		}
		pgDump = p
	} else if _, err := os.Stat(store.SQLitePath(cfg.DataDir, cfg.DatabaseURL)); err != nil {
		return nil, fmt.Errorf("no database at %s: nothing to back up", store.SQLitePath(cfg.DataDir, cfg.DatabaseURL))
	}
	work, err := os.MkdirTemp(filepath.Dir(to), ".gitgate-backup-")
	if err != nil {
		return nil, fmt.Errorf("create a work directory: %w", err)
	}
	defer os.RemoveAll(work)

	db, err := store.Open(ctx, cfg.DataDir, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	defer db.Close()
	m := &Manifest{Format: Format, CreatedAt: cfg.now().UTC().Truncate(time.Second), HostKeys: []string{}, Projects: []Project{}}
	rep := &Report{Manifest: m}
	if m.SecretKeyCheck, err = db.SecretKeyCheck(ctx); err != nil {
		return nil, fmt.Errorf("read the secret key check value: %w", err)
	}

	// The database first: the repositories copied after it hold at
	// least every ref it knows of.
	dbFile, ids, err := snapshotDatabase(ctx, cfg, db, m, pgDump, work)
	if err != nil {
		return nil, err
	}
	keyFile, err := secretKey(cfg, m, rep)
	if err != nil {
		return nil, err
	}
	hostKeys := filepath.Join(cfg.DataDir, sshserver.HostKeyDir)
	if entries, err := os.ReadDir(hostKeys); err == nil {
		for _, e := range entries {
			if e.Type().IsRegular() && hostKeyName.MatchString(e.Name()) {
				m.HostKeys = append(m.HostKeys, e.Name())
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the SSH host keys: %w", err)
	}
	if len(m.HostKeys) == 0 {
		rep.Warnings = append(rep.Warnings, "no SSH host keys in "+hostKeys+": a restored server generates new ones, which clients will not recognise")
	}
	bundles := filepath.Join(work, "repositories")
	if err := os.Mkdir(bundles, 0o700); err != nil {
		return nil, err
	}
	disk := repos.New(nil, cfg.RepoRoot, nil)
	for _, id := range ids {
		p, warning, err := bundleRepository(ctx, disk.DiskPath(id), id, filepath.Join(bundles, fmt.Sprintf("%d.bundle", id)))
		if err != nil {
			return nil, err
		}
		if warning != "" {
			rep.Warnings = append(rep.Warnings, warning)
		}
		m.Projects = append(m.Projects, p)
	}

	if err := writeArchive(to, work, m, dbFile, keyFile, hostKeys, bundles); err != nil {
		return nil, err
	}
	return rep, nil
}

// snapshotDatabase writes the database snapshot into work and returns its
// file and the projects it holds.
func snapshotDatabase(ctx context.Context, cfg Config, db *store.DB, m *Manifest, pgDump, work string) (string, []int64, error) {
	if db.Dialect() == store.Postgres {
		m.Database = "postgres"
		conn, err := newPGConn(cfg.DatabaseURL)
		if err != nil {
			return "", nil, err
		}
		file := filepath.Join(work, "postgres.dump")
		var ids []int64
		err = db.ExportSnapshot(ctx, func(snapshot, schema string, projects []int64) error {
			m.Schema, ids = schema, projects
			return conn.dump(ctx, pgDump, snapshot, schema, file)
		})
		if err != nil {
			return "", nil, fmt.Errorf("dump the PostgreSQL database: %w", err)
		}
		return file, ids, nil
	}
	m.Database = "sqlite"
	file := filepath.Join(work, "gitgate.db")
	if err := db.VacuumInto(ctx, file); err != nil {
		return "", nil, err
	}
	// The projects of the copy, not of the live database: only those
	// have rows to restore.
	cp, err := store.Open(ctx, work, "sqlite:"+file)
	if err != nil {
		return "", nil, err
	}
	defer cp.Close()
	ids, err := cp.ProjectIDs(ctx)
	return file, ids, err
}

// secretKey records where the instance's key lives and returns the key
// file to archive, if any.
func secretKey(cfg Config, m *Manifest, rep *Report) (string, error) {
	file := filepath.Join(cfg.DataDir, secrets.KeyFileName)
	_, err := os.Stat(file)
	switch {
	case strings.TrimSpace(cfg.SecretKeyBase) != "":
		m.SecretKey = KeyInEnvironment
		rep.Warnings = append(rep.Warnings, "the secret key comes from GITGATE_SECRET_KEY_BASE and is not in the archive: keep it safe, a restore needs the same value")
		return "", nil
	case err == nil:
		m.SecretKey = KeyInFile
		return file, nil
	case errors.Is(err, fs.ErrNotExist):
		m.SecretKey = KeyNone
		if m.SecretKeyCheck != "" {
			return "", fmt.Errorf("the database has a secret key but GITGATE_SECRET_KEY_BASE is unset and %s does not exist: back up with the key the servers use", file)
		}
		return "", nil
	}
	return "", fmt.Errorf("read the secret key file: %w", err)
}

// bundleRepository writes the repository of project id to file with git
// bundle, at low priority. A repository with no ref has no bundle; one
// deleted since the database snapshot is recorded empty.
func bundleRepository(ctx context.Context, dir string, id int64, file string) (Project, string, error) {
	p := Project{ID: id}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return p, fmt.Sprintf("project %d: its repository was deleted during the backup; it is restored empty", id), nil
	}
	head, err := gitproc.Git("symbolic-ref", "--quiet", "HEAD").WithGitDir(dir).Output(ctx)
	if err != nil {
		return p, "", fmt.Errorf("project %d: read HEAD of %s: %w", id, dir, err)
	}
	p.Head = strings.TrimSpace(string(head))
	refs, err := countRefs(ctx, dir)
	if err != nil || refs == 0 {
		return p, "", err
	}
	var stderr bytes.Buffer
	err = gitproc.Git("bundle", "create", "--quiet").AddValues(file).AddArgs("--all").
		WithGitDir(dir).WithNice(10).WithStderr(&stderr).Run(ctx)
	if err != nil {
		// Every ref deleted since it was counted: empty now.
		if n, cerr := countRefs(ctx, dir); cerr == nil && n == 0 {
			return p, "", nil
		}
		return p, "", fmt.Errorf("project %d: git bundle create: %v: %s", id, err, strings.TrimSpace(stderr.String()))
	}
	heads, err := gitproc.Git("bundle", "list-heads").AddValues(file).WithGitDir(dir).Output(ctx)
	if err != nil {
		return p, "", fmt.Errorf("project %d: read the bundle: %w", id, err)
	}
	for _, l := range strings.Split(string(heads), "\n") {
		if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[1], "refs/") {
			p.Refs++
		}
	}
	p.Bundle = bundleName(id)
	return p, "", nil
}

func countRefs(ctx context.Context, dir string) (int, error) {
	out, err := gitproc.Git("for-each-ref", "--format=%(refname)").WithGitDir(dir).Output(ctx)
	if err != nil {
		return 0, fmt.Errorf("list the refs of %s: %w", dir, err)
	}
	return len(strings.Fields(string(out))), nil
}

// writeArchive writes the archive beside to and renames it into place.
func writeArchive(to, work string, m *Manifest, dbFile, keyFile, hostKeys, bundles string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(to), ".gitgate-backup-*.tar.gz")
	if err != nil {
		return fmt.Errorf("create the archive: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	// The archive holds the secret key and password hashes.
	if err := f.Chmod(0o600); err != nil {
		return err
	}
	manifest, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	a := newArchiveWriter(f, m.CreatedAt)
	if err := a.addBytes(manifestName, manifest); err != nil {
		return err
	}
	dbName := sqliteName
	if m.Database == "postgres" {
		dbName = postgresName
	}
	if err := a.addFile(dbName, dbFile); err != nil {
		return err
	}
	if keyFile != "" {
		if err := a.addFile(keyFileName, keyFile); err != nil {
			return err
		}
	}
	for _, k := range m.HostKeys {
		if err := a.addFile(hostKeysDir+k, filepath.Join(hostKeys, k)); err != nil {
			return err
		}
	}
	for _, p := range m.Projects {
		if p.Bundle != "" {
			if err := a.addFile(p.Bundle, filepath.Join(bundles, fmt.Sprintf("%d.bundle", p.ID))); err != nil {
				return err
			}
		}
	}
	if err := a.close(); err != nil {
		return fmt.Errorf("write the archive: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write the archive: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write the archive: %w", err)
	}
	// Link rather than rename: a file created at to meanwhile is kept.
	if err := os.Link(f.Name(), to); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%s appeared during the backup: choose a new file name", to)
		}
		// A file system without hard links.
		if err := os.Rename(f.Name(), to); err != nil {
			return fmt.Errorf("move the archive into place: %w", err)
		}
		return nil
	}
	return os.Remove(f.Name())
}
