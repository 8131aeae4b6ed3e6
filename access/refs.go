package access

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// ProtectedRule is a protected branch as the ref check sees it
// (docs/permissions.md#protected-branches). Name is a branch name or a
// pattern where each * stands for any run of characters, '/' included
// (release/*, *-stable).
type ProtectedRule struct {
	Name            string
	PushAccessLevel AccessLevel
	AllowForcePush  bool
}

// IsWildcard reports whether the rule is a pattern rather than one name.
func (r ProtectedRule) IsWildcard() bool { return strings.Contains(r.Name, "*") }

// Matches reports whether the rule protects branch: the same name, or a
// pattern whose stars cover the rest (GitLab's RefMatcher: the pattern is
// anchored at both ends and * matches any characters, slashes too).
func (r ProtectedRule) Matches(branch string) bool {
	if r.Name == "" {
		return false
	}
	if r.Name == branch {
		return true
	}
	return r.IsWildcard() && wildcardMatch(r.Name, branch)
}

// wildcardMatch matches pattern, whose only special character is *,
// against s by greedy backtracking over the last star: linear in practice
// and never exponential, unlike a naive recursion.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// MatchingRules returns the rules that protect branch: rules naming it
// exactly first, then matching patterns, each group in the given order.
// GitLab applies all of them together (see CheckRefUpdate).
func MatchingRules(rules []ProtectedRule, branch string) []ProtectedRule {
	var exact, wild []ProtectedRule
	for _, r := range rules {
		switch {
		case r.Name == branch:
			exact = append(exact, r)
		case r.Matches(branch):
			wild = append(wild, r)
		}
	}
	return append(exact, wild...)
}

// PushLevelDescription is GitLab's access_level_description of a
// protected branch's push (or merge) level.
func PushLevelDescription(l AccessLevel) string {
	switch l {
	case NoAccess:
		return "No one"
	case Developer:
		return "Developers + Maintainers"
	case Maintainer:
		return "Maintainers"
	case Admin:
		return "Admins"
	}
	return l.String()
}

// ValidPushLevel reports whether l is one of GitLab's protected-branch
// levels: 0 (no one), 30 (developers and maintainers), 40 (maintainers)
// or 60 (admins).
func ValidPushLevel(l AccessLevel) bool {
	return l == NoAccess || l == Developer || l == Maintainer || l == Admin
}

// ParsePushLevel reads a protected-branch level: "no-one", "developer",
// "maintainer", "admin" or the number.
func ParsePushLevel(s string) (AccessLevel, error) {
	names := map[string]AccessLevel{"no-one": NoAccess, "noone": NoAccess, "none": NoAccess, "developer": Developer, "developers": Developer,
		"maintainer": Maintainer, "maintainers": Maintainer, "admin": Admin, "admins": Admin}
	if l, ok := names[strings.ToLower(strings.TrimSpace(s))]; ok {
		return l, nil
	}
	if n, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && ValidPushLevel(AccessLevel(n)) {
		return AccessLevel(n), nil
	}
	return 0, fmt.Errorf("unknown push access level %q: use no-one, developer, maintainer or admin (0, 30, 40 or 60)", s)
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

// CheckRefUpdate applies protected-branch rules
// (docs/permissions.md#protected-branches) to one ref. Every rule whose
// name or pattern matches the branch applies, and as in GitLab the most
// permissive wins: the push is allowed when any of them lets the caller's
// level push (level 0 lets no one, admins included), a force push when
// any of them allows force pushes. Nobody deletes a protected branch.
// devCreatesDefault says the repository is empty and the instance's
// default_branch_protection lets developers make the first push of its
// default branch. It returns the reason git should show, or nil.
func CheckRefUpdate(level AccessLevel, rules []ProtectedRule, defaultBranch string, devCreatesDefault bool, u RefUpdate) error {
	branch, ok := strings.CutPrefix(u.Ref, "refs/heads/")
	if !ok {
		return nil
	}
	matching := MatchingRules(rules, branch)
	if len(matching) == 0 {
		return nil
	}
	force, push := false, false
	lowest := AccessLevel(-1) // the most permissive level that lets anyone push
	for _, r := range matching {
		force = force || r.AllowForcePush
		if r.PushAccessLevel == NoAccess {
			continue
		}
		push = push || level >= r.PushAccessLevel
		if lowest < 0 || r.PushAccessLevel < lowest {
			lowest = r.PushAccessLevel
		}
	}
	switch {
	case IsZero(u.New):
		return fmt.Errorf("protected branch %s cannot be deleted", branch)
	case u.Forced && !IsZero(u.Old) && !force:
		return fmt.Errorf("protected branch %s cannot be force-pushed", branch)
	case push:
		return nil
	case IsZero(u.Old) && devCreatesDefault && branch == defaultBranch && level >= Developer:
		return nil
	}
	switch lowest {
	case -1:
		return fmt.Errorf("protected branch %s: no one may push", branch)
	case Developer:
		return fmt.Errorf("protected branch %s: only developers and maintainers may push", branch)
	case Admin:
		return fmt.Errorf("protected branch %s: only admins may push", branch)
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
