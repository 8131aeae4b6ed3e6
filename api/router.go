package api

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// splitPath turns "/api/v4/projects/group%2Fsub%2Fproj/members" into
// decoded segments. It works on the escaped path so that an encoded
// slash stays inside its segment, as GitLab's project ids need.
func splitPath(escaped string) ([]string, bool) {
	rest, ok := strings.CutPrefix(escaped, Prefix)
	if !ok {
		return nil, false
	}
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return nil, true
	}
	raw := strings.Split(rest, "/")
	out := make([]string, len(raw))
	for i, s := range raw {
		d, err := url.PathUnescape(s)
		if err != nil || d == "" {
			return nil, false
		}
		out[i] = d
	}
	return out, true
}

// match finds the route for method and path; when the path exists under
// other methods only, allowed lists them (405).
func (h *Handler) match(method string, segs []string) (*route, map[string]string, []string) {
	if method == http.MethodHead {
		method = http.MethodGet
	}
	var allowed []string
	var best *route
	var bestVars map[string]string
	for i := range h.routes {
		rt := &h.routes[i]
		vars, ok := matchPattern(rt.pattern, segs)
		if !ok {
			continue
		}
		if rt.method != method {
			if !slices.Contains(allowed, rt.method) {
				allowed = append(allowed, rt.method)
			}
			continue
		}
		// Literal segments beat captures ("self" before ":id"): the
		// table lists literals first, so the first match wins.
		if best == nil {
			best, bestVars = rt, vars
		}
	}
	if best != nil {
		return best, bestVars, nil
	}
	return nil, nil, allowed
}

func matchPattern(pattern, segs []string) (map[string]string, bool) {
	if len(pattern) != len(segs) {
		return nil, false
	}
	var vars map[string]string
	for i, p := range pattern {
		if strings.HasPrefix(p, ":") {
			if vars == nil {
				vars = make(map[string]string, 2)
			}
			vars[p[1:]] = segs[i]
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return vars, true
}

// parseID reads a decimal id. isNum is false for anything that is not all
// digits; a number too large for int64 is an id that cannot exist (-1),
// so it ends in the resource's 404, as in GitLab.
func parseID(s string) (id int64, isNum bool) {
	if s == "" || len(s) > 1000 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return -1, true
	}
	return n, true
}

// pathID reads an integer path parameter; anything else is Grape's
// "<name> is invalid".
func (c *call) pathID(name string) (int64, error) {
	id, ok := parseID(c.vars[name])
	if !ok {
		return 0, invalidParam(name)
	}
	return id, nil
}

func r(method, path string, a authMode, s scopeRule, fn func(*call) error) route {
	return route{method: method, pattern: strings.Split(strings.Trim(path, "/"), "/"), auth: a, scope: s, handle: fn}
}

// table lists every endpoint. Literal segments come before captures at
// the same position.
func (h *Handler) table() []route {
	const (
		get, post, put, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	)
	return []route{
		r(get, "version", authRequired, scopeDefault, getVersion),
		r(get, "metadata", authRequired, scopeDefault, getVersion),

		r(get, "user", authRequired, scopeUser, getCurrentUser),
		r(get, "user/keys", authRequired, scopeDefault, listOwnKeys),
		r(post, "user/keys", authRequired, scopeDefault, addOwnKey),
		r(get, "user/keys/:key_id", authRequired, scopeDefault, getOwnKey),
		r(del, "user/keys/:key_id", authRequired, scopeDefault, deleteOwnKey),

		r(get, "users", authRequired, scopeUser, listUsers),
		r(post, "users", authRequired, scopeDefault, createUser),
		r(get, "users/:id", authRequired, scopeUser, getUser),
		r(put, "users/:id", authRequired, scopeDefault, updateUser),
		r(del, "users/:id", authRequired, scopeDefault, deleteUser),
		r(post, "users/:id/block", authRequired, scopeDefault, blockUser),
		r(post, "users/:id/unblock", authRequired, scopeDefault, unblockUser),
		r(post, "users/:id/unlock", authRequired, scopeDefault, unlockUser),
		r(get, "users/:user_id/keys", authRequired, scopeDefault, listUserKeys),
		r(post, "users/:user_id/keys", authRequired, scopeDefault, addUserKey),
		r(get, "users/:user_id/keys/:key_id", authRequired, scopeDefault, getUserKey),
		r(del, "users/:user_id/keys/:key_id", authRequired, scopeDefault, deleteUserKey),
		r(get, "users/:user_id/projects", authOptional, scopeDefault, listUserProjects),
		r(get, "keys", authRequired, scopeDefault, findKeyByFingerprint),
		r(get, "keys/:id", authRequired, scopeDefault, getKeyByID),
		r(post, "users/:user_id/personal_access_tokens", authRequired, scopeDefault, createUserToken),
		r(get, "users/:user_id/impersonation_tokens", authRequired, scopeDefault, listImpersonationTokens),
		r(post, "users/:user_id/impersonation_tokens", authRequired, scopeDefault, createImpersonationToken),
		r(get, "users/:user_id/impersonation_tokens/:impersonation_token_id", authRequired, scopeDefault, getImpersonationToken),
		r(del, "users/:user_id/impersonation_tokens/:impersonation_token_id", authRequired, scopeDefault, revokeImpersonationToken),

		r(get, "personal_access_tokens", authRequired, scopeDefault, listTokens),
		r(get, "personal_access_tokens/self", authRequired, scopeAny, getSelfToken),
		r(del, "personal_access_tokens/self", authRequired, scopeAny, revokeSelfToken),
		r(post, "personal_access_tokens/self/rotate", authRequired, scopeDefault, rotateSelfToken),
		r(get, "personal_access_tokens/:id", authRequired, scopeDefault, getToken),
		r(del, "personal_access_tokens/:id", authRequired, scopeDefault, revokeToken),
		r(post, "personal_access_tokens/:id/rotate", authRequired, scopeDefault, rotateToken),

		r(get, "groups", authOptional, scopeDefault, listGroups),
		r(post, "groups", authRequired, scopeDefault, createGroup),
		r(get, "groups/:id", authOptional, scopeDefault, getGroup),
		r(put, "groups/:id", authRequired, scopeDefault, updateGroup),
		r(del, "groups/:id", authRequired, scopeDefault, deleteGroup),
		r(get, "groups/:id/subgroups", authOptional, scopeDefault, listSubgroups),
		r(get, "groups/:id/projects", authOptional, scopeDefault, listGroupProjects),
		r(get, "groups/:id/members", authOptional, scopeDefault, listGroupMembers),
		r(post, "groups/:id/members", authRequired, scopeDefault, addGroupMember),
		r(put, "groups/:id/members/:user_id", authRequired, scopeDefault, updateGroupMember),
		r(del, "groups/:id/members/:user_id", authRequired, scopeDefault, removeGroupMember),

		r(get, "namespaces", authRequired, scopeDefault, listNamespaces),
		r(get, "namespaces/:id", authRequired, scopeDefault, getNamespace),

		r(get, "projects", authOptional, scopeDefault, listProjects),
		r(post, "projects", authRequired, scopeDefault, createProject),
		r(get, "projects/:id", authOptional, scopeDefault, getProject),
		r(put, "projects/:id", authRequired, scopeDefault, updateProject),
		r(del, "projects/:id", authRequired, scopeDefault, deleteProject),
		r(get, "projects/:id/members", authOptional, scopeDefault, listMembers),
		r(post, "projects/:id/members", authRequired, scopeDefault, addMember),
		r(del, "projects/:id/members/:user_id", authRequired, scopeDefault, removeMember),
		r(get, "projects/:id/members/all", authOptional, scopeDefault, listAllMembers),
		r(put, "projects/:id/members/:user_id", authRequired, scopeDefault, updateMember),
		r(post, "projects/:id/housekeeping", authRequired, scopeDefault, startHousekeeping),

		r(get, "projects/:id/protected_branches", authOptional, scopeDefault, listProtectedBranches),
		r(post, "projects/:id/protected_branches", authRequired, scopeDefault, protectBranch),
		r(get, "projects/:id/protected_branches/:name", authOptional, scopeDefault, getProtectedBranch),
		r(http.MethodPatch, "projects/:id/protected_branches/:name", authRequired, scopeDefault, updateProtectedBranch),
		r(del, "projects/:id/protected_branches/:name", authRequired, scopeDefault, unprotectBranch),
		// Repository reads and ref changes (repository.go, files.go,
		// archive.go, branches.go).
		r(get, "projects/:id/repository/branches", authOptional, scopeDefault, listBranches),
		r(post, "projects/:id/repository/branches", authRequired, scopeDefault, createBranch),
		r(get, "projects/:id/repository/branches/:branch", authOptional, scopeDefault, getBranch),
		r(del, "projects/:id/repository/branches/:branch", authRequired, scopeDefault, deleteBranch),
		r(get, "projects/:id/repository/tags", authOptional, scopeDefault, listTags),
		r(post, "projects/:id/repository/tags", authRequired, scopeDefault, createTag),
		r(get, "projects/:id/repository/tags/:tag_name", authOptional, scopeDefault, getTag),
		r(del, "projects/:id/repository/tags/:tag_name", authRequired, scopeDefault, deleteTag),
		r(get, "projects/:id/repository/commits/:sha", authOptional, scopeDefault, getCommit),
		r(get, "projects/:id/repository/files/:file_path", authOptional, scopeFiles, getFile),
		r(get, "projects/:id/repository/files/:file_path/raw", authOptional, scopeFiles, getRawFile),
		r(get, "projects/:id/repository/archive", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tar.gz", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tgz", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.gz", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tar.bz2", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tbz", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tbz2", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tb2", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.bz2", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.tar", authOptional, scopeFiles, getArchive),
		r(get, "projects/:id/repository/archive.zip", authOptional, scopeFiles, getArchive),

		r(get, "application/settings", authRequired, scopeDefault, getSettings),
		r(put, "application/settings", authRequired, scopeDefault, updateSettings),
	}
}
