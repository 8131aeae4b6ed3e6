package access

import (
	"fmt"
	"regexp"
	"strings"
)

// ProtectedRule is a protected branch as the ref check sees it
// (docs/permissions.md#protected-branches).
type ProtectedRule struct {
	Name            string
	PushAccessLevel AccessLevel
	AllowForcePush  bool
}

// RefUpdate is one ref a push changes.
type RefUpdate struct {
	Ref    string
	Old    string // zero id when created
	New    string // zero id when deleted
	Forced bool   // not a fast-forward
}

// ZeroID is git's all-zero object name (SHA-1).
const ZeroID = "0000000000000000000000000000000000000000"

// IsZero reports whether id is git's all-zero object name (of any length):
// the old value of a created ref, the new value of a deleted one.
func IsZero(id string) bool { return strings.Trim(id, "0") == "" }

// MatchRule is the rule that protects branch (a short name, "main"), or
// nil when none does: the one lookup behind a push's check
// (CheckRefUpdate) and the API's "protected" and "can_push" fields.
func MatchRule(rules []ProtectedRule, branch string) *ProtectedRule {
	for i := range rules {
		if rules[i].Name == branch {
			return &rules[i]
		}
	}
	return nil
}

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
	rule := MatchRule(rules, branch)
	if rule == nil {
		return nil
	}
	switch {
	case IsZero(u.New):
		return fmt.Errorf("protected branch %s cannot be deleted", branch)
	case u.Forced && !IsZero(u.Old) && !rule.AllowForcePush:
		return fmt.Errorf("protected branch %s cannot be force-pushed", branch)
	case level >= rule.PushAccessLevel:
		return nil
	case IsZero(u.Old) && emptyRepo && branch == defaultBranch && level >= Developer:
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
