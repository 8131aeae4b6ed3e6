package gitserver

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/repos"
)

func TestParseRoute(t *testing.T) {
	tests := []struct {
		path, repo, endpoint string
		ok                   bool
	}{
		{"/grp/proj.git/info/refs", "grp/proj", "info/refs", true},
		{"/grp/proj/info/refs", "grp/proj", "info/refs", true},
		{"/grp/proj.GIT/git-upload-pack", "grp/proj", "git-upload-pack", true},
		{"/grp/sub/deeper/proj.git/git-receive-pack", "grp/sub/deeper/proj", "git-receive-pack", true},
		{"/user.name/my-proj_1.git/info/refs", "user.name/my-proj_1", "info/refs", true},
		{"/proj.git/info/refs", "", "", false},                          // no namespace
		{"/grp/proj.git/objects/info/packs", "", "", false},             // dumb HTTP
		{"/grp/proj.git/HEAD", "", "", false},                           // dumb HTTP
		{"/grp/proj.git/git-upload-archive", "", "", false},             // not over HTTP
		{"/grp/../proj.git/info/refs", "", "", false},                   // traversal
		{"/grp/./proj.git/info/refs", "", "", false},                    // dot segment
		{"/grp//proj.git/info/refs", "", "", false},                     // empty segment
		{"//grp/proj.git/info/refs", "", "", false},                     // empty segment
		{"/grp/proj.git//info/refs", "", "", false},                     // empty segment
		{"/grp/proj.git.git/info/refs", "", "", false},                  // name ends in .git
		{"grp/proj.git/info/refs", "", "", false},                       // not absolute
		{"/grp/-proj.git/info/refs", "", "", false},                     // bad first character
		{"/grp/pr\x00oj.git/info/refs", "", "", false},                  // control character
		{"/grp/proj.git/info/refs/info/refs", "", "", false},            // "refs" segment is fine, "info" too — but .git inside
		{"/" + strings.Repeat("a/", 25) + "p/info/refs", "", "", false}, // too deep
	}
	for _, tt := range tests {
		repo, ep, ok := ParseRoute(tt.path)
		if ok != tt.ok || repo != tt.repo || ep != tt.endpoint {
			t.Errorf("ParseRoute(%q) = %q, %q, %v; want %q, %q, %v", tt.path, repo, ep, ok, tt.repo, tt.endpoint, tt.ok)
		}
	}
}

func FuzzParseRoute(f *testing.F) {
	for _, s := range []string{"/grp/proj.git/info/refs", "/a/b/c/d.git/git-receive-pack", "/a/../b/info/refs",
		"/a/b.git/git-upload-pack", "/%2e%2e/x/info/refs", "/a/b/c.git.git/info/refs", "//info/refs"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		repo, ep, ok := ParseRoute(path)
		if !ok {
			if repo != "" || ep != "" {
				t.Fatalf("refused route returned %q %q", repo, ep)
			}
			return
		}
		if ep != "info/refs" && ep != "git-upload-pack" && ep != "git-receive-pack" {
			t.Fatalf("unknown endpoint %q", ep)
		}
		// Whatever was accepted is a valid repository path, reaching
		// nowhere outside the namespace tree.
		if _, _, err := repos.SplitPath(repo); err != nil {
			t.Fatalf("accepted invalid repository path %q: %v", repo, err)
		}
		for _, seg := range strings.Split(repo, "/") {
			if seg == "" || seg == "." || seg == ".." || strings.ContainsAny(seg, "\\\x00") {
				t.Fatalf("accepted path %q with segment %q", repo, seg)
			}
		}
		if !strings.HasSuffix(path, "/"+ep) || !strings.HasPrefix(path, "/"+repo) && !strings.HasPrefix(strings.ToLower(path), "/"+strings.ToLower(repo)) {
			t.Fatalf("route %q -> %q %q does not come from the path", path, repo, ep)
		}
	})
}
