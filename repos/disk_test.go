package repos

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The server's own environment must not shape the repositories it
// creates: a template directory or a default hash meant for someone's
// shell would otherwise end up in every new repository.
func TestInitBareIgnoresTheServersGitEnvironment(t *testing.T) {
	templates := t.TempDir()
	if err := os.WriteFile(filepath.Join(templates, "leaked"), []byte("from the server's environment\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GIT_TEMPLATE_DIR", templates)
	t.Setenv("GIT_DEFAULT_HASH", "sha256")
	dir := filepath.Join(t.TempDir(), "r.git")
	if err := InitBare(context.Background(), dir, "main"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "leaked")); err == nil {
		t.Error("the new repository was made from GIT_TEMPLATE_DIR")
	}
	config, err := os.ReadFile(filepath.Join(dir, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(strings.ToLower(string(config)), "objectformat") {
		t.Errorf("the new repository took GIT_DEFAULT_HASH:\n%s", config)
	}
}
