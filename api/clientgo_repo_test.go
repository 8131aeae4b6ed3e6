package api_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/store"
)

// seeded is a project with a known history, pushed with real git.
type seeded struct {
	p        *repos.Project
	work     string // the pusher's work tree
	first    string // commit ids
	second   string
	feature  string
	annotTag string // the tag object of v1.0
}

var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

// seed creates alice's project at path and pushes, over HTTP with real
// git: main (two commits: README.md, docs/guide.md, an executable
// bin/run.sh, logo.png, page.html), feature/x (one more commit off the
// first), the lightweight tag v0.9 on the first commit and the annotated
// tag v1.0 on main.
func seed(t *testing.T, f *fixture, path, visibility string) *seeded {
	t.Helper()
	e := f.env
	s := &seeded{p: e.Project(path, visibility)}
	s.work = e.WorkTree()
	write := func(name, content string, mode os.FileMode) { writeFileMode(t, s.work, name, content, mode) }
	write("docs/guide.md", "first guide\n", 0o644)
	write("bin/run.sh", "#!/bin/sh\necho hi\n", 0o755)
	write("logo.png", string(pngBytes), 0o644)
	write("page.html", "<html><script>alert(1)</script></html>\n", 0o644)
	e.MustGit(s.work, "add", ".")
	e.MustGit(s.work, "commit", "-q", "--amend", "-m", "first")
	s.first = strings.TrimSpace(e.MustGit(s.work, "rev-parse", "HEAD"))
	write("docs/guide.md", "second guide\nmore\n", 0o644)
	e.MustGit(s.work, "commit", "-q", "-am", "Second commit\n\nWith a body.")
	s.second = strings.TrimSpace(e.MustGit(s.work, "rev-parse", "HEAD"))
	e.MustGit(s.work, "checkout", "-q", "-b", "feature/x", s.first)
	write("feature.txt", "feature\n", 0o644)
	e.MustGit(s.work, "add", ".")
	e.MustGit(s.work, "commit", "-q", "-m", "feature work")
	s.feature = strings.TrimSpace(e.MustGit(s.work, "rev-parse", "HEAD"))
	e.MustGit(s.work, "checkout", "-q", "main")
	e.MustGit(s.work, "tag", "v0.9", s.first)
	e.MustGit(s.work, "tag", "-a", "-m", "Release 1.0", "v1.0", s.second)
	s.annotTag = strings.TrimSpace(e.MustGit(s.work, "rev-parse", "v1.0"))
	e.MustGit(s.work, "push", "-q", e.RepoURL("alice", "alice-password-1", path), "main", "feature/x", "v0.9", "v1.0")
	return s
}

// writeFile writes a file of a work tree, making its directories.
func writeFile(t *testing.T, dir, name, content string) { writeFileMode(t, dir, name, content, 0o644) }

func writeFileMode(t *testing.T, dir, name, content string, mode os.FileMode) {
	t.Helper()
	full := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(full, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
}

// remoteRefs lists the refs of path as a real git client sees them.
func remoteRefs(t *testing.T, f *fixture, path string) map[string]string {
	t.Helper()
	out := f.env.MustGit(t.TempDir(), "ls-remote", f.env.RepoURL("alice", "alice-password-1", path))
	refs := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, ref, ok := strings.Cut(line, "\t"); ok {
			refs[ref] = id
		}
	}
	return refs
}

func TestClientGoReadsBranchesTagsAndCommits(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		s := seed(t, f, "alice/code", access.Private)
		alice := f.client(f.aliceToken)
		pid := "alice/code"

		branches, resp, err := alice.Branches.ListBranches(pid, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(branches) != 2 || branches[0].Name != "feature/x" || branches[1].Name != "main" || resp.TotalItems != 2 {
			t.Fatalf("branches %v (total %d)", branches, resp.TotalItems)
		}
		main := branches[1]
		if !main.Default || !main.Protected || main.DevelopersCanPush || !main.CanPush || !main.Merged ||
			main.Commit == nil || main.Commit.ID != s.second || main.Commit.Title != "Second commit" ||
			!strings.HasSuffix(main.WebURL, "/alice/code/-/tree/main") {
			t.Fatalf("main %+v commit %+v", main, main.Commit)
		}
		feature := branches[0]
		if feature.Default || feature.Protected || !feature.CanPush || feature.Merged || feature.Commit.ID != s.feature ||
			len(feature.Commit.ParentIDs) != 1 || feature.Commit.ParentIDs[0] != s.first {
			t.Fatalf("feature/x %+v commit %+v", feature, feature.Commit)
		}
		found := ans(alice.Branches.ListBranches(pid, &gitlab.ListBranchesOptions{Search: gitlab.Ptr("^FEAT")})).must(t)
		if len(found) != 1 || found[0].Name != "feature/x" {
			t.Fatalf("search ^FEAT found %v", found)
		}
		page := ans(alice.Branches.ListBranches(pid, &gitlab.ListBranchesOptions{ListOptions: gitlab.ListOptions{PerPage: 1, Page: 2}}))
		if page.err != nil || len(page.v) != 1 || page.v[0].Name != "main" || page.r.TotalPages != 2 || page.r.PreviousPage != 1 {
			t.Fatalf("page 2 of 1: %v %+v %v", page.v, page.r, page.err)
		}

		// A name with a slash travels URL-encoded, as client-go sends it.
		got := ans(alice.Branches.GetBranch(pid, "feature/x")).must(t)
		if got.Name != "feature/x" || got.Commit.ID != s.feature || got.Commit.AuthorEmail != "test@example.com" ||
			got.Commit.AuthoredDate == nil || got.Commit.CommittedDate == nil {
			t.Fatalf("feature/x %+v %+v", got, got.Commit)
		}
		if _, r, err := alice.Branches.GetBranch(pid, "nope"); err == nil || statusOf(t, r) != 404 {
			t.Fatalf("missing branch: %v", err)
		}
		expect(t, "missing branch", f.do(req{path: "/projects/alice%2Fcode/repository/branches/nope", token: f.aliceToken}), 404, `{"message":"404 Branch Not Found"}`)
		if r := f.do(req{method: http.MethodHead, path: "/projects/alice%2Fcode/repository/branches/feature%2Fx", token: f.aliceToken}); r.status != http.StatusNoContent {
			t.Fatalf("HEAD of a branch: %d", r.status)
		}

		tags := ans(alice.Tags.ListTags(pid, &gitlab.ListTagsOptions{OrderBy: gitlab.Ptr("name"), Sort: gitlab.Ptr("asc")})).must(t)
		if len(tags) != 2 || tags[0].Name != "v0.9" || tags[1].Name != "v1.0" {
			t.Fatalf("tags %v", tags)
		}
		if lw := tags[0]; lw.Target != s.first || lw.Message != "" || lw.Commit.ID != s.first || lw.Release != nil || lw.Protected || lw.CreatedAt != nil {
			t.Fatalf("lightweight tag %+v", lw)
		}
		if byDate := ans(alice.Tags.ListTags(pid, nil)).must(t); len(byDate) != 2 || byDate[0].Name != "v1.0" {
			t.Fatalf("tags by date, newest first: %v", byDate)
		}
		annotated := ans(alice.Tags.GetTag(pid, "v1.0")).must(t)
		if annotated.Target != s.annotTag || annotated.Message != "Release 1.0" || annotated.Commit.ID != s.second || annotated.CreatedAt == nil {
			t.Fatalf("annotated tag %+v", annotated)
		}
		expect(t, "missing tag", f.do(req{path: "/projects/alice%2Fcode/repository/tags/v9", token: f.aliceToken}), 404, `{"message":"404 Tag Not Found"}`)

		c := ans(alice.Commits.GetCommit(pid, s.second, nil)).must(t)
		if c.ID != s.second || c.ShortID != s.second[:8] || c.Title != "Second commit" || c.Message != "Second commit\n\nWith a body.\n" ||
			c.AuthorName != "Test" || c.CommitterEmail != "test@example.com" || len(c.ParentIDs) != 1 || c.ParentIDs[0] != s.first ||
			c.Stats == nil || c.Stats.Additions != 2 || c.Stats.Deletions != 1 || c.Stats.Total != 3 || c.ProjectID != s.p.ID ||
			!strings.HasSuffix(c.WebURL, "/alice/code/-/commit/"+s.second) || c.CreatedAt == nil {
			t.Fatalf("commit %+v stats %+v", c, c.Stats)
		}
		if byRef := ans(alice.Commits.GetCommit(pid, "feature/x", nil)).must(t); byRef.ID != s.feature {
			t.Fatalf("commit by branch name: %s", byRef.ID)
		}
		if root := ans(alice.Commits.GetCommit(pid, "v0.9", nil)).must(t); len(root.ParentIDs) != 0 || root.Stats.Additions != 5 {
			t.Fatalf("root commit %+v stats %+v", root, root.Stats)
		}
		for _, bad := range []string{"0123456789abcdef0123456789abcdef01234567", "--output=x", "main..feature"} {
			if _, r, err := alice.Commits.GetCommit(pid, bad, nil); err == nil || statusOf(t, r) != 404 {
				t.Fatalf("commit %q: %v", bad, err)
			}
		}
		expect(t, "missing commit", f.do(req{path: "/projects/alice%2Fcode/repository/commits/nope", token: f.aliceToken}), 404, `{"message":"404 Commit Not Found"}`)
	})
}

func TestClientGoReadsFilesAndArchives(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		s := seed(t, f, "alice/code", access.Private)
		alice := f.client(f.aliceToken)
		pid := "alice/code"

		file := ans(alice.RepositoryFiles.GetFile(pid, "docs/guide.md", &gitlab.GetFileOptions{Ref: gitlab.Ptr("main")})).must(t)
		content, err := base64.StdEncoding.DecodeString(file.Content)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(content)
		if string(content) != "second guide\nmore\n" || file.FileName != "guide.md" || file.FilePath != "docs/guide.md" ||
			file.Size != int64(len(content)) || file.Encoding != "base64" || file.SHA256 != hex.EncodeToString(sum[:]) ||
			file.Ref != "main" || file.CommitID != s.second || file.LastCommitID != s.second || file.ExecuteFilemode || len(file.BlobID) != 40 {
			t.Fatalf("file %+v", file)
		}
		old := ans(alice.RepositoryFiles.GetFile(pid, "docs/guide.md", &gitlab.GetFileOptions{Ref: gitlab.Ptr("v0.9")})).must(t)
		if dec, _ := base64.StdEncoding.DecodeString(old.Content); string(dec) != "first guide\n" || old.CommitID != s.first {
			t.Fatalf("file at v0.9 %+v", old)
		}
		script := ans(alice.RepositoryFiles.GetFile(pid, "bin/run.sh", &gitlab.GetFileOptions{Ref: gitlab.Ptr(s.second)})).must(t)
		if !script.ExecuteFilemode || script.LastCommitID != s.first {
			t.Fatalf("executable file %+v", script)
		}
		// HEAD: the same fields in X-Gitlab-* headers.
		meta := ans(alice.RepositoryFiles.GetFileMetaData(pid, "docs/guide.md", &gitlab.GetFileMetaDataOptions{Ref: gitlab.Ptr("main")})).must(t)
		if meta.BlobID != file.BlobID || meta.SHA256 != file.SHA256 || meta.Size != file.Size || meta.LastCommitID != s.second {
			t.Fatalf("file metadata %+v", meta)
		}
		for _, miss := range []struct{ path, ref, want string }{
			{"docs/nope.md", "main", "404 File Not Found"},
			{"docs", "main", "404 File Not Found"},
			{"docs/guide.md", "nope", "404 Commit Not Found"},
		} {
			if _, r, err := alice.RepositoryFiles.GetFile(pid, miss.path, &gitlab.GetFileOptions{Ref: gitlab.Ptr(miss.ref)}); err == nil || statusOf(t, r) != 404 {
				t.Fatalf("%s at %s: %v", miss.path, miss.ref, err)
			}
			expect(t, miss.path+" at "+miss.ref, f.do(req{path: "/projects/alice%2Fcode/repository/files/" + url.PathEscape(miss.path) + "?ref=" + miss.ref, token: f.aliceToken}),
				404, `{"message":"`+miss.want+`"}`)
		}
		expect(t, "no ref", f.do(req{path: "/projects/alice%2Fcode/repository/files/README.md", token: f.aliceToken}), 400, `{"error":"ref is missing"}`)
		expect(t, "dot-dot", f.do(req{path: "/projects/alice%2Fcode/repository/files/docs%2F..%2FREADME.md?ref=main", token: f.aliceToken}),
			400, `{"error":"file_path should be a valid file path"}`)

		raw := ans(alice.RepositoryFiles.GetRawFile(pid, "docs/guide.md", &gitlab.GetRawFileOptions{Ref: gitlab.Ptr("main")})).must(t)
		if string(raw) != "second guide\nmore\n" {
			t.Fatalf("raw %q", raw)
		}
		// Without ref: the default branch.
		if readme := ans(alice.RepositoryFiles.GetRawFile(pid, "README.md", nil)).must(t); string(readme) != "# test\n" {
			t.Fatalf("raw README %q", readme)
		}
		rawMeta := ans(alice.RepositoryFiles.GetRawFileMetaData(pid, "logo.png", &gitlab.GetRawFileOptions{Ref: gitlab.Ptr("main")})).must(t)
		if rawMeta.FileName != "logo.png" || rawMeta.Size != int64(len(pngBytes)) {
			t.Fatalf("raw metadata %+v", rawMeta)
		}
		for _, ct := range []struct{ path, ctype, disposition string }{
			{"docs%2Fguide.md", "text/plain; charset=utf-8", `inline; filename=guide.md`},
			{"page.html", "text/plain; charset=utf-8", `inline; filename=page.html`},
			{"logo.png", "image/png", `inline; filename=logo.png`},
		} {
			r := f.do(req{path: "/projects/alice%2Fcode/repository/files/" + ct.path + "/raw?ref=main", token: f.aliceToken})
			if r.status != 200 || r.header.Get("Content-Type") != ct.ctype || r.header.Get("Content-Disposition") != ct.disposition ||
				r.header.Get("X-Gitlab-Commit-Id") != s.second || r.header.Get("X-Content-Type-Options") != "nosniff" {
				t.Fatalf("raw %s: %d %v", ct.path, r.status, r.header)
			}
		}

		// Archives: streamed from git archive, named as GitLab names them.
		zipped, r, err := alice.Repositories.Archive(pid, &gitlab.ArchiveOptions{Format: gitlab.Ptr("zip"), SHA: gitlab.Ptr("v0.9")})
		if err != nil {
			t.Fatalf("zip archive: %v", err)
		}
		prefix := "code-v0.9-" + s.first + "/"
		if cd := r.Header.Get("Content-Disposition"); cd != `attachment; filename=code-v0.9-`+s.first+`.zip` {
			t.Fatalf("zip disposition %q", cd)
		}
		zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, zf := range zr.File {
			names = append(names, zf.Name)
		}
		if !slices.Contains(names, prefix+"docs/guide.md") || !slices.Contains(names, prefix+"bin/run.sh") || slices.Contains(names, prefix+"feature.txt") {
			t.Fatalf("zip entries %v", names)
		}
		var buf bytes.Buffer
		if _, err := alice.Repositories.StreamArchive(pid, &buf, &gitlab.ArchiveOptions{SHA: gitlab.Ptr("feature/x")}); err != nil {
			t.Fatalf("tar.gz archive: %v", err)
		}
		files := tarFiles(t, &buf, true)
		if files["code-feature-x-"+s.feature+"/feature.txt"] != "feature\n" || files["code-feature-x-"+s.feature+"/docs/guide.md"] != "first guide\n" {
			t.Fatalf("tar.gz files %v", keys(files))
		}
		for _, ext := range []string{"tar", "tar.bz2"} {
			r := f.do(req{path: "/projects/alice%2Fcode/repository/archive." + ext + "?sha=main&path=docs", token: f.aliceToken})
			if r.status != 200 || r.header.Get("Content-Type") != "application/octet-stream" || len(r.body) == 0 {
				t.Fatalf("archive.%s: %d %v", ext, r.status, r.header)
			}
			if ext == "tar" {
				got := tarFiles(t, strings.NewReader(r.body), false)
				if len(got) != 1 || got["code-main-"+s.second+"-docs/docs/guide.md"] != "second guide\nmore\n" {
					t.Fatalf("tar of docs: %v", keys(got))
				}
			}
		}
		expect(t, "archive of a missing ref", f.do(req{path: "/projects/alice%2Fcode/repository/archive.zip?sha=nope", token: f.aliceToken}),
			404, `{"message":"404 File Not Found"}`)
		expect(t, "archive format", f.do(req{path: "/projects/alice%2Fcode/repository/archive?format=rar", token: f.aliceToken}),
			400, `{"error":"format does not have a valid value"}`)
	})
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// tarFiles reads a tar (gzipped when gz) into name → content.
func tarFiles(t *testing.T, r io.Reader, gz bool) map[string]string {
	t.Helper()
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	tr := tar.NewReader(r)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

func TestClientGoCreatesAndDeletesBranchesAndTags(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		s := seed(t, f, "alice/code", access.Private)
		alice := f.client(f.aliceToken)
		pid := "alice/code"
		dev := f.env.User("dev", testenv.UserOpts{})
		f.env.Member(pid, dev, access.Developer)
		devc := f.client(f.env.Token(dev, auth.ScopeAPI))
		if err := f.env.Server.DB.InsertProtectedBranch(f.ctx(), &store.ProtectedBranch{ProjectID: s.p.ID, Name: "release",
			PushAccessLevel: int(access.Maintainer), CreatedAt: s.p.CreatedAt}); err != nil {
			t.Fatal(err)
		}
		before, err := f.env.Server.Repos.FindByID(f.ctx(), s.p.ID)
		if err != nil {
			t.Fatal(err)
		}

		created, r, err := devc.Branches.CreateBranch(pid, &gitlab.CreateBranchOptions{Branch: gitlab.Ptr("topic/one"), Ref: gitlab.Ptr("v0.9")})
		if err != nil || statusOf(t, r) != http.StatusCreated {
			t.Fatalf("create branch: %v", err)
		}
		if created.Name != "topic/one" || created.Commit.ID != s.first || created.Protected || !created.CanPush || created.Default {
			t.Fatalf("created %+v", created)
		}
		if got := remoteRefs(t, f, pid)["refs/heads/topic/one"]; got != s.first {
			t.Fatalf("git sees topic/one at %q", got)
		}
		after, err := f.env.Server.Repos.FindByID(f.ctx(), s.p.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.LastActivityAt.Before(before.LastActivityAt) {
			t.Fatalf("last activity went back: %v → %v", before.LastActivityAt, after.LastActivityAt)
		}

		for _, bad := range []struct{ branch, ref, want string }{
			{"topic/one", "main", "Branch already exists"},
			{"bad..name", "main", "Branch name is invalid"},
			{"HEAD", "main", "You cannot create a branch named HEAD."},
			{"0123456789012345678901234567890123456789", "main", "40-character hexadecimal"},
			{"topic", "main", "Branch name conflicts with existing branch hierarchy"},
			{"other", "nope", "Failed to create branch 'other': invalid reference name 'nope'"},
			{"release", "main", "protected branch release: only maintainers may push"},
		} {
			_, r, err := devc.Branches.CreateBranch(pid, &gitlab.CreateBranchOptions{Branch: gitlab.Ptr(bad.branch), Ref: gitlab.Ptr(bad.ref)})
			if err == nil || statusOf(t, r) != 400 || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("create %q from %q: %v", bad.branch, bad.ref, err)
			}
		}
		expect(t, "create without parameters", f.do(req{method: http.MethodPost, path: "/projects/alice%2Fcode/repository/branches", token: f.aliceToken, body: `{}`}),
			400, `{"error":"branch is missing, ref is missing"}`)

		// A maintainer may create the protected branch; nobody deletes it
		// or the default branch.
		if _, _, err := alice.Branches.CreateBranch(pid, &gitlab.CreateBranchOptions{Branch: gitlab.Ptr("release"), Ref: gitlab.Ptr("main")}); err != nil {
			t.Fatalf("owner creates the protected branch: %v", err)
		}
		if rel := ans(devc.Branches.GetBranch(pid, "release")).must(t); !rel.Protected || rel.CanPush || rel.DevelopersCanPush {
			t.Fatalf("protected branch as a developer sees it %+v", rel)
		}
		for _, who := range []*gitlab.Client{alice, devc} {
			r, err := who.Branches.DeleteBranch(pid, "release")
			if err == nil || statusOf(t, r) != 400 || !strings.Contains(err.Error(), "protected branch release cannot be deleted") {
				t.Fatalf("delete protected: %v", err)
			}
			r, err = who.Branches.DeleteBranch(pid, "main")
			if err == nil || statusOf(t, r) != 400 || !strings.Contains(err.Error(), "The default branch of a project cannot be deleted.") {
				t.Fatalf("delete default: %v", err)
			}
		}
		if r, err := devc.Branches.DeleteBranch(pid, "topic/one"); err != nil || statusOf(t, r) != http.StatusNoContent {
			t.Fatalf("delete branch: %v", err)
		}
		if r, err := devc.Branches.DeleteBranch(pid, "topic/one"); err == nil || statusOf(t, r) != http.StatusNotFound {
			t.Fatalf("delete it again: %v", err)
		}
		if _, ok := remoteRefs(t, f, pid)["refs/heads/topic/one"]; ok {
			t.Fatal("git still sees topic/one")
		}

		// Tags: annotated with the caller as tagger, or lightweight.
		tag, r, err := devc.Tags.CreateTag(pid, &gitlab.CreateTagOptions{TagName: gitlab.Ptr("v2.0"), Ref: gitlab.Ptr("main"), Message: gitlab.Ptr("Release 2.0")})
		if err != nil || statusOf(t, r) != http.StatusCreated {
			t.Fatalf("create tag: %v", err)
		}
		if tag.Name != "v2.0" || tag.Message != "Release 2.0" || tag.Commit.ID != s.second || tag.Target == s.second || tag.CreatedAt == nil {
			t.Fatalf("annotated tag %+v", tag)
		}
		f.env.MustGit(s.work, "fetch", "-q", f.env.RepoURL("alice", "alice-password-1", pid), "refs/tags/v2.0:refs/tags/v2.0")
		if obj := f.env.MustGit(s.work, "cat-file", "-p", "v2.0"); !strings.Contains(obj, "tagger dev <dev@example.com>") || !strings.Contains(obj, "Release 2.0") {
			t.Fatalf("tag object as git reads it:\n%s", obj)
		}
		light := ans(devc.Tags.CreateTag(pid, &gitlab.CreateTagOptions{TagName: gitlab.Ptr("v2.1"), Ref: gitlab.Ptr(s.feature)})).must(t)
		if light.Target != s.feature || light.Message != "" {
			t.Fatalf("lightweight tag %+v", light)
		}
		for _, bad := range []struct{ tag, ref, want string }{
			{"v2.0", "main", "Tag v2.0 already exists"},
			{"bad tag", "main", "Tag name invalid"},
			{"main", "main", "You cannot use default branch name to create a tag."},
			{"v3", "nope", "Target nope is invalid"},
		} {
			_, r, err := devc.Tags.CreateTag(pid, &gitlab.CreateTagOptions{TagName: gitlab.Ptr(bad.tag), Ref: gitlab.Ptr(bad.ref)})
			if err == nil || statusOf(t, r) != 400 || !strings.Contains(err.Error(), bad.want) {
				t.Fatalf("create tag %q from %q: %v", bad.tag, bad.ref, err)
			}
		}
		if r, err := devc.Tags.DeleteTag(pid, "v2.1"); err != nil || statusOf(t, r) != http.StatusNoContent {
			t.Fatalf("delete tag: %v", err)
		}
		if r, err := devc.Tags.DeleteTag(pid, "v2.1"); err == nil || statusOf(t, r) != 404 {
			t.Fatalf("delete tag again: %v", err)
		}
		refs := remoteRefs(t, f, pid)
		if _, ok := refs["refs/tags/v2.1"]; ok || refs["refs/tags/v2.0"] != tag.Target {
			t.Fatalf("git sees tags %v", refs)
		}

		// A reporter may read but not change refs; a read_api token of
		// the owner may not write either.
		rep := f.env.User("rep", testenv.UserOpts{})
		f.env.Member(pid, rep, access.Reporter)
		repToken := f.env.Token(rep, auth.ScopeAPI)
		expect(t, "reporter creates a branch", f.do(req{method: http.MethodPost, path: "/projects/alice%2Fcode/repository/branches", token: repToken,
			body: `{"branch":"x","ref":"main"}`}), 403, `{"message":"403 Forbidden"}`)
		expect(t, "reporter deletes a tag", f.do(req{method: http.MethodDelete, path: "/projects/alice%2Fcode/repository/tags/v1.0", token: repToken}),
			403, `{"message":"403 Forbidden"}`)
		readAPI := f.env.Token(f.alice, auth.ScopeReadAPI)
		expect(t, "read_api creates a tag", f.do(req{method: http.MethodPost, path: "/projects/alice%2Fcode/repository/tags", token: readAPI,
			body: `{"tag_name":"x","ref":"main"}`}), 403, `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"api"}`)
		if _, ok := remoteRefs(t, f, pid)["refs/heads/x"]; ok {
			t.Fatal("a refused request created a branch")
		}
	})
}
