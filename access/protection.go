package access

import (
	"fmt"
	"strconv"
	"strings"
)

// BranchProtection is GitLab's default_branch_protection: the rule a new
// project's default branch gets, and whether developers may make the
// first push of that branch into an empty repository
// (docs/permissions.md#default-branch-protection).
type BranchProtection int

// GitLab's values of default_branch_protection.
const (
	// ProtectionNone leaves the default branch unprotected.
	ProtectionNone BranchProtection = 0
	// ProtectionDevCanPush lets developers and maintainers push; nobody
	// force-pushes.
	ProtectionDevCanPush BranchProtection = 1
	// ProtectionFull lets only maintainers push, the first push included.
	ProtectionFull BranchProtection = 2
	// ProtectionDevCanMerge lets only maintainers push; developers may
	// merge (a merge level gitgate stores for GitLab's clients).
	ProtectionDevCanMerge BranchProtection = 3
	// ProtectionDevCanInitialPush is ProtectionFull, except that a
	// developer may make the first push into an empty repository.
	ProtectionDevCanInitialPush BranchProtection = 4
)

// DefaultBranchProtection is 4, not GitLab's 2: maintainers push to the
// default branch, and a developer may still make the first push into an
// empty repository, which gitgate has always allowed
// (docs/permissions.md#default-branch-protection).
const DefaultBranchProtection = ProtectionDevCanInitialPush

// ParseBranchProtection reads a value from 0 to 4.
func ParseBranchProtection(s string) (BranchProtection, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 4 {
		return 0, fmt.Errorf("default_branch_protection must be 0 (not protected), 1 (developers may push), 2 (fully protected), "+
			"3 (developers may merge, not push) or 4 (fully protected after the first push), not %q", s)
	}
	return BranchProtection(n), nil
}

// DefaultRule is the protected branch a new project's default branch
// gets, with its merge level; ok is false when it gets none.
func (p BranchProtection) DefaultRule(branch string) (rule ProtectedRule, mergeLevel AccessLevel, ok bool) {
	switch p {
	case ProtectionNone:
		return ProtectedRule{}, 0, false
	case ProtectionDevCanPush:
		return ProtectedRule{Name: branch, PushAccessLevel: Developer}, Developer, true
	case ProtectionDevCanMerge:
		return ProtectedRule{Name: branch, PushAccessLevel: Maintainer}, Developer, true
	}
	return ProtectedRule{Name: branch, PushAccessLevel: Maintainer}, Maintainer, true
}

// DeveloperCanInitialPush reports whether a developer may create the
// default branch of an empty repository even where its rule asks for
// maintainers (GitLab's initial_push_to_default_branch_allowed_for_developer?).
func (p BranchProtection) DeveloperCanInitialPush() bool {
	return p == ProtectionNone || p == ProtectionDevCanPush || p == ProtectionDevCanInitialPush
}
