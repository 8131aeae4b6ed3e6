package repos_test

import (
	"testing"

	"github.com/gitgate/gitgate/repos"
)

func TestCloneURLsFollowGitLabsForms(t *testing.T) {
	for _, c := range []struct{ ssh, want string }{
		{"", ""},
		{"git.example.com:22", "git@git.example.com:group/sub/app.git"},
		{"git.example.com", "git@git.example.com:group/sub/app.git"},
		{"git.example.com:2222", "ssh://git@git.example.com:2222/group/sub/app.git"},
		{"[::1]:2222", "ssh://git@[::1]:2222/group/sub/app.git"},
		{"[2001:db8::1]:22", "git@[2001:db8::1]:group/sub/app.git"},
	} {
		if got := repos.SSHCloneURL(c.ssh, "group/sub/app"); got != c.want {
			t.Errorf("SSHCloneURL(%q) = %q, want %q", c.ssh, got, c.want)
		}
	}
	for base, want := range map[string]string{
		"https://git.example.com":       "https://git.example.com/group/sub/app.git",
		"https://git.example.com/":      "https://git.example.com/group/sub/app.git",
		"http://127.0.0.1:8080/gitgate": "http://127.0.0.1:8080/gitgate/group/sub/app.git",
	} {
		if got := repos.HTTPCloneURL(base, "group/sub/app"); got != want {
			t.Errorf("HTTPCloneURL(%q) = %q, want %q", base, got, want)
		}
	}
}
