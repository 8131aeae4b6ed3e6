package repos

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

// AccessLevel is GitLab's member access level.
type AccessLevel int

// Access levels (docs/permissions.md#access-levels). Admin is above every
// membership.
const (
	NoAccess   AccessLevel = 0
	Guest      AccessLevel = 10
	Reporter   AccessLevel = 20
	Developer  AccessLevel = 30
	Maintainer AccessLevel = 40
	Owner      AccessLevel = 50
	Admin      AccessLevel = 60
)

var levelNames = map[AccessLevel]string{Guest: "guest", Reporter: "reporter", Developer: "developer", Maintainer: "maintainer", Owner: "owner"}

func (l AccessLevel) String() string {
	if n, ok := levelNames[l]; ok {
		return n
	}
	if l == Admin {
		return "admin"
	}
	return fmt.Sprintf("level %d", int(l))
}

// ParseAccessLevel reads "developer" or "30".
func ParseAccessLevel(s string) (AccessLevel, error) {
	for l, n := range levelNames {
		if strings.EqualFold(s, n) || s == fmt.Sprint(int(l)) {
			return l, nil
		}
	}
	return 0, fmt.Errorf("unknown access level %q: use guest, reporter, developer, maintainer or owner (10-50)", s)
}

// Action is what a caller wants to do with a repository.
type Action int

// Actions.
const (
	// Read fetches or clones (Git).
	Read Action = iota + 1
	// Write pushes (Git).
	Write
	// View sees the project exists and its metadata (API; guests may).
	View
	// Manage changes members (maintainers).
	Manage
	// Remove deletes the project (owners).
	Remove
)

// Visibility values.
const (
	Private  = "private"
	Internal = "internal"
	Public   = "public"
)

// ValidVisibility reports whether v is one of the three levels.
func ValidVisibility(v string) bool { return v == Private || v == Internal || v == Public }

// Messages git shows people, as GitLab words them.
const (
	MsgNotFound   = "The project you were looking for could not be found or you don't have permission to view it."
	MsgNoDownload = "You are not allowed to download code from this project."
	MsgNoPush     = "You are not allowed to push code to this project."
	MsgNoManage   = "You are not allowed to manage this project."
)

// message is an error whose text is shown to people as it is (git prints
// it), so it is written as a sentence.
type message string

func (m message) Error() string { return string(m) }

// ErrNotFound means the caller may not know the repository exists: 404.
var ErrNotFound error = message(MsgNotFound)

// ErrUnauthenticated means an anonymous caller must sign in first: 401
// with a challenge, so git asks for credentials.
var ErrUnauthenticated error = message("HTTP Basic: Access denied. Authentication is required.")

// ForbiddenError is a 403: the caller can see the repository but may not
// do this. MissingScope names the token scope that would allow it.
type ForbiddenError struct {
	Msg          string
	MissingScope string
}

func (e *ForbiddenError) Error() string { return e.Msg }

func missingScope(scope, doing string) error {
	return &ForbiddenError{
		Msg:          fmt.Sprintf("Your token lacks the %s scope, which is required to %s this project.", scope, doing),
		MissingScope: scope,
	}
}

// decide is the single permission rule (docs/permissions.md#decision):
// level is the principal's access level on the project (Admin for admins,
// NoAccess for anonymous and non-members). Visibility comes first, then
// the token's scope ceiling, then the access level.
func decide(p *auth.Principal, visibility string, level AccessLevel, a Action) error {
	anonymous := p.IsAnonymous()
	// Who can see the project at all.
	visible := visibility == Public || (!anonymous && (visibility == Internal || level >= Guest))
	if !visible {
		if anonymous {
			return ErrUnauthenticated
		}
		return ErrNotFound
	}
	switch a {
	case View:
		return nil
	case Read:
		// Public code is readable by anyone: a valid credential never has
		// less access than anonymous.
		if visibility == Public {
			return nil
		}
		if auth.GitCeiling(p.Scopes) < auth.GitFetch {
			return missingScope(auth.ScopeReadRepository, "download code from")
		}
		if visibility == Internal || level >= Reporter {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoDownload}
	case Write:
		if anonymous {
			return ErrUnauthenticated
		}
		if auth.GitCeiling(p.Scopes) < auth.GitPush {
			return missingScope(auth.ScopeWriteRepository, "push code to")
		}
		if level >= Developer {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoPush}
	case Manage:
		if level >= Maintainer {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoManage}
	case Remove:
		if level >= Owner {
			return nil
		}
		return &ForbiddenError{Msg: MsgNoManage}
	}
	return fmt.Errorf("unknown action %d", a)
}

// ProtectedRule describes a protected branch for the ref check.
type ProtectedRule = store.ProtectedBranch

// RefUpdate is one ref a push changes.
type RefUpdate struct {
	Ref    string
	Old    string // zero id when created
	New    string // zero id when deleted
	Forced bool   // not a fast-forward
}

// ZeroID is git's all-zero object name (SHA-1).
const ZeroID = "0000000000000000000000000000000000000000"

func isZero(id string) bool { return strings.Trim(id, "0") == "" }

// CheckRefUpdate applies protected-branch rules
// (docs/permissions.md#protected-branches) to one ref:
// maintainers and above push; a developer may create the default branch
// of an empty repository; nobody force-pushes or deletes a protected
// branch. It returns the reason git should show, or nil.
func CheckRefUpdate(level AccessLevel, rules []ProtectedRule, defaultBranch string, emptyRepo bool, u RefUpdate) error {
	branch, ok := strings.CutPrefix(u.Ref, "refs/heads/")
	if !ok {
		return nil
	}
	var rule *ProtectedRule
	for i := range rules {
		if rules[i].Name == branch {
			rule = &rules[i]
			break
		}
	}
	if rule == nil {
		return nil
	}
	switch {
	case isZero(u.New):
		return fmt.Errorf("protected branch %s cannot be deleted", branch)
	case u.Forced && !isZero(u.Old) && !rule.AllowForcePush:
		return fmt.Errorf("protected branch %s cannot be force-pushed", branch)
	case level >= AccessLevel(rule.PushAccessLevel):
		return nil
	case isZero(u.Old) && emptyRepo && branch == defaultBranch && level >= Developer:
		return nil
	}
	return fmt.Errorf("protected branch %s: only maintainers may push", branch)
}

// Messages of CheckRefName, worded after GitLab's push checks.
const (
	msgHexBranch  message = "You cannot create a branch with a 40-character hexadecimal branch name."
	msgSHATag     message = "You cannot create a tag with a SHA-1 or SHA-256 tag name."
	msgDefaultTag message = "You cannot use default branch name to create a tag."
)

// hexBranch is GitLab's "looks like an object id" rule for branches: 40 hex
// digits, alone or as the first component.
var hexBranch = regexp.MustCompile(`^[0-9a-fA-F]{40}(-/|/|$)`)

// shaPrefix is GitLab's rule for tags: no name starting with a full
// SHA-1 (or SHA-256) object id.
var shaPrefix = regexp.MustCompile(`^[0-9a-fA-F]{40}`)

// CheckRefName applies the names git and GitLab refuse to a branch or tag
// a push creates or moves (deletions are always allowed, so a bad name
// that exists can be removed). git's own rules (git check-ref-format) are
// receive-pack's; these come on top:
//   - "HEAD" is not a branch or tag (git branch refuses it: refs/heads/HEAD
//     makes every "HEAD" ambiguous);
//   - a name starting with "-" reads as an option on every command line;
//   - a name starting with "refs/heads/" or "refs/remotes/" (and, for a
//     tag, "refs/tags/") is a fully qualified ref pushed one level too deep;
//   - a branch named like an object id (40 hex digits), and a tag starting
//     with one, would be mistaken for that object;
//   - a tag may not be named like the default branch.
//
// Other refs (refs/merge-requests/…, refs/notes/…) are not checked.
func CheckRefName(ref, defaultBranch string) error {
	kind, name := "", ""
	if b, ok := strings.CutPrefix(ref, "refs/heads/"); ok {
		kind, name = "branch", b
	} else if t, ok := strings.CutPrefix(ref, "refs/tags/"); ok {
		kind, name = "tag", t
	} else {
		return nil
	}
	switch {
	case name == "HEAD":
		return message("You cannot create a " + kind + " named HEAD.")
	case strings.HasPrefix(name, "-"):
		return message("You cannot create a " + kind + " whose name starts with '-'.")
	}
	qualified := []string{"refs/heads/", "refs/remotes/"}
	if kind == "tag" {
		qualified = append(qualified, "refs/tags/")
	}
	for _, p := range qualified {
		if strings.HasPrefix(name, p) {
			return message("You cannot create a " + kind + " whose name starts with " + p + ".")
		}
	}
	switch {
	case kind == "branch" && hexBranch.MatchString(name):
		return msgHexBranch
	case kind == "tag" && shaPrefix.MatchString(name):
		return msgSHATag
	case kind == "tag" && name == defaultBranch:
		return msgDefaultTag
	}
	return nil
}
