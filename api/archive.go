package api

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/gitrepo"
)

// archiveFormats maps GitLab's archive formats (the path's extension, one
// route each in the table, or the format parameter) to git archive's.
var archiveFormats = map[string]string{
	"tar.gz": "tar.gz", "tgz": "tar.gz", "gz": "tar.gz",
	"tar.bz2": "tar.bz2", "tbz": "tar.bz2", "tbz2": "tar.bz2", "tb2": "tar.bz2", "bz2": "tar.bz2",
	"tar": "tar", "zip": "zip",
}

// GET /projects/:id/repository/archive[.tar.gz|.tar.bz2|.tar|.zip|…]?sha=:
// the tree of sha (a commit, branch or tag; default: the default branch),
// or of its directory path,
// as git archive writes it, straight into the response: the archive is
// never held in memory, whatever its size. The file and its top
// directory are named <project>-<ref>-<commit>, as GitLab names them.
func getArchive(c *call) error {
	format := "tar.gz"
	last := c.r.URL.EscapedPath()
	if i := strings.LastIndex(last, "/archive."); i >= 0 {
		format = last[i+len("/archive."):]
	} else if f, ok, err := c.params.str("format"); err != nil {
		return err
	} else if ok && f != "" {
		format = f
	}
	gitFormat, ok := archiveFormats[format]
	if !ok {
		return invalidValue("format")
	}
	sha, _, err := c.params.str("sha")
	if err != nil {
		return err
	}
	k, err := c.codeProject()
	if err != nil {
		return err
	}
	if sha == "" {
		sha = k.p.DefaultBranch
	}
	commitID, err := k.repo.ResolveCommit(c.ctx, sha)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return notFound("File")
	}
	if err != nil {
		return err
	}
	name := k.p.Path + "-" + strings.ReplaceAll(sha, "/", "-") + "-" + commitID
	sub, hasPath, err := c.params.str("path")
	if err != nil {
		return err
	}
	if hasPath && sub != "" {
		// GitLab's path: only that directory, named after it too.
		if sub, ok = gitrepo.CleanPath(strings.TrimSuffix(sub, "/")); !ok {
			return invalidParam("path")
		}
		name += "-" + strings.ReplaceAll(sub, "/", "-")
		// Checked now: once the archive streams, a failure can only cut
		// it short.
		found, err := k.repo.HasPath(c.ctx, commitID, sub)
		if err != nil {
			return err
		}
		if !found {
			return notFound("File")
		}
	}
	h := c.w.Header()
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name + "." + format}))
	if gitFormat == "zip" {
		h.Set("Content-Type", "application/zip")
	} else {
		h.Set("Content-Type", "application/octet-stream")
	}
	h.Set("Content-Transfer-Encoding", "binary")
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	// From here on the status is sent: a failure can only cut the
	// stream short, which the client sees as a broken archive.
	if err := k.repo.Archive(c.ctx, c.w, gitFormat, name+"/", commitID, sub); err != nil && c.ctx.Err() == nil {
		c.h.log.Warn("api: archive failed after the response started", "project", k.p.FullPath(), "err", err)
	}
	return nil
}
