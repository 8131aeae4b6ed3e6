package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/gitrepo"
)

// blob is a file found at a revision, with its bytes.
type blob struct {
	entry    *gitrepo.Entry
	ref      string // the ref as the caller named it
	commitID string
	lastID   string
	data     []byte
	sha256   string
}

// maxFileBytes is the configured bound on a file the API returns.
func (h *Handler) maxFileBytes() int64 {
	if h.cfg.MaxFileBytes > 0 {
		return h.cfg.MaxFileBytes
	}
	return DefaultMaxFileBytes
}

// readFile finds :file_path at ref and reads it, refusing a file larger
// than the configured bound before reading a byte of it.
func (k *code) readFile(ref string) (*blob, error) {
	c := k.c
	filePath, ok := gitrepo.CleanPath(c.vars["file_path"])
	if !ok {
		return nil, grapeError(http.StatusBadRequest, "file_path should be a valid file path")
	}
	commitID, err := k.repo.ResolveCommit(c.ctx, ref)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, notFound("Commit")
	}
	if err != nil {
		return nil, err
	}
	entry, err := k.repo.File(c.ctx, commitID, filePath)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, notFound("File")
	}
	if err != nil {
		return nil, err
	}
	if limit := c.h.maxFileBytes(); entry.Size > limit {
		return nil, message(http.StatusRequestEntityTooLarge,
			fmt.Sprintf("413 File is too large: %d bytes, the limit is %d bytes; use git or the archive endpoint", entry.Size, limit))
	}
	last, err := k.repo.LastCommit(c.ctx, commitID, filePath)
	if err != nil {
		return nil, err
	}
	buf := bytes.NewBuffer(make([]byte, 0, entry.Size))
	if err := k.repo.Blob(c.ctx, entry.ID, buf); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return &blob{entry: entry, ref: ref, commitID: commitID, lastID: last, data: buf.Bytes(), sha256: hex.EncodeToString(sum[:])}, nil
}

// setHeaders sets GitLab's X-Gitlab-* headers of a file (its
// set_http_headers of the file's fields).
func (b *blob) setHeaders(h http.Header) {
	h.Set("X-Gitlab-File-Name", path.Base(b.entry.Path))
	h.Set("X-Gitlab-File-Path", b.entry.Path)
	h.Set("X-Gitlab-Size", strconv.FormatInt(b.entry.Size, 10))
	h.Set("X-Gitlab-Encoding", "base64")
	h.Set("X-Gitlab-Content-Sha256", b.sha256)
	h.Set("X-Gitlab-Ref", b.ref)
	h.Set("X-Gitlab-Blob-Id", b.entry.ID)
	h.Set("X-Gitlab-Commit-Id", b.commitID)
	h.Set("X-Gitlab-Last-Commit-Id", b.lastID)
	h.Set("X-Gitlab-Execute-Filemode", strconv.FormatBool(b.entry.Executable()))
}

// GET (and HEAD) /projects/:id/repository/files/:file_path?ref=: the
// file's metadata and base64 content; HEAD the same headers, no body.
func getFile(c *call) error {
	ref, ok, err := c.params.str("ref")
	if err != nil {
		return err
	}
	if !ok || ref == "" {
		return missingParams("ref")
	}
	k, err := c.codeProject()
	if err != nil {
		return err
	}
	b, err := k.readFile(ref)
	if err != nil {
		return err
	}
	b.setHeaders(c.w.Header())
	if c.r.Method == http.MethodHead {
		c.w.WriteHeader(http.StatusOK)
		return nil
	}
	writeJSON(c.w, http.StatusOK, File{
		FileName: path.Base(b.entry.Path), FilePath: b.entry.Path, Size: b.entry.Size, Encoding: "base64",
		ContentSHA256: b.sha256, Ref: ref, BlobID: b.entry.ID, CommitID: b.commitID, LastCommitID: b.lastID,
		ExecuteFilemode: b.entry.Executable(), Content: base64.StdEncoding.EncodeToString(b.data),
	})
	return nil
}

// GET /projects/:id/repository/files/:file_path/raw[?ref=]: the file's
// bytes (ref defaults to the default branch). Text is served as
// text/plain and images as themselves, inline; anything else as an
// attachment of application/octet-stream, so that no file of a
// repository is ever rendered as a page of this site.
func getRawFile(c *call) error {
	ref, _, err := c.params.str("ref")
	if err != nil {
		return err
	}
	k, err := c.codeProject()
	if err != nil {
		return err
	}
	if ref == "" {
		ref = k.p.DefaultBranch
	}
	b, err := k.readFile(ref)
	if err != nil {
		return err
	}
	h := c.w.Header()
	b.setHeaders(h)
	ctype, disposition := rawContentType(b.data), "inline"
	if ctype == "application/octet-stream" {
		disposition = "attachment"
	}
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", mime.FormatMediaType(disposition, map[string]string{"filename": path.Base(b.entry.Path)}))
	h.Set("Content-Length", strconv.Itoa(len(b.data)))
	c.w.WriteHeader(http.StatusOK)
	if c.r.Method != http.MethodHead {
		_, _ = io.Copy(c.w, bytes.NewReader(b.data))
	}
	return nil
}

// rawContentType is the type a raw file is served as: text/plain for
// text, the image types browsers show safely, else
// application/octet-stream. HTML, SVG and scripts are text/plain.
func rawContentType(data []byte) string {
	sniffed := http.DetectContentType(data)
	switch {
	case strings.HasPrefix(sniffed, "text/"):
		return "text/plain; charset=utf-8"
	case sniffed == "image/png", sniffed == "image/jpeg", sniffed == "image/gif", sniffed == "image/webp", sniffed == "image/bmp":
		return sniffed
	case len(data) == 0:
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}
