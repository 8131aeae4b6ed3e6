package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/gitproc"
)

// Entry is a file in a commit's tree.
type Entry struct {
	Path string
	Mode string // "100644", "100755", "120000" (a symbolic link)
	ID   string // the blob
	Size int64
}

// Executable reports whether the file has its executable bit.
func (e *Entry) Executable() bool { return e.Mode == "100755" }

// CleanPath checks a file path from outside: relative, no "." or ".."
// component, no empty component, no NUL. It returns the path without a
// leading slash, or false.
func CleanPath(p string) (string, bool) {
	p = strings.TrimPrefix(p, "/")
	if p == "" || strings.ContainsRune(p, 0) {
		return "", false
	}
	for _, part := range strings.Split(p, "/") {
		if part == "" || part == "." || part == ".." {
			return "", false
		}
	}
	return p, true
}

// File finds the file at path in commit; ErrNotFound when there is no
// file there (a directory or a submodule is no file).
func (r *Repo) File(ctx context.Context, commit, path string) (*Entry, error) {
	path, ok := CleanPath(path)
	if !ok || isOption(commit) {
		return nil, ErrNotFound
	}
	out, err := run(ctx, r.git("ls-tree", "-z", "-l", "--full-tree").AddValues(commit).AddValuesAfterDashes(path))
	if err != nil {
		return nil, fmt.Errorf("find %s: %w", path, err)
	}
	for _, rec := range strings.Split(string(out), "\x00") {
		meta, name, ok := strings.Cut(rec, "\t")
		if !ok || name != path {
			continue
		}
		f := strings.Fields(meta)
		if len(f) != 4 || f[1] != "blob" {
			return nil, ErrNotFound
		}
		size, err := strconv.ParseInt(f[3], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("find %s: bad size %q", path, f[3])
		}
		return &Entry{Path: path, Mode: f[0], ID: f[2], Size: size}, nil
	}
	return nil, ErrNotFound
}

// LastCommit is the newest commit reachable from commit that changed
// path (GitLab's last_commit_id).
func (r *Repo) LastCommit(ctx context.Context, commit, path string) (string, error) {
	if isOption(commit) {
		return "", ErrNotFound
	}
	out, err := run(ctx, r.git("log", "-1", "--format=%H").AddValues(commit).AddValuesAfterDashes(path))
	if err != nil {
		return "", fmt.Errorf("last commit of %s: %w", path, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// Blob copies a blob's bytes to w as git reads them: nothing is held in
// memory here.
func (r *Repo) Blob(ctx context.Context, id string, w io.Writer) error {
	if isOption(id) {
		return ErrNotFound
	}
	var stderr strings.Builder
	if err := r.git("cat-file", "blob").AddValues(id).WithStdout(w).WithStderr(&stderr).Run(ctx); err != nil {
		return fmt.Errorf("read blob %s: %w: %s", id, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// Archive formats, as git archive names them.
var archiveFormats = map[string]bool{"tar": true, "tar.gz": true, "tar.bz2": true, "zip": true}

// Archive writes `git archive` of commit in format ("tar", "tar.gz",
// "tar.bz2", "zip") to w as git produces it, every file under prefix;
// with path, only that directory of the tree.
// git writes straight into w: the archive is never held in memory.
func (r *Repo) Archive(ctx context.Context, w io.Writer, format, prefix, commit, path string) error {
	if !archiveFormats[format] {
		return fmt.Errorf("archive: unknown format %q", format)
	}
	if isOption(commit) {
		return ErrNotFound
	}
	g := r.git("archive")
	if format == "tar.bz2" {
		// git has no bzip2 of its own: the filter is configured here,
		// on the command line, so nothing in the repository chooses it.
		g.WithConfig("tar.tar.bz2.command=bzip2 -c")
	}
	g.AddArgs(gitproc.Arg("--format=" + format)).AddArgs(gitproc.Arg("--prefix=" + prefix))
	var stderr strings.Builder
	g.AddValues(commit)
	if path != "" {
		g.AddValuesAfterDashes(path)
	}
	if err := g.WithStdout(w).WithStderr(&stderr).Run(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("archive %s: %w: %s", commit, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// ErrRefChanged means a ref did not hold the value an update expected (a
// concurrent push moved it, or it exists when it should not).
var ErrRefChanged = errors.New("the ref was changed by someone else")

// UpdateRef sets ref from old to new in one transaction: an empty or
// all-zero old creates the ref (it must not exist), an all-zero new
// deletes it (it must hold old). Refs are read from gitgate's own code
// and checked by the caller; the values go through git's --stdin -z
// form, where nothing can read as an option.
func (r *Repo) UpdateRef(ctx context.Context, ref, oldID, newID string) error {
	if oldID == "" {
		oldID = zero
	}
	var in strings.Builder
	if strings.Trim(newID, "0") == "" {
		fmt.Fprintf(&in, "delete %s\x00%s\x00", ref, oldID)
	} else {
		fmt.Fprintf(&in, "update %s\x00%s\x00%s\x00", ref, newID, oldID)
	}
	var stderr strings.Builder
	g := r.git("update-ref", "--stdin", "-z").WithStdin(strings.NewReader(in.String())).WithStderr(&stderr)
	if err := g.Run(ctx); err != nil {
		msg := stderr.String()
		if strings.Contains(msg, "exists; cannot create") {
			return fmt.Errorf("update %s: %w", ref, ErrRefHierarchy)
		}
		if strings.Contains(msg, "reference already exists") || strings.Contains(msg, "is at") ||
			strings.Contains(msg, "but expected") || strings.Contains(msg, "unable to resolve reference") {
			return fmt.Errorf("update %s: %w", ref, ErrRefChanged)
		}
		return fmt.Errorf("update %s: %w: %s", ref, err, strings.TrimSpace(msg))
	}
	return nil
}

// ErrRefHierarchy means a ref cannot exist beside another: refs/heads/a
// and refs/heads/a/b exclude each other.
var ErrRefHierarchy = errors.New("the name conflicts with an existing ref hierarchy")

const zero = "0000000000000000000000000000000000000000"

// WriteTag writes an annotated tag object named name for the commit, by
// tagger, with message, and returns its id. It is checked by git mktag
// as receive-pack's fsck would check a pushed one.
func (r *Repo) WriteTag(ctx context.Context, name, commit string, tagger Ident, message string) (string, error) {
	if !strings.HasSuffix(message, "\n") {
		message += "\n"
	}
	obj := fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger %s\n\n%s", commit, name, FormatIdent(tagger), message)
	out, err := run(ctx, r.git("mktag").WithStdin(strings.NewReader(obj)))
	if err != nil {
		return "", fmt.Errorf("write tag %s: %w", name, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// ValidRefName reports whether git accepts ref ("refs/heads/x") as a
// ref name (git check-ref-format, the rule receive-pack applies).
func (r *Repo) ValidRefName(ctx context.Context, ref string) (bool, error) {
	if !strings.HasPrefix(ref, "refs/") {
		return false, nil
	}
	err := gitproc.Git("check-ref-format").AddValues(ref).WithMetrics(r.Metrics).Run(ctx)
	switch {
	case err == nil:
		return true, nil
	case isExit(err):
		return false, nil
	}
	return false, fmt.Errorf("check ref name: %w", err)
}

// HasPath reports whether commit's tree has path (a file or directory).
func (r *Repo) HasPath(ctx context.Context, commit, path string) (bool, error) {
	path, ok := CleanPath(path)
	if !ok || isOption(commit) {
		return false, nil
	}
	err := r.git("cat-file", "-e").AddValues(commit + ":" + path).Run(ctx)
	switch {
	case err == nil:
		return true, nil
	case isExit(err):
		return false, nil
	}
	return false, fmt.Errorf("look up %s: %w", path, err)
}
