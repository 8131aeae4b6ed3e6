// Package gitrepo reads and updates the objects and refs of one bare
// repository for the REST API: branches and tags with their commits,
// single commits, files at a revision, archives, and ref updates with an
// old-value check. Every git it runs starts through gitproc, counted in
// the server's git process metrics; nothing is read with an in-process
// Git library, so a large blob or pack never lands in gitgate's memory
// unless the caller asks for its bytes.
package gitrepo

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/metrics"
)

// ErrNotFound is a revision, ref, path or object the repository does not
// have.
var ErrNotFound = errors.New("not found")

// Repo is a bare repository on disk.
type Repo struct {
	// Dir is the repository's directory.
	Dir string
	// Metrics counts the git processes started for it (optional).
	Metrics *metrics.Metrics
}

// git starts building a git command in the repository.
func (r *Repo) git(args ...gitproc.Arg) *gitproc.Cmd {
	// Pathspecs given by callers are file names, never patterns.
	return gitproc.Git(args...).WithGitDir(r.Dir).WithEnv("GIT_LITERAL_PATHSPECS=1").WithMetrics(r.Metrics)
}

// run runs g and returns its output, with git's message in the error.
func run(ctx context.Context, g *gitproc.Cmd) ([]byte, error) {
	var out, stderr bytes.Buffer
	if err := g.WithStdout(&out).WithStderr(&stderr).Run(ctx); err != nil {
		return nil, fmt.Errorf("git %s: %w: %s", g.Name(), err, strings.TrimSpace(stderr.String()))
	}
	return out.Bytes(), nil
}

// isOption reports whether a value from outside would read as an option;
// no ref, revision or path gitgate looks up starts with "-".
func isOption(s string) bool { return strings.HasPrefix(s, "-") }

// Ident is an author, committer or tagger line.
type Ident struct {
	Name  string
	Email string
	When  time.Time // in the identity's own time zone
}

// parseIdent reads "Name <email> 1700000000 +0200".
func parseIdent(s string) Ident {
	var id Ident
	lt, gt := strings.IndexByte(s, '<'), strings.LastIndexByte(s, '>')
	if lt < 0 || gt < lt {
		id.Name = strings.TrimSpace(s)
		return id
	}
	id.Name = strings.TrimSpace(s[:lt])
	id.Email = s[lt+1 : gt]
	f := strings.Fields(s[gt+1:])
	if len(f) >= 1 {
		unix, _ := strconv.ParseInt(f[0], 10, 64)
		loc := time.UTC
		if len(f) >= 2 && len(f[1]) == 5 {
			h, err1 := strconv.Atoi(f[1][1:3])
			m, err2 := strconv.Atoi(f[1][3:5])
			if err1 == nil && err2 == nil {
				off := (h*60 + m) * 60
				if f[1][0] == '-' {
					off = -off
				}
				loc = time.FixedZone("", off)
			}
		}
		id.When = time.Unix(unix, 0).In(loc)
	}
	return id
}

// FormatIdent writes an identity as git stores it. Angle brackets and
// line breaks, which would end the field early, are dropped, as git
// itself does with the names it is given.
func FormatIdent(id Ident) string {
	clean := func(s string) string {
		return strings.TrimSpace(strings.Map(func(r rune) rune {
			if r == '<' || r == '>' || r == '\n' || r == '\r' || r == 0 {
				return -1
			}
			return r
		}, s))
	}
	return fmt.Sprintf("%s <%s> %d %s", clean(id.Name), clean(id.Email), id.When.Unix(), id.When.Format("-0700"))
}

// Commit is a parsed commit object.
type Commit struct {
	ID        string
	Parents   []string
	Author    Ident
	Committer Ident
	Message   string
}

// Title is the commit's first line.
func (c *Commit) Title() string {
	t, _, _ := strings.Cut(strings.TrimLeft(c.Message, "\n"), "\n")
	return strings.TrimRight(t, "\r")
}

// parseCommit reads a raw commit object.
func parseCommit(id string, data []byte) *Commit {
	c := &Commit{ID: id, Parents: []string{}}
	head, msg, _ := bytes.Cut(data, []byte("\n\n"))
	c.Message = string(msg)
	for _, line := range strings.Split(string(head), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "parent":
			c.Parents = append(c.Parents, v)
		case "author":
			c.Author = parseIdent(v)
		case "committer":
			c.Committer = parseIdent(v)
		}
	}
	return c
}

// Tag is a tag ref: Target is what the ref names (the tag object of an
// annotated tag, else the commit), Commit the commit it leads to.
type Tag struct {
	Name   string
	Target string
	// Annotated tags only: the message and the tagger.
	Message string
	Tagger  *Ident
	Commit  *Commit // nil when the tag does not lead to a commit
}

// parseTag reads a raw tag object's tagger and message.
func parseTag(data []byte) (msg string, tagger *Ident) {
	head, body, _ := bytes.Cut(data, []byte("\n\n"))
	for _, line := range strings.Split(string(head), "\n") {
		if v, ok := strings.CutPrefix(line, "tagger "); ok {
			id := parseIdent(v)
			tagger = &id
		}
	}
	// A signature belongs to the object, not to the message people wrote.
	if i := bytes.Index(body, []byte("-----BEGIN ")); i >= 0 {
		body = body[:i]
	}
	return string(body), tagger
}

// Ref is a branch or tag name with the object it names.
type Ref struct {
	// Name is the short name (main, v1.0).
	Name   string
	Target string
	// Peeled is the object an annotated tag leads to (empty otherwise).
	Peeled string
}

// Kind of refs.
const (
	Branches = "refs/heads/"
	Tags     = "refs/tags/"
)

// Refs lists the branches (prefix Branches) or tags (Tags), by name.
func (r *Repo) Refs(ctx context.Context, prefix string) ([]Ref, error) {
	out, err := run(ctx, r.git("for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)").AddValues(prefix))
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var refs []Ref
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) != 3 {
			continue
		}
		name, ok := strings.CutPrefix(f[0], prefix)
		if !ok {
			continue
		}
		refs = append(refs, Ref{Name: name, Target: f[1], Peeled: f[2]})
	}
	return refs, nil
}

// FindRef is one branch or tag by its short name; ErrNotFound when
// there is none.
func (r *Repo) FindRef(ctx context.Context, prefix, name string) (*Ref, error) {
	if name == "" || isOption(name) {
		return nil, ErrNotFound
	}
	out, err := run(ctx, r.git("for-each-ref", "--format=%(refname)%00%(objectname)%00%(*objectname)").AddValues(prefix+name))
	if err != nil {
		return nil, fmt.Errorf("find %s%s: %w", prefix, name, err)
	}
	// for-each-ref matches whole leading components: refs/heads/a also
	// lists refs/heads/a/b, so only the exact name counts.
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Split(line, "\x00")
		if len(f) == 3 && f[0] == prefix+name {
			return &Ref{Name: name, Target: f[1], Peeled: f[2]}, nil
		}
	}
	return nil, ErrNotFound
}

// HasBranches reports whether the repository has any branch (an empty
// repository has none).
func (r *Repo) HasBranches(ctx context.Context) (bool, error) {
	out, err := run(ctx, r.git("for-each-ref", "--count=1", "--format=%(refname)", "refs/heads/"))
	if err != nil {
		return false, fmt.Errorf("list branches: %w", err)
	}
	return len(bytes.TrimSpace(out)) > 0, nil
}

// MergedInto lists the branches whose tips the commit reaches.
func (r *Repo) MergedInto(ctx context.Context, commit string) (map[string]bool, error) {
	out, err := run(ctx, r.git("for-each-ref", "--format=%(refname)").AddArgs(gitproc.Arg("--merged="+commit)).AddArgs("refs/heads/"))
	if err != nil {
		return nil, fmt.Errorf("merged branches: %w", err)
	}
	merged := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if name, ok := strings.CutPrefix(line, Branches); ok {
			merged[name] = true
		}
	}
	return merged, nil
}

// ResolveCommit turns a branch, tag or commit name into the commit id;
// ErrNotFound when it names no commit.
func (r *Repo) ResolveCommit(ctx context.Context, rev string) (string, error) {
	if rev == "" || isOption(rev) || strings.ContainsAny(rev, "\x00\n") {
		return "", ErrNotFound
	}
	var out, stderr bytes.Buffer
	err := r.git("rev-parse", "--verify", "--quiet", "--end-of-options").AddValues(rev + "^{commit}").
		WithStdout(&out).WithStderr(&stderr).Run(ctx)
	switch {
	case err == nil:
		return strings.TrimSpace(out.String()), nil
	case isExit(err):
		// --verify --quiet: whatever the name is, it is no commit here.
		return "", ErrNotFound
	}
	return "", fmt.Errorf("resolve %q: %w: %s", rev, err, strings.TrimSpace(stderr.String()))
}

// isExit reports whether err is a git that ran and failed (rather than
// one that could not start).
func isExit(err error) bool {
	var ee interface{ ExitCode() int }
	return errors.As(err, &ee) && ee.ExitCode() > 0
}

// Object is one object read by Objects.
type Object struct {
	ID   string
	Type string
	Data []byte
}

// Objects reads the named objects (ids or names like "refs/tags/v1^{}")
// with one git cat-file; names the repository lacks are left out of the
// result. Meant for commits and tags, which are small: a blob goes
// through Blob, which streams.
func (r *Repo) Objects(ctx context.Context, names []string) (map[string]*Object, error) {
	found := make(map[string]*Object, len(names))
	if len(names) == 0 {
		return found, nil
	}
	var in bytes.Buffer
	for _, n := range names {
		if strings.ContainsAny(n, "\n\x00") {
			continue
		}
		in.WriteString(n)
		in.WriteByte('\n')
	}
	out, err := run(ctx, r.git("cat-file", "--batch").WithStdin(&in))
	if err != nil {
		return nil, fmt.Errorf("read objects: %w", err)
	}
	br := bufio.NewReader(bytes.NewReader(out))
	for _, n := range names {
		if strings.ContainsAny(n, "\n\x00") {
			continue
		}
		header, err := br.ReadString('\n')
		if err != nil {
			return nil, fmt.Errorf("read objects: short output")
		}
		f := strings.Fields(header)
		if len(f) != 3 {
			// "<name> missing" or "ambiguous".
			continue
		}
		size, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("read objects: bad header %q", header)
		}
		data := make([]byte, size+1)
		if _, err := io.ReadFull(br, data); err != nil {
			return nil, fmt.Errorf("read objects: %w", err)
		}
		found[n] = &Object{ID: f[0], Type: f[1], Data: data[:size]}
	}
	return found, nil
}

// Commits reads commits by id (or any name of a commit); missing ones
// are left out.
func (r *Repo) Commits(ctx context.Context, names []string) (map[string]*Commit, error) {
	objs, err := r.Objects(ctx, names)
	if err != nil {
		return nil, err
	}
	out := make(map[string]*Commit, len(objs))
	for n, o := range objs {
		if o.Type == "commit" {
			out[n] = parseCommit(o.ID, o.Data)
		}
	}
	return out, nil
}

// Commit reads one commit by any name; ErrNotFound when it names none.
func (r *Repo) Commit(ctx context.Context, rev string) (*Commit, error) {
	id, err := r.ResolveCommit(ctx, rev)
	if err != nil {
		return nil, err
	}
	cs, err := r.Commits(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	c, ok := cs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return c, nil
}

// TagsOf completes refs under Tags with their messages, taggers and
// commits, with one git cat-file for all of them.
func (r *Repo) TagsOf(ctx context.Context, refs []Ref) ([]Tag, error) {
	names := make([]string, 0, 2*len(refs))
	for _, ref := range refs {
		names = append(names, ref.Target, Tags+ref.Name+"^{commit}")
	}
	objs, err := r.Objects(ctx, names)
	if err != nil {
		return nil, err
	}
	tags := make([]Tag, len(refs))
	for i, ref := range refs {
		t := Tag{Name: ref.Name, Target: ref.Target}
		if o := objs[ref.Target]; o != nil && o.Type == "tag" {
			t.Message, t.Tagger = parseTag(o.Data)
		}
		if o := objs[Tags+ref.Name+"^{commit}"]; o != nil && o.Type == "commit" {
			t.Commit = parseCommit(o.ID, o.Data)
		}
		tags[i] = t
	}
	return tags, nil
}

// DiffStats counts lines added and removed by a commit against its first
// parent (against nothing for a root commit), as GitLab's commit stats.
func (r *Repo) DiffStats(ctx context.Context, c *Commit) (additions, deletions int, err error) {
	g := r.git("diff-tree", "-r", "--numstat", "--no-renames", "--no-commit-id")
	if len(c.Parents) == 0 {
		g.AddArgs("--root").AddValues(c.ID)
	} else {
		g.AddValues(c.Parents[0], c.ID)
	}
	out, err := run(ctx, g)
	if err != nil {
		return 0, 0, fmt.Errorf("stats of %s: %w", c.ID, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			continue
		}
		// Binary files count "-": no lines.
		a, _ := strconv.Atoi(f[0])
		d, _ := strconv.Atoi(f[1])
		additions += a
		deletions += d
	}
	return additions, deletions, nil
}
