package gitserver

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
)

func authRequest(header string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://git.example/grp/proj.git/info/refs", nil)
	r.Header.Set("Authorization", header)
	return r
}

// FuzzCredential checks the Git door's Authorization parsing with any
// header: a credential is either present or malformed, never both; Basic
// is only taken from a Basic header and Bearer from a Bearer one; and a
// header formatted from a user, a password or a token gives them back.
func FuzzCredential(f *testing.F) {
	basic := func(user, pass string) string {
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	}
	for _, s := range []struct{ header, user, pass string }{
		{basic("alice", "glpat-abcdefghijklmnopqrstuv"), "alice", "glpat-abcdefghijklmnopqrstuv"},
		{basic("", ""), "", ""},
		{basic("oauth2", "tok:with:colons"), "oauth2", "tok:with:colons"},
		{"Bearer glpat-abcdefghijklmnopqrstuv", "", "glpat-abcdefghijklmnopqrstuv"},
		{"bearer   padded  ", "x", " y "},
		{"Bearer", "", ""},
		{"Basic", "", ""},
		{"Basic !!!", "a", "b"},
		{"Digest username=x", "é", "\x00"},
		{"BASIC " + base64.StdEncoding.EncodeToString([]byte("nocolon")), "", ""},
		{"Basic\t" + base64.StdEncoding.EncodeToString([]byte("a:b")), "a", "b"},
		{"Token abc", "", ""},
	} {
		f.Add(s.header, s.user, s.pass)
	}
	f.Fuzz(func(t *testing.T, header, user, pass string) {
		c, present, malformed := credential(authRequest(header))
		if present && malformed {
			t.Fatalf("credential(%q) is both present and malformed", header)
		}
		scheme, _, _ := strings.Cut(header, " ")
		switch {
		case !present:
			if c.Kind != 0 || c.Username != "" || c.Secret != "" {
				t.Fatalf("credential(%q) absent but gave %+v", header, c)
			}
			if header == "" && malformed {
				t.Fatal("no header is malformed")
			}
		case c.Kind == auth.CredGitBasic:
			if !strings.EqualFold(scheme, "basic") || c.Username == "" && c.Secret == "" {
				t.Fatalf("credential(%q) = Basic %q %q", header, c.Username, c.Secret)
			}
			// Formatting what was read reads back the same.
			if c2, ok, _ := credential(authRequest(basic(c.Username, c.Secret))); !ok || c2.Kind != c.Kind || c2.Username != c.Username || c2.Secret != c.Secret {
				t.Fatalf("credential(%q) = %+v does not round-trip (%+v)", header, c, c2)
			}
		case c.Kind == auth.CredToken:
			if !strings.EqualFold(scheme, "bearer") || c.Secret == "" || c.Secret != strings.TrimSpace(c.Secret) {
				t.Fatalf("credential(%q) = Bearer %q", header, c.Secret)
			}
		default:
			t.Fatalf("credential(%q) gave kind %v", header, c.Kind)
		}

		// A Basic header made from a user without ':' (the separator)
		// gives back that user and password; both empty is curl's
		// http.emptyAuth, no credential at all.
		if !strings.Contains(user, ":") {
			c, present, malformed := credential(authRequest(basic(user, pass)))
			switch {
			case user == "" && pass == "":
				if present || malformed {
					t.Fatalf("empty Basic credential: present=%v malformed=%v", present, malformed)
				}
			case !present || malformed || c.Kind != auth.CredGitBasic || c.Username != user || c.Secret != pass:
				t.Fatalf("Basic %q:%q read as %+v present=%v malformed=%v", user, pass, c, present, malformed)
			}
		}
		// A Bearer header gives back its token without surrounding
		// spaces; nothing but spaces is malformed.
		for _, prefix := range []string{"Bearer ", "bearer ", "BEARER "} {
			c, present, malformed := credential(authRequest(prefix + pass))
			want := strings.TrimSpace(pass)
			if want == "" {
				if present || !malformed {
					t.Fatalf("empty Bearer %q: present=%v malformed=%v", pass, present, malformed)
				}
				continue
			}
			if !present || malformed || c.Kind != auth.CredToken || c.Secret != want {
				t.Fatalf("Bearer %q read as %+v present=%v malformed=%v", pass, c, present, malformed)
			}
		}
	})
}

// FuzzProtocol checks the Git-Protocol header: it reaches git (as
// GIT_PROTOCOL) exactly as sent or not at all, only as colon-separated
// key=value pairs of letters and digits, so nothing else can be smuggled
// into git's environment; version 2 is recognized wherever it is listed.
func FuzzProtocol(f *testing.F) {
	for _, s := range []string{
		"version=2", "version=1", "version=0", "version=2:object-format=sha256", "a=b:version=2", "version=2:",
		":version=2", "version=2\nGIT_DIR=/etc", "version=2 ", "version=2\x00", "version==2", "=2", "version=",
		"version=2:version=1", strings.Repeat("k=v:", 64) + "version=2", "version=２",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r, _ := http.NewRequest(http.MethodGet, "http://git.example/grp/proj.git/info/refs?service=git-upload-pack", nil)
		r.Header["Git-Protocol"] = []string{header}
		p := protocol(r)
		if p == "" {
			if wantsV2(p) {
				t.Fatal("no protocol wants v2")
			}
			return
		}
		if p != header || len(p) > 256 || !gitproc.ValidProtocol(p) {
			t.Fatalf("protocol(%q) = %q", header, p)
		}
		v2 := false
		for _, kv := range strings.Split(p, ":") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" || !alnum(k) || !alnum(v) {
				t.Fatalf("protocol(%q) passed item %q", header, kv)
			}
			v2 = v2 || kv == "version=2"
		}
		if wantsV2(p) != v2 {
			t.Fatalf("wantsV2(%q) = %v", p, !v2)
		}
		// Asking for version 2 as well keeps a valid header valid.
		if more := p + ":version=2"; len(more) <= 256 && (!gitproc.ValidProtocol(more) || !wantsV2(more)) {
			t.Fatalf("%q with version=2 added is refused", p)
		}
	})
}

func alnum(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}
