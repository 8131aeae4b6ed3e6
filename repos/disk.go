package repos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gitgate/gitgate/gitproc"
)

// repoConfig is set on every new repository; docs/repositories.md says why.
var repoConfig = [][2]gitproc.Arg{
	// Keep received packs as packs: exploding a big push into loose
	// objects costs time and memory proportional to its size.
	{"receive.unpackLimit", "1"},
	{"transfer.unpackLimit", "1"},
	// Blobs above this are streamed, not held in memory, when indexed.
	{"core.bigFileThreshold", "16m"},
	{"receive.fsckObjects", "true"},
	{"receive.autogc", "false"},
	{"gc.auto", "0"},
	{"uploadpack.allowFilter", "true"},
	{"uploadpack.allowAnySHA1InWant", "false"},
	{"uploadpack.allowReachableSHA1InWant", "true"},
	{"repack.writeBitmaps", "true"},
	{"pack.writeBitmapHashCache", "true"},
	{"core.commitGraph", "true"},
	{"fetch.writeCommitGraph", "true"},
	{"core.logAllRefUpdates", "false"},
}

// InitBare creates a bare repository at dir with gitgate's settings. It
// builds in a temporary sibling and renames into place, so dir either is
// a complete repository or does not exist.
func InitBare(ctx context.Context, dir, defaultBranch string) error {
	if !filepath.IsAbs(dir) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return fmt.Errorf("repository path: %w", err)
		}
		dir = abs
	}
	if _, err := os.Stat(dir); err == nil {
		return fmt.Errorf("repository directory %s already exists", dir)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o750); err != nil {
		return fmt.Errorf("create repository parent: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".init-")
	if err != nil {
		return fmt.Errorf("create repository: %w", err)
	}
	defer os.RemoveAll(tmp)
	if err := runGit(ctx, gitproc.Git("init", "--quiet", "--bare", "--initial-branch").AddValues(defaultBranch, tmp)); err != nil {
		return err
	}
	for _, kv := range repoConfig {
		if err := runGit(ctx, gitproc.Git("config", kv[0], kv[1]).WithGitDir(tmp)); err != nil {
			return err
		}
	}
	// Sample hooks are noise in every repository.
	_ = os.RemoveAll(filepath.Join(tmp, "hooks"))
	if err := os.Mkdir(filepath.Join(tmp, "hooks"), 0o750); err != nil {
		return fmt.Errorf("create hooks directory: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("move repository into place: %w", err)
	}
	return nil
}

// runGit runs g with git's message in its error.
func runGit(ctx context.Context, g *gitproc.Cmd) error {
	var stderr bytes.Buffer
	if err := g.WithStderr(&stderr).Run(ctx); err != nil {
		return fmt.Errorf("git %s: %v: %s", g.Name(), err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
