package repos

import (
	"fmt"
	"regexp"
	"strings"
)

// pathSegment is GitLab's project/group path rule: letters, digits, '_',
// '-', '.', starting with a letter, digit or '_'.
var pathSegment = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.\-]*$`)

// MaxDepth bounds group nesting (GitLab allows 20 levels).
const MaxDepth = 20

// ValidateSegment checks one path component before it reaches a query or
// the filesystem.
func ValidateSegment(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("path component is empty")
	case len(s) > 255:
		return fmt.Errorf("path component is too long (maximum is 255 characters)")
	case s == "." || s == ".." || strings.Contains(s, ".."):
		return fmt.Errorf("path %q may not contain '..'", s)
	case strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("path contains control characters")
	case !pathSegment.MatchString(s):
		return fmt.Errorf("path %q may contain only letters, digits, '_', '-' and '.', and must start with a letter, digit or '_'", s)
	case strings.HasSuffix(strings.ToLower(s), ".git"), strings.HasSuffix(strings.ToLower(s), ".atom"), strings.HasSuffix(s, "."):
		return fmt.Errorf("path %q cannot end in '.git', '.atom' or '.'", s)
	}
	return nil
}

// SplitPath validates "group/sub/project[.git]" (leading and trailing
// slashes tolerated) and returns the namespace path and project path. It
// is the one repository-path parser of every door (HTTP, SSH, API, CLI):
// the ".git" suffix is optional and, like the path itself, matched without
// regard to case, as GitLab does (projects are found case-insensitively,
// so "ALICE/PRIV.GIT" is alice/priv).
func SplitPath(full string) (namespace, project string, err error) {
	full = strings.Trim(full, "/")
	if len(full) >= len(".git") && strings.EqualFold(full[len(full)-len(".git"):], ".git") {
		full = full[:len(full)-len(".git")]
	}
	if full == "" {
		return "", "", fmt.Errorf("repository path is empty")
	}
	if strings.HasPrefix(full, "/") || strings.Contains(full, "//") || strings.Contains(full, `\`) {
		return "", "", fmt.Errorf("repository path %q is invalid", full)
	}
	parts := strings.Split(full, "/")
	if len(parts) < 2 {
		return "", "", fmt.Errorf("repository path %q must be NAMESPACE/PROJECT", full)
	}
	if len(parts) > MaxDepth+1 {
		return "", "", fmt.Errorf("repository path %q is nested too deeply", full)
	}
	for _, p := range parts {
		if err := ValidateSegment(p); err != nil {
			return "", "", err
		}
	}
	return strings.Join(parts[:len(parts)-1], "/"), parts[len(parts)-1], nil
}

// ValidateNamespacePath validates a group path "a/b/c".
func ValidateNamespacePath(full string) error {
	full = strings.Trim(full, "/")
	if full == "" {
		return fmt.Errorf("group path is empty")
	}
	parts := strings.Split(full, "/")
	if len(parts) > MaxDepth {
		return fmt.Errorf("group path %q is nested too deeply (maximum %d levels)", full, MaxDepth)
	}
	for _, p := range parts {
		if err := ValidateSegment(p); err != nil {
			return err
		}
	}
	return nil
}

// PathFromName derives a project path from its name as GitLab does when
// no path is given ("My Project" → "my-project"); the API and the New
// project page both ask it.
func PathFromName(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(strings.TrimSpace(name)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '.':
			b.WriteRune(r)
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	return strings.Trim(b.String(), "-.")
}
