package backup

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/sshserver"
	"github.com/gitgate/gitgate/store"
)

// Restore restores the archive file into cfg's data directory and
// database, both of which must be empty (or not exist yet). Everything is
// checked before anything is written, then written all or nothing: the
// files are unpacked in a staging directory inside the data directory
// and moved into place, and a PostgreSQL dump is loaded in one
// transaction; if any step fails, what was written is removed again.
func Restore(ctx context.Context, cfg Config, file string) (_ *Report, err error) {
	r, m, err := openArchive(file)
	if err != nil {
		return nil, err
	}
	defer r.close()
	rep := &Report{Manifest: m}
	target := &restoreTarget{cfg: cfg, m: m}
	if err := target.check(ctx); err != nil {
		return nil, err
	}

	// From here on, everything written is undone on failure.
	if _, statErr := os.Stat(cfg.DataDir); errors.Is(statErr, fs.ErrNotExist) {
		target.createdDataDir = true
	}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create the data directory: %w", err)
	}
	defer func() {
		if err != nil {
			target.undo()
		}
	}()
	if target.staging, err = os.MkdirTemp(cfg.DataDir, ".restore-"); err != nil {
		return nil, fmt.Errorf("create a staging directory: %w", err)
	}
	defer os.RemoveAll(target.staging)
	if err := target.unpack(r); err != nil {
		return nil, err
	}
	if err := target.restoreRepositories(ctx); err != nil {
		return nil, err
	}
	if err := target.moveIntoPlace(); err != nil {
		return nil, err
	}
	if target.pg != nil {
		if err := target.pg.restore(ctx, target.pgRestore, target.dumpFile(), filepath.Join(target.staging, "restore.list"), m.Schema, target.schemaExists); err != nil {
			return nil, fmt.Errorf("restore the PostgreSQL database: %w", err)
		}
	}
	if m.SecretKey == KeyInEnvironment {
		rep.Warnings = append(rep.Warnings, "the secret key is not in the archive: every gitgate process of the restored instance needs the same GITGATE_SECRET_KEY_BASE")
	}
	return rep, nil
}

// restoreTarget is the data directory and database being restored into.
type restoreTarget struct {
	cfg Config
	m   *Manifest

	pg           *pgConn
	pgRestore    string
	schemaExists bool
	sqlitePath   string

	createdDataDir bool
	staging        string
	// moved are the paths Restore has put in place so far.
	moved []string
}

// check refuses, before anything is written, a target that is not empty,
// of the wrong engine, or whose secret key would not open the archive's
// secrets.
func (t *restoreTarget) check(ctx context.Context) error {
	want := "sqlite"
	if t.cfg.postgres() {
		want = "postgres"
	}
	if t.m.Database != want {
		return fmt.Errorf("the archive holds a %s database but GITGATE_DATABASE_URL names %s: restore into the same kind", t.m.Database, want)
	}
	if err := t.checkSecretKey(); err != nil {
		return err
	}
	if err := checkEmptyDir(t.cfg.DataDir); err != nil {
		return err
	}
	if want == "sqlite" {
		t.sqlitePath = store.SQLitePath(t.cfg.DataDir, t.cfg.DatabaseURL)
		if _, err := os.Lstat(t.sqlitePath); err == nil {
			return fmt.Errorf("the database %s already exists: restore needs an empty data directory and database", t.sqlitePath)
		}
		return nil
	}
	p, err := lookTool("pg_restore")
	if err != nil {
		return err
	}
	t.pgRestore = p
	if t.pg, err = newPGConn(t.cfg.DatabaseURL); err != nil {
		return err
	}
	if t.pg.schema != t.m.Schema {
		return fmt.Errorf("the archive holds PostgreSQL schema %q but GITGATE_DATABASE_URL works in %q: add search_path=%s to it", t.m.Schema, t.pg.schema, t.m.Schema)
	}
	db, err := store.Open(ctx, "", t.cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	exists, relations, err := db.SchemaState(ctx, t.m.Schema)
	if err != nil {
		return err
	}
	if relations > 0 {
		return fmt.Errorf("the database is not empty (schema %s holds %d tables and sequences): restore needs an empty database", t.m.Schema, relations)
	}
	t.schemaExists = exists
	return nil
}

// checkSecretKey proves that the key the restored instance will run with
// is the archive's, when the archive does not hold it.
func (t *restoreTarget) checkSecretKey() error {
	base := strings.TrimSpace(t.cfg.SecretKeyBase)
	if base == "" {
		if t.m.SecretKey == KeyInEnvironment {
			return errors.New("the archive's secrets are encrypted under a GITGATE_SECRET_KEY_BASE that is not in the archive: set it to the same value and run restore again")
		}
		return nil
	}
	if t.m.SecretKeyCheck == "" {
		return nil
	}
	ring, err := secrets.NewKeyring(base, "", "GITGATE_SECRET_KEY_BASE")
	if err != nil {
		return fmt.Errorf("GITGATE_SECRET_KEY_BASE: %w", err)
	}
	if ring.CheckValue() == t.m.SecretKeyCheck {
		return nil
	}
	if t.m.SecretKey == KeyInFile {
		return errors.New("GITGATE_SECRET_KEY_BASE is set but the archive's secrets are encrypted under the key file it holds: unset GITGATE_SECRET_KEY_BASE")
	}
	return errors.New("GITGATE_SECRET_KEY_BASE is not the key the archive's secrets are encrypted under: use the value of the backed-up instance")
}

// checkEmptyDir accepts a directory that does not exist or holds nothing
// but a file system's lost+found.
func checkEmptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the data directory: %w", err)
	}
	for _, e := range entries {
		if e.Name() != "lost+found" {
			return fmt.Errorf("the data directory %s is not empty (it holds %s): restore needs an empty data directory", dir, e.Name())
		}
	}
	return nil
}

func (t *restoreTarget) dumpFile() string { return filepath.Join(t.staging, "postgres.dump") }

// unpack writes the archive's members into the staging directory and
// checks that every member the manifest names was there.
func (t *restoreTarget) unpack(r *archiveReader) error {
	expected := map[string]bool{}
	if t.m.Database == "postgres" {
		expected[postgresName] = true
	} else {
		expected[sqliteName] = true
	}
	if t.m.SecretKey == KeyInFile {
		expected[keyFileName] = true
	}
	for _, k := range t.m.HostKeys {
		expected[hostKeysDir+k] = true
	}
	for _, p := range t.m.Projects {
		if p.Bundle != "" {
			expected[p.Bundle] = true
		}
	}
	for _, d := range []string{sshserver.HostKeyDir, "bundles"} {
		if err := os.Mkdir(filepath.Join(t.staging, d), 0o700); err != nil {
			return err
		}
	}
	for {
		name, content, err := r.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if !expected[name] {
			return fmt.Errorf("read the archive: unexpected member %q", name)
		}
		delete(expected, name)
		var dst string
		switch {
		case name == sqliteName:
			dst = filepath.Join(t.staging, "gitgate.db")
		case name == postgresName:
			dst = t.dumpFile()
		case name == keyFileName:
			dst = filepath.Join(t.staging, secrets.KeyFileName)
		case strings.HasPrefix(name, hostKeysDir):
			dst = filepath.Join(t.staging, sshserver.HostKeyDir, strings.TrimPrefix(name, hostKeysDir))
		default:
			dst = filepath.Join(t.staging, "bundles", strings.TrimPrefix(name, bundlesDir))
		}
		if err := writeFile(dst, content); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return fmt.Errorf("read the archive: it ends inside %s (a truncated copy?)", name)
			}
			return fmt.Errorf("unpack %s: %w", name, err)
		}
	}
	if len(expected) > 0 {
		missing := slices.Sorted(maps.Keys(expected))
		return fmt.Errorf("the archive is incomplete: %s is missing", strings.Join(missing, ", "))
	}
	return nil
}

func writeFile(dst string, content io.Reader) error {
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// restoreRepositories makes each project's repository in the staging
// directory, with gitgate's repository settings, from its bundle.
func (t *restoreTarget) restoreRepositories(ctx context.Context) error {
	root := filepath.Join(t.staging, "repositories")
	if err := os.Mkdir(root, 0o750); err != nil {
		return err
	}
	disk := repos.New(nil, root, nil)
	for _, p := range t.m.Projects {
		dir := disk.DiskPath(p.ID)
		branch := strings.TrimPrefix(p.Head, "refs/heads/")
		if branch == "" {
			branch = "main"
		}
		if err := repos.InitBare(ctx, dir, branch); err != nil {
			return fmt.Errorf("project %d: %w", p.ID, err)
		}
		if p.Bundle == "" {
			continue
		}
		bundle := filepath.Join(t.staging, "bundles", strconv.FormatInt(p.ID, 10)+".bundle")
		var stderr bytes.Buffer
		err := gitproc.Git("fetch", "--quiet", "--no-write-fetch-head").AddValues(bundle).AddArgs("+refs/*:refs/*").
			WithGitDir(dir).WithStderr(&stderr).Run(ctx)
		if err != nil {
			return fmt.Errorf("project %d: git fetch from its bundle: %v: %s", p.ID, err, strings.TrimSpace(stderr.String()))
		}
		n, err := countRefs(ctx, dir)
		if err != nil {
			return err
		}
		if n != p.Refs {
			return fmt.Errorf("project %d: restored %d refs, the archive lists %d", p.ID, n, p.Refs)
		}
	}
	return nil
}

// moveIntoPlace moves the staged files into the data directory (and the
// SQLite database to its configured path), remembering each for undo.
func (t *restoreTarget) moveIntoPlace() error {
	root := t.cfg.RepoRoot
	if root == "" {
		root = filepath.Join(t.cfg.DataDir, "repositories")
	}
	if err := t.move(filepath.Join(t.staging, "repositories"), root); err != nil {
		return err
	}
	names := []string{sshserver.HostKeyDir}
	if t.m.SecretKey == KeyInFile {
		names = append(names, secrets.KeyFileName)
	}
	for _, n := range names {
		if err := t.move(filepath.Join(t.staging, n), filepath.Join(t.cfg.DataDir, n)); err != nil {
			return err
		}
	}
	if t.sqlitePath == "" {
		return nil
	}
	src := filepath.Join(t.staging, "gitgate.db")
	if err := t.move(src, t.sqlitePath); err == nil {
		return nil
	}
	// Another file system: copy beside the destination, then rename.
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp := t.sqlitePath + ".restore"
	if err := writeFile(tmp, in); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write the database %s: %w", t.sqlitePath, err)
	}
	if err := t.move(tmp, t.sqlitePath); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func (t *restoreTarget) move(src, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return fmt.Errorf("%s appeared during the restore", dst)
	}
	if err := os.Rename(src, dst); err != nil {
		return fmt.Errorf("move %s into place: %w", dst, err)
	}
	t.moved = append(t.moved, dst)
	return nil
}

// undo removes what Restore put in place, and the data directory if
// Restore created it.
func (t *restoreTarget) undo() {
	for _, p := range t.moved {
		_ = os.RemoveAll(p)
	}
	if t.staging != "" {
		_ = os.RemoveAll(t.staging)
	}
	if t.createdDataDir {
		_ = os.RemoveAll(t.cfg.DataDir)
	}
}
