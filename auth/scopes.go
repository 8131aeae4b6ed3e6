package auth

import (
	"fmt"
	"slices"
	"strings"
)

// Token scopes (docs/tokens.md#scopes).
const (
	ScopeAPI             = "api"
	ScopeReadAPI         = "read_api"
	ScopeReadUser        = "read_user"
	ScopeReadRepository  = "read_repository"
	ScopeWriteRepository = "write_repository"
	ScopeSudo            = "sudo"
	ScopeReadRegistry    = "read_registry"
)

// Scopes lists every valid scope with the description shown to people.
var Scopes = []struct{ Name, Description string }{
	{ScopeAPI, "Grants complete read/write access to the API, including all groups and projects, and Git over HTTP and SSH."},
	{ScopeReadAPI, "Grants read access to the API, including all groups and projects, and Git fetch."},
	{ScopeReadUser, "Grants read-only access to the user's profile through the /user API endpoint and the users API."},
	{ScopeReadRepository, "Grants read-only access to repositories using Git-over-HTTP and SSH (pull) or the Repository Files API."},
	{ScopeWriteRepository, "Grants read-write access to repositories using Git-over-HTTP and SSH (pull, push). Required for HTTP pushes by users with two-factor authentication."},
	{ScopeSudo, "Grants permission to perform API actions as any user in the system, when authenticated as an admin user."},
	{ScopeReadRegistry, "Grants read-only access to container registry images. gitgate has no registry: accepted, grants nothing."},
}

// ScopeNames lists the valid scope names in display order.
func ScopeNames() []string {
	out := make([]string, len(Scopes))
	for i, s := range Scopes {
		out[i] = s.Name
	}
	return out
}

// gitScopes is what a password or SSH key login carries: full Git access.
var gitScopes = []string{ScopeReadRepository, ScopeWriteRepository}

// ParseScopes validates a scope list (comma-separated, or already split),
// dropping duplicates and keeping order. An unknown or empty scope is an
// error naming the valid ones.
func ParseScopes(list ...string) ([]string, error) {
	var out []string
	for _, item := range list {
		for _, s := range strings.Split(item, ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			if !slices.Contains(ScopeNames(), s) {
				return nil, fmt.Errorf("unknown scope %q: valid scopes are %s", s, strings.Join(ScopeNames(), ", "))
			}
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("at least one scope is required: valid scopes are %s", strings.Join(ScopeNames(), ", "))
	}
	return out, nil
}

// GitAccess is the most a set of scopes allows over Git.
type GitAccess int

// Git access ceilings from scopes, ordered.
const (
	GitNone GitAccess = iota
	GitFetch
	GitPush
)

// GitCeiling is the Git access granted by scopes (docs/tokens.md#scopes):
// api and write_repository push; read_api and read_repository fetch.
func GitCeiling(scopes []string) GitAccess {
	switch {
	case slices.Contains(scopes, ScopeAPI), slices.Contains(scopes, ScopeWriteRepository):
		return GitPush
	case slices.Contains(scopes, ScopeReadAPI), slices.Contains(scopes, ScopeReadRepository):
		return GitFetch
	}
	return GitNone
}

// APIRequest describes a REST call for the scope check.
type APIRequest struct {
	// ReadOnly is true for GET and HEAD.
	ReadOnly bool
	// UserEndpoint is true for GET /user, /users and /users/:id, the only
	// calls read_user opens.
	UserEndpoint bool
	// RepositoryFiles is true for the reads of a repository's files, raw
	// files and archives, which read_repository opens too (GitLab:
	// "Git-over-HTTP or the Repository Files API").
	RepositoryFiles bool
}

// AllowsAPI reports whether scopes permit an API request, and if not, the
// scopes that would (docs/tokens.md#scopes: api everything, read_api
// every GET, read_user the user GETs, read_repository the repository
// file, raw file and archive GETs, other Git-only scopes nothing).
func AllowsAPI(scopes []string, r APIRequest) (bool, []string) {
	if slices.Contains(scopes, ScopeAPI) {
		return true, nil
	}
	if !r.ReadOnly {
		return false, []string{ScopeAPI}
	}
	if slices.Contains(scopes, ScopeReadAPI) {
		return true, nil
	}
	if r.RepositoryFiles {
		if slices.Contains(scopes, ScopeReadRepository) {
			return true, nil
		}
		return false, []string{ScopeAPI, ScopeReadAPI, ScopeReadRepository}
	}
	if r.UserEndpoint {
		if slices.Contains(scopes, ScopeReadUser) {
			return true, nil
		}
		return false, []string{ScopeAPI, ScopeReadAPI, ScopeReadUser}
	}
	return false, []string{ScopeAPI, ScopeReadAPI}
}
