package repos

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// repoConfig is set on every new repository; docs/repositories.md says why.
var repoConfig = [][2]string{
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
	if err := runGit(ctx, "", "init", "--quiet", "--bare", "--initial-branch="+defaultBranch, tmp); err != nil {
		return err
	}
	for _, kv := range repoConfig {
		if err := runGit(ctx, tmp, "config", kv[0], kv[1]); err != nil {
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

func runGit(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "git", args...)
	if dir != "" {
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_DIR="+dir)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
