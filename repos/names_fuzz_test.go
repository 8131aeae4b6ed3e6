package repos_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/repos"
)

// FuzzSplitPath checks the one repository-path parser of every door: what
// it accepts is a clean relative path of valid segments that stays under
// any root it is joined to, and parsing its own answer gives it back.
func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{
		"alice/proj", "alice/proj.git", "/grp/sub/proj.GIT/", "ALICE/PRIV.GIT", "a/../b", "a/./b", "a//b",
		"a\\b/c", "a/b.git.git", "a/b.atom", "a/-b", "a/.b", "a/b.", "a/b\x00c", "..", "/", "x.git", ".git",
		strings.Repeat("g/", 20) + "p", strings.Repeat("g/", 21) + "p", "a/" + strings.Repeat("x", 256),
		"user.name/my-proj_1", "grp/%2e%2e/p", "grp/p\u202e", "grp/\u0430dmin",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, full string) {
		ns, name, err := repos.SplitPath(full)
		if err != nil {
			if ns != "" || name != "" {
				t.Fatalf("SplitPath(%q) refused with %q %q", full, ns, name)
			}
			if msg := err.Error(); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("SplitPath(%q): error %q is not one line", full, msg)
			}
			return
		}
		joined := ns + "/" + name
		if strings.Contains(joined, "..") || strings.ContainsAny(joined, "\\\x00") {
			t.Fatalf("SplitPath(%q) accepted %q", full, joined)
		}
		if filepath.Clean(joined) != joined || !filepath.IsLocal(joined) {
			t.Fatalf("SplitPath(%q) = %q, which is not a clean local path", full, joined)
		}
		const root = "/srv/gitgate/repositories"
		if p := filepath.Join(root, joined); !strings.HasPrefix(p, root+"/") {
			t.Fatalf("SplitPath(%q) = %q resolves to %q outside the root", full, joined, p)
		}
		segs := strings.Split(joined, "/")
		if len(segs) < 2 || len(segs) > repos.MaxDepth+1 {
			t.Fatalf("SplitPath(%q) = %q has %d segments", full, joined, len(segs))
		}
		for _, s := range segs {
			if err := repos.ValidateSegment(s); err != nil {
				t.Fatalf("SplitPath(%q) accepted segment %q: %v", full, s, err)
			}
		}
		if err := repos.ValidateNamespacePath(ns); err != nil {
			t.Fatalf("SplitPath(%q) namespace %q: %v", full, ns, err)
		}
		// The answer is a fixed point, with or without ".git" and slashes.
		for _, again := range []string{joined, joined + ".git", "/" + joined + ".GIT/"} {
			ns2, name2, err := repos.SplitPath(again)
			if err != nil || ns2 != ns || name2 != name {
				t.Fatalf("SplitPath(%q) = %q %q %v, want %q %q", again, ns2, name2, err, ns, name)
			}
		}
		// Nothing but slashes and a ".git" suffix was taken away.
		rest := strings.Trim(full, "/")
		if !strings.EqualFold(rest, joined) && !strings.EqualFold(rest, joined+".git") {
			t.Fatalf("SplitPath(%q) = %q changed more than the suffix", full, joined)
		}
	})
}

// FuzzPathFromName checks the project path derived from a name: only
// GitLab's path characters, no leading or trailing '-' or '.', no run of
// dashes, stable when derived again, and a valid path unless the name
// itself makes one that the doors then refuse with a clear message.
func FuzzPathFromName(f *testing.F) {
	for _, s := range []string{
		"My Project", "  spaced  out  ", "v1.2_release", "--Lead & Trail!--", ".hidden.", "", "a..b", "x.git",
		"Ünïcödé Prøject", "日本語", "a\x00b", "a/b", "feed.atom", "-._-", strings.Repeat("ab ", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		p := repos.PathFromName(name)
		for _, r := range p {
			if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
				t.Fatalf("PathFromName(%q) = %q holds %q", name, p, r)
			}
		}
		if strings.HasPrefix(p, "-") || strings.HasPrefix(p, ".") || strings.HasSuffix(p, "-") || strings.HasSuffix(p, ".") || strings.Contains(p, "--") {
			t.Fatalf("PathFromName(%q) = %q", name, p)
		}
		if again := repos.PathFromName(p); again != p {
			t.Fatalf("PathFromName(%q) = %q, but PathFromName(%q) = %q", name, p, p, again)
		}
		if p == "" {
			return
		}
		if err := repos.ValidateSegment(p); err != nil {
			// The only ways a derived path fails are the ones its
			// characters cannot avoid; those come back as a clear error.
			if !strings.Contains(p, "..") && !strings.HasSuffix(p, ".git") && !strings.HasSuffix(p, ".atom") && len(p) <= 255 {
				t.Fatalf("PathFromName(%q) = %q is invalid: %v", name, p, err)
			}
			if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("PathFromName(%q): error %q is not one line", name, msg)
			}
			return
		}
		if ns, got, err := repos.SplitPath("grp/" + p); err != nil || ns != "grp" || got != p {
			t.Fatalf("SplitPath(grp/%q) = %q %q %v", p, ns, got, err)
		}
	})
}
