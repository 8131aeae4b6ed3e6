package sshserver

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
)

func TestParseCommandAcceptsWhatGitClientsSend(t *testing.T) {
	cases := []struct {
		raw  string
		want Command
	}{
		{"", Command{Verb: VerbWelcome}},
		{"git-upload-pack 'alice/proj.git'", Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git-upload-pack '/alice/proj.git'", Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git-receive-pack 'alice/proj'", Command{Verb: string(gitproc.ReceivePack), Path: "alice/proj"}},
		{"git-upload-archive 'group/sub/proj.git'", Command{Verb: string(gitproc.UploadArchive), Path: "group/sub/proj"}},
		{"git upload-pack 'alice/proj.git'", Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git receive-pack '/alice/proj.git'", Command{Verb: string(gitproc.ReceivePack), Path: "alice/proj"}},
		{`git-upload-pack "alice/proj.git"`, Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git-upload-pack '~/alice/proj.git'", Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git-upload-pack '~alice/proj.git'", Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git-upload-pack 'alice/proj.git/'", Command{Verb: string(gitproc.UploadPack), Path: "alice/proj"}},
		{"git-upload-pack 'ALICE/PROJ.GIT'", Command{Verb: string(gitproc.UploadPack), Path: "ALICE/PROJ"}},
		{"git-receive-pack 'Alice/Proj.Git'", Command{Verb: string(gitproc.ReceivePack), Path: "Alice/Proj"}},
		{"personal_access_token ci api,read_repository 30", Command{Verb: VerbPersonalAccessToken, Args: []string{"ci", "api,read_repository", "30"}}},
		{"personal_access_token 'my token' read_repository", Command{Verb: VerbPersonalAccessToken, Args: []string{"my token", "read_repository"}}},
		{"personal_access_token", Command{Verb: VerbPersonalAccessToken, Args: nil}},
	}
	for _, c := range cases {
		got, err := ParseCommand(c.raw)
		if err != nil {
			t.Errorf("ParseCommand(%q): %v", c.raw, err)
			continue
		}
		if got.Verb != c.want.Verb || got.Path != c.want.Path || !slices.Equal(got.Args, c.want.Args) {
			t.Errorf("ParseCommand(%q) = %+v, want %+v", c.raw, got, c.want)
		}
	}
}

func TestParseCommandRefusesTricksAndUnknownCommands(t *testing.T) {
	cases := []string{
		"git-upload-pack '../../etc'",
		"git-upload-pack 'alice/../../etc'",
		"git-upload-pack '//alice/proj'",
		"git-upload-pack 'alice//proj'",
		"git-upload-pack 'proj'",
		"git-upload-pack '~'",
		"git-upload-pack alice/proj",                       // unquoted path
		"git-upload-pack 'alice/proj' 'bob/proj'",          // extra argument
		"git-upload-pack 'alice/proj' --upload-pack=touch", // extra option
		"git-upload-pack",
		"git-upload-pack 'alice/proj'; rm -rf /",
		"git-upload-pack 'alice/proj' && id",
		"git-upload-pack 'alice/proj' | cat",
		"git-upload-pack `id`",
		"git-upload-pack '`id`/proj'",
		"git-upload-pack $(id)",
		"git-upload-pack '$(id)/proj'",
		`git-upload-pack "$(id)/proj"`,
		`git-upload-pack "alice/proj\"`,
		`git-upload-pack 'alice/proj'\''x'`,
		"git-upload-pack 'alice/proj",
		"git-upload-pack 'alice/proj'x",
		"git-upload-pack 'alice/proj\n'",
		"git-upload-pack 'alice/proj'\nid",
		"git-upload-pack\t'alice/proj'",
		"git-upload-pack 'alice/pr\x00oj'",
		"git 'upload-pack' 'alice/proj'",
		"git upload-pack",
		"git",
		"git-http-backend 'alice/proj'",
		"git-lfs-authenticate 'alice/proj' download",
		"sh -c id",
		"'git-upload-pack' 'alice/proj'",
		"rm -rf /",
		"ls > /tmp/x",
		"echo *",
		strings.Repeat("a", maxCommandLength+1),
		"git-upload-pack '\xff/proj'",
	}
	for _, raw := range cases {
		if got, err := ParseCommand(raw); err == nil {
			t.Errorf("ParseCommand(%q) = %+v, want an error", raw, got)
		} else if msg := userMessage(err); msg == "" || strings.ContainsAny(msg, "\r\n") {
			t.Errorf("ParseCommand(%q): message %q is not one line", raw, msg)
		}
	}
}

// safePath is everything a parsed repository path may contain.
var safePath = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)+$`)

func FuzzParseCommand(f *testing.F) {
	for _, seed := range []string{
		"", "git-upload-pack 'alice/proj.git'", "git receive-pack '/g/s/p'", "git-upload-archive \"a/b\"",
		"personal_access_token n api 3", "git-upload-pack '../../etc'", "git-upload-pack 'a/b'; rm -rf /",
		"git-upload-pack `id`", "git-upload-pack $(id)", "git-upload-pack '~u/p'", "git-upload-pack 'a/b' 'c/d'",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		cmd, err := ParseCommand(raw)
		if err != nil {
			if msg := userMessage(err); msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("ParseCommand(%q): message %q is not one line", raw, msg)
			}
			return
		}
		switch {
		case cmd.Verb == VerbWelcome:
			if strings.Trim(raw, " ") != "" {
				t.Fatalf("ParseCommand(%q) is a welcome", raw)
			}
		case gitproc.ValidService(cmd.Verb):
			if !safePath.MatchString(cmd.Path) || strings.Contains(cmd.Path, "..") || strings.HasSuffix(cmd.Path, ".git") {
				t.Fatalf("ParseCommand(%q) path %q is not a safe repository path", raw, cmd.Path)
			}
			if _, _, err := repos.SplitPath(cmd.Path); err != nil {
				t.Fatalf("ParseCommand(%q) path %q: %v", raw, cmd.Path, err)
			}
			if cmd.Args != nil {
				t.Fatalf("ParseCommand(%q) git command with args %q", raw, cmd.Args)
			}
		case cmd.Verb == VerbPersonalAccessToken:
			for _, a := range cmd.Args {
				if strings.IndexFunc(a, isControl) >= 0 {
					t.Fatalf("ParseCommand(%q) arg %q has control characters", raw, a)
				}
			}
		default:
			t.Fatalf("ParseCommand(%q) gave unknown verb %q", raw, cmd.Verb)
		}
		// Outside quotes, nothing a shell would act on gets through.
		if strings.ContainsAny(raw, "\\`;|&<>\n\r\t\x00") && !strings.ContainsAny(raw, "'\"") {
			t.Fatalf("ParseCommand(%q) accepted shell metacharacters", raw)
		}
	})
}

// FuzzClientProtocol checks GIT_PROTOCOL taken from the client's env
// requests: only that variable is read, it is passed on exactly as sent or
// not at all, and only when it is colon-separated key=value pairs of
// letters and digits (so no other variable or option reaches git); of
// several, the last valid one counts, as the last env request would.
func FuzzClientProtocol(f *testing.F) {
	for _, s := range [][2]string{
		{"GIT_PROTOCOL=version=2", "LANG=C"}, {"GIT_PROTOCOL=version=2\nGIT_DIR=/etc", "GIT_PROTOCOL=version=1"},
		{"GIT_PROTOCOL=", "GIT_PROTOCOL=version=2:"}, {"git_protocol=version=2", "GIT_PROTOCOLX=version=2"},
		{"GIT_PROTOCOL=version=2 --upload-pack=x", "GIT_PROTOCOL=a=b:version=2"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, first, second string) {
		got := clientProtocol([]string{first, "GIT_DIR=/etc", second})
		want := ""
		for _, kv := range []string{first, second} {
			if v, ok := strings.CutPrefix(kv, "GIT_PROTOCOL="); ok && gitproc.ValidProtocol(v) {
				want = v
			}
		}
		if got != want {
			t.Fatalf("clientProtocol(%q, %q) = %q, want %q", first, second, got, want)
		}
		if got == "" {
			return
		}
		if !strings.HasSuffix(first, "="+got) && !strings.HasSuffix(second, "="+got) || len(got) > 256 {
			t.Fatalf("clientProtocol gave %q", got)
		}
		for _, kv := range strings.Split(got, ":") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" || strings.IndexFunc(k+v, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
			}) >= 0 {
				t.Fatalf("clientProtocol passed item %q of %q", kv, got)
			}
		}
	})
}
