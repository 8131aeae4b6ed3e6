package repos_test

import (
	"testing"

	"github.com/gitgate/gitgate/repos"
)

func TestPathFromNameIsGitLabsSlug(t *testing.T) {
	for name, want := range map[string]string{
		"My Project":        "my-project",
		"  spaced  out  ":   "spaced-out",
		"v1.2_release":      "v1.2_release",
		"--Lead & Trail!--": "lead-trail",
		".hidden.":          "hidden",
		"":                  "",
	} {
		if got := repos.PathFromName(name); got != want {
			t.Errorf("PathFromName(%q) = %q, want %q", name, got, want)
		}
	}
}
