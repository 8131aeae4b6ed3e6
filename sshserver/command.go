package sshserver

import (
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/repos"
)

// Verbs besides the Git services.
const (
	// VerbWelcome is an empty command: print who the caller is.
	VerbWelcome = ""
	// VerbPersonalAccessToken creates a token, as GitLab Shell does.
	VerbPersonalAccessToken = "personal_access_token"
)

// maxCommandLength bounds what is parsed at all; real commands are short.
const maxCommandLength = 4096

// Command is a parsed SSH exec request.
type Command struct {
	// Verb is a gitproc service, VerbPersonalAccessToken or VerbWelcome.
	Verb string
	// Path is the repository "namespace/project" of a Git service,
	// normalised (no leading "/" or "~", no ".git").
	Path string
	// Args are the arguments of personal_access_token.
	Args []string
}

// CommandError is a refusal shown to the person as "ERROR: <Msg>".
type CommandError struct{ Msg string }

func (e *CommandError) Error() string { return e.Msg }

// Messages of command refusals, worded after GitLab Shell.
const (
	msgDisallowed   = "Disallowed command"
	msgInvalid      = "Invalid SSH command"
	msgRepoArgument = "Invalid SSH command: a Git command takes exactly one quoted repository path"
	msgInvalidPath  = "Invalid repository path"
)

// ParseCommand parses the command of an SSH exec request. No shell ever
// sees it, so nothing is expanded: it is split into words separated by
// spaces, a word being either plain (letters, digits and . _ - , / ~ @ : + =)
// or entirely quoted ('…' or "…" without escapes). Any other character —
// shell metacharacters, backslashes, control characters — refuses the
// whole command. A Git service takes exactly one quoted path, as every
// Git client sends it ("git-upload-pack 'group/project.git'"); "git
// upload-pack" is accepted for Git for Windows.
func ParseCommand(raw string) (Command, error) {
	words, quoted, err := splitWords(raw)
	if err != nil {
		return Command{}, err
	}
	if len(words) == 0 {
		return Command{Verb: VerbWelcome}, nil
	}
	if quoted[0] {
		return Command{}, &CommandError{Msg: msgDisallowed}
	}
	if words[0] == "git" && len(words) > 1 && !quoted[1] {
		words = append([]string{"git-" + words[1]}, words[2:]...)
		quoted = append([]bool{false}, quoted[2:]...)
	}
	verb := words[0]
	switch {
	case gitproc.ValidService(verb):
		if len(words) != 2 || !quoted[1] {
			return Command{}, &CommandError{Msg: msgRepoArgument}
		}
		path, err := repoPath(words[1])
		if err != nil {
			return Command{}, err
		}
		return Command{Verb: verb, Path: path}, nil
	case verb == VerbPersonalAccessToken:
		return Command{Verb: verb, Args: words[1:]}, nil
	}
	return Command{}, &CommandError{Msg: msgDisallowed}
}

// splitWords tokenises raw as described at ParseCommand, reporting for
// each word whether it was quoted.
func splitWords(raw string) (words []string, quoted []bool, err error) {
	invalid := &CommandError{Msg: msgInvalid}
	if len(raw) > maxCommandLength || !utf8.ValidString(raw) {
		return nil, nil, invalid
	}
	for i := 0; i < len(raw); {
		c := raw[i]
		switch {
		case c == ' ':
			i++
			continue
		case c == '\'' || c == '"':
			end := strings.IndexByte(raw[i+1:], c)
			if end < 0 {
				return nil, nil, invalid
			}
			w := raw[i+1 : i+1+end]
			// Double quotes would let a shell expand $ ` and \ inside:
			// refuse them even though no shell runs, so a command means
			// the same here as anywhere.
			if strings.IndexFunc(w, isControl) >= 0 || (c == '"' && strings.ContainsAny(w, "$`\\!")) {
				return nil, nil, invalid
			}
			i += end + 2
			if i < len(raw) && raw[i] != ' ' {
				return nil, nil, invalid // 'a'b: quotes must span a whole word
			}
			words, quoted = append(words, w), append(quoted, true)
		default:
			j := i
			for j < len(raw) && raw[j] != ' ' {
				if !isPlain(raw[j]) {
					return nil, nil, invalid
				}
				j++
			}
			words, quoted = append(words, raw[i:j]), append(quoted, false)
			i = j
		}
	}
	return words, quoted, nil
}

func isPlain(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("._-,/~@:+=", c) >= 0
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// repoPath normalises the path a Git client sends, as GitLab Shell does:
// one leading "/" is dropped (ssh://host/group/project), "~/" means the
// root (ssh://host/~/group/project) and "~user/…" the user's namespace;
// ".git" is optional. Everything else is repos.SplitPath's strict rule,
// which refuses "..", "//", absolute paths and control characters.
func repoPath(p string) (string, error) {
	p = strings.TrimPrefix(p, "/")
	if rest, ok := strings.CutPrefix(p, "~"); ok {
		p = strings.TrimPrefix(rest, "/")
	}
	if p == "" || strings.HasPrefix(p, "/") {
		return "", &CommandError{Msg: msgInvalidPath}
	}
	ns, name, err := repos.SplitPath(p)
	if err != nil {
		return "", &CommandError{Msg: msgInvalidPath}
	}
	return ns + "/" + name, nil
}

// userMessage is what the person sees for err from ParseCommand.
func userMessage(err error) string {
	var ce *CommandError
	if errors.As(err, &ce) {
		return ce.Msg
	}
	return msgInvalid
}
