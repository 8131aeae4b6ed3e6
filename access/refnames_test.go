package access

import (
	"strings"
	"testing"
)

func TestCheckRefNameRefusesWhatGitAndGitLabRefuse(t *testing.T) {
	const hex40 = "0123456789abcdef0123456789ABCDEF01234567"
	cases := []struct {
		ref  string
		want string // "" allowed, else a fragment of the refusal
	}{
		{"refs/heads/main", ""},
		{"refs/heads/feature/x", ""},
		{"refs/heads/HEADER", ""},
		{"refs/heads/x-HEAD", ""},
		{"refs/heads/head", ""},
		{"refs/heads/refs", ""},
		{"refs/heads/my/refs/heads/x", ""},
		{"refs/heads/" + hex40[:39], ""},
		{"refs/heads/" + hex40 + "0", ""},
		{"refs/heads/" + hex40 + "-x", ""},
		{"refs/tags/v1.0", ""},
		{"refs/tags/" + hex40[:39], ""},
		{"refs/notes/commits", ""},
		{"refs/merge-requests/1/head", ""},
		{"refs/heads-x/HEAD", ""},

		{"refs/heads/HEAD", "branch named HEAD"},
		{"refs/tags/HEAD", "tag named HEAD"},
		{"refs/heads/-x", "starts with '-'"},
		{"refs/heads/-", "starts with '-'"},
		{"refs/tags/--force", "starts with '-'"},
		{"refs/heads/refs/heads/main", "starts with refs/heads/"},
		{"refs/heads/refs/remotes/origin/main", "starts with refs/remotes/"},
		{"refs/tags/refs/heads/x", "starts with refs/heads/"},
		{"refs/tags/refs/tags/v1", "starts with refs/tags/"},
		{"refs/heads/" + hex40, "40-character hexadecimal"},
		{"refs/heads/" + hex40 + "/x", "40-character hexadecimal"},
		{"refs/heads/" + hex40 + "-/x", "40-character hexadecimal"},
		{"refs/tags/" + hex40, "SHA-1 or SHA-256"},
		{"refs/tags/" + hex40 + "-release", "SHA-1 or SHA-256"},
		{"refs/tags/main", "default branch name"},
	}
	for _, c := range cases {
		err := CheckRefName(c.ref, "main")
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%s refused: %v", c.ref, err)
		case c.want != "" && err == nil:
			t.Errorf("%s allowed, want a refusal mentioning %q", c.ref, c.want)
		case c.want != "" && !strings.Contains(err.Error(), c.want):
			t.Errorf("%s refused with %q, want it to mention %q", c.ref, err, c.want)
		}
	}
	// A branch may share the default branch's name; only a tag may not.
	if err := CheckRefName("refs/tags/main", "trunk"); err != nil {
		t.Errorf("tag main with default branch trunk: %v", err)
	}
}
