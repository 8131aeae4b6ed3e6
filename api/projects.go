package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// project loads the project of the :id path parameter — a numeric id or
// a URL-encoded path like group%2Fsub%2Fproj — and checks that the caller
// may perform a on it. A project the caller cannot see is 404 whatever
// the action (docs/permissions.md#decision: visibility before scopes and
// levels).
func (c *call) project(a access.Action) (*repos.Project, error) {
	raw := c.vars["id"]
	var (
		p   *repos.Project
		err error
	)
	if id, isNum := parseID(raw); isNum {
		p, err = c.h.repos.FindByID(c.ctx, id)
	} else {
		p, err = c.h.repos.Find(c.ctx, raw)
	}
	if errors.Is(err, access.ErrNotFound) {
		return nil, notFound("Project")
	}
	if err != nil {
		return nil, err
	}
	if _, err := c.h.repos.Authorize(c.ctx, c.p, p, a); err != nil {
		return nil, err
	}
	return p, nil
}

// owners caches namespace owners while one response is built.
type owners struct {
	c    *call
	seen map[int64]*auth.User
}

func (o *owners) of(p *repos.Project) (*auth.User, error) {
	if p.Namespace.Kind != repos.NamespaceUser || p.Namespace.OwnerID == nil {
		return nil, nil
	}
	id := *p.Namespace.OwnerID
	if u, ok := o.seen[id]; ok {
		return u, nil
	}
	u, err := o.c.h.auth.User(o.c.ctx, id)
	if err != nil && !errors.Is(err, auth.ErrNotFound) {
		return nil, err
	}
	if o.seen == nil {
		o.seen = map[int64]*auth.User{}
	}
	o.seen[id] = u
	return u, nil
}

// GET /projects: the projects the caller can see (all for an admin),
// with GitLab's filters and order (projectList).
func listProjects(c *call) error { return c.projectList(nil) }

// GET /projects/:id, with the caller's permissions.
func getProject(c *call) error {
	p, err := c.project(access.View)
	if err != nil {
		return err
	}
	owner, err := (&owners{c: c}).of(p)
	if err != nil {
		return err
	}
	out := ProjectJSON(p, c.links(), owner)
	if c.signedIn() {
		level, err := c.h.repos.AccessLevel(c.ctx, c.p, p)
		if err != nil {
			return err
		}
		out.Permissions = &Permissions{}
		if level >= access.Guest && level <= access.Owner {
			out.Permissions.ProjectAccess = &Access{AccessLevel: int(level), NotificationLevel: 3}
		}
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}

// POST /projects: in the caller's namespace, or namespace_id (an id or a
// path) where the caller may create projects. 201 with the project. A
// namespace the caller cannot see is 404 whether it exists or not; one it
// sees but may not create in is 400 namespace is not valid; a visibility
// above the group's is 400 on visibility_level (repos.CreateProject).
func createProject(c *call) error {
	name, hasName, err := c.params.str("name")
	if err != nil {
		return err
	}
	path, hasPath, err := c.params.str("path")
	if err != nil {
		return err
	}
	if (!hasName || name == "") && (!hasPath || path == "") {
		return grapeError(http.StatusBadRequest, "name, path are missing, at least one parameter must be provided")
	}
	if path == "" {
		path = repos.PathFromName(name)
	}
	if name == "" {
		name = path
	}
	in := repos.NewProject{Name: name, Path: path, CreatorID: c.user().ID}
	for field, dst := range map[string]*string{"description": &in.Description, "visibility": &in.Visibility, "default_branch": &in.DefaultBranch} {
		if *dst, _, err = c.params.str(field); err != nil {
			return err
		}
	}
	if in.Visibility != "" && !access.ValidVisibility(in.Visibility) {
		return invalidValue("visibility")
	}
	ns, err := c.namespaceParam()
	if err != nil {
		return err
	}
	ok, err := c.h.repos.CanCreateProjectIn(c.ctx, c.p, ns)
	if err != nil {
		return err
	}
	if !ok {
		return validation("namespace", "is not valid")
	}
	in.NamespacePath = ns.FullPath
	p, err := c.h.repos.CreateProject(c.ctx, in)
	if err != nil {
		var ie *repos.InputError
		if errors.As(err, &ie) && strings.Contains(ie.Msg, "already exists") {
			return &apiError{status: http.StatusBadRequest, body: map[string]any{"message": map[string][]string{
				"name": {"has already been taken"}, "path": {"has already been taken"}}}}
		}
		return err
	}
	owner, err := (&owners{c: c}).of(p)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, ProjectJSON(p, c.links(), owner))
	return nil
}

// namespaceParam resolves namespace_id (an id or a full path); absent, the
// caller's own namespace. A namespace the caller may not see is 404
// Namespace Not Found, as a missing one (GitLab's find_namespace!).
func (c *call) namespaceParam() (*repos.Namespace, error) {
	raw, ok, err := c.params.str("namespace_id")
	if err != nil {
		return nil, err
	}
	if !ok || raw == "" {
		if raw, ok, err = c.params.str("namespace"); err != nil {
			return nil, err
		}
	}
	var ns *repos.Namespace
	switch id, isNum := parseID(raw); {
	case !ok || raw == "":
		ns, err = c.h.repos.NamespaceByPath(c.ctx, c.user().Username)
	case isNum:
		ns, err = c.h.repos.NamespaceByID(c.ctx, id)
	default:
		ns, err = c.h.repos.NamespaceByPath(c.ctx, raw)
	}
	if errors.Is(err, repos.ErrNamespaceNotFound) {
		return nil, notFound("Namespace")
	}
	if err != nil {
		return nil, err
	}
	visible, err := c.h.repos.CanSeeNamespace(c.ctx, c.p, ns)
	if err != nil {
		return nil, err
	}
	if !visible {
		return nil, notFound("Namespace")
	}
	return ns, nil
}

// DELETE /projects/:id (owners and admins): 204.
func deleteProject(c *call) error {
	p, err := c.project(access.Remove)
	if err != nil {
		return err
	}
	if err := c.h.repos.DeleteProject(c.ctx, p.ID); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}

// PUT /projects/:id: name, description and default_branch (maintainers),
// path and visibility (owners: they move the project's URL or who sees
// it), with the rules of repos.UpdateProject, the ones the CLI's repo
// rename and repo visibility apply. A default branch that is not a branch
// of a repository that has some is GitLab's 400 "Could not set the
// default branch". 200 with the project.
func updateProject(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	var ch repos.ProjectChanges
	for name, dst := range map[string]**string{"name": &ch.Name, "path": &ch.Path, "description": &ch.Description, "visibility": &ch.Visibility,
		"default_branch": &ch.DefaultBranch} {
		s, ok, err := c.params.str(name)
		if err != nil {
			return err
		}
		if ok {
			v := s
			*dst = &v
		}
	}
	if ch.Visibility != nil && !access.ValidVisibility(*ch.Visibility) {
		return invalidValue("visibility")
	}
	if (ch.Path != nil && *ch.Path != p.Path) || (ch.Visibility != nil && *ch.Visibility != p.Visibility) {
		if _, err := c.h.repos.Authorize(c.ctx, c.p, p, access.Remove); err != nil {
			return err
		}
	}
	p, err = c.h.repos.UpdateProject(c.ctx, p.ID, ch)
	if err != nil {
		var ie *repos.InputError
		if errors.As(err, &ie) && strings.Contains(ie.Msg, "already exists") {
			return validation("path", "has already been taken")
		}
		if errors.As(err, &ie) && ie.Msg == repos.NoDefaultBranch {
			return message(http.StatusBadRequest, repos.NoDefaultBranch)
		}
		return err
	}
	owner, err := (&owners{c: c}).of(p)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ProjectJSON(p, c.links(), owner))
	return nil
}

// memberRow is one member with their level.
type memberRow struct {
	user  *auth.User
	level access.AccessLevel
	m     *repos.Member
}

// members lists a project's members as repos.MembersOf does (the owner
// of a personal project first, then direct members) with their users.
func (c *call) members(p *repos.Project) ([]memberRow, error) {
	ms, err := c.h.repos.MembersOf(c.ctx, repos.MemberTarget{Project: p})
	if err != nil {
		return nil, err
	}
	var rows []memberRow
	for i := range ms {
		u, err := c.h.auth.User(c.ctx, ms[i].UserID)
		if errors.Is(err, auth.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		rows = append(rows, memberRow{user: u, level: ms[i].AccessLevel, m: &ms[i]})
	}
	return rows, nil
}

// GET /projects/:id/members
func listMembers(c *call) error {
	p, err := c.project(access.View)
	if err != nil {
		return err
	}
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	rows, err := c.members(p)
	if err != nil {
		return err
	}
	out := make([]Member, 0, pg.PerPage)
	for _, row := range pageOf(rows, pg) {
		out = append(out, MemberJSON(row.user, row.level, row.m.CreatedAt, c.links().BaseURL))
	}
	return writeList(c, pg, len(rows), out)
}

// POST /projects/:id/members (maintainers): user_id and access_level;
// 201 with the member, 409 when already a member. Nobody but an admin
// grants more than they hold.
func addMember(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	var missing []string
	uid, hasUID, err := c.params.id("user_id")
	if err != nil {
		return err
	}
	username, hasName, err := c.params.str("username")
	if err != nil {
		return err
	}
	if !hasUID && !hasName {
		missing = append(missing, "user_id")
	}
	lvl, hasLevel, err := c.params.integer("access_level")
	if err != nil {
		return err
	}
	if !hasLevel {
		missing = append(missing, "access_level")
	}
	if len(missing) > 0 {
		return missingParams(missing...)
	}
	level := access.AccessLevel(lvl)
	switch level {
	case access.Guest, access.Reporter, access.Developer, access.Maintainer, access.Owner:
	default:
		return invalidValue("access_level")
	}
	var u *auth.User
	if hasUID {
		u, err = c.h.auth.User(c.ctx, uid)
		if errors.Is(err, auth.ErrNotFound) {
			return notFound("User")
		}
	} else {
		u, err = c.findUser(username)
	}
	if err != nil {
		return err
	}
	mine, err := c.h.repos.AccessLevel(c.ctx, c.p, p)
	if err != nil {
		return err
	}
	if level > mine {
		return forbidden("")
	}
	rows, err := c.members(p)
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.user.ID == u.ID {
			return message(http.StatusConflict, "Member already exists")
		}
	}
	if err := c.h.repos.AddMember(c.ctx, repos.MemberTarget{Project: p}, u.ID, level); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, MemberJSON(u, level, c.now, c.links().BaseURL))
	return nil
}

// DELETE /projects/:id/members/:user_id (maintainers): 204; a user who is
// not a direct member is 404 Member Not Found.
func removeMember(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	uid, err := c.pathID("user_id")
	if err != nil {
		return err
	}
	ms, err := c.h.repos.Members(c.ctx, p.ID)
	if err != nil {
		return err
	}
	var found *repos.Member
	for i := range ms {
		if ms[i].UserID == uid {
			found = &ms[i]
		}
	}
	if found == nil {
		return notFound("Member")
	}
	mine, err := c.h.repos.AccessLevel(c.ctx, c.p, p)
	if err != nil {
		return err
	}
	if found.AccessLevel > mine {
		return forbidden("")
	}
	if err := c.h.repos.RemoveMember(c.ctx, repos.MemberTarget{Project: p}, uid); err != nil {
		if errors.Is(err, access.ErrNotFound) {
			return notFound("Member")
		}
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}
