package api

import (
	"errors"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// projectList answers a list of projects the caller may see, with
// GitLab's filters: membership, owned, search, visibility, order_by (id,
// name, path, created_at, updated_at, last_activity_at; default
// created_at) and sort (desc by default). narrow, when not nil, limits
// the list further (a group's, a user's projects).
func (c *call) projectList(narrow func(*repos.ProjectFilter)) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	f := c.visibleProjects()
	f.Offset, f.Limit = pg.offset(), pg.PerPage
	membership, err := c.params.flag("membership")
	if err != nil {
		return err
	}
	owned, err := c.params.flag("owned")
	if err != nil {
		return err
	}
	if f.Search, _, err = c.params.str("search"); err != nil {
		return err
	}
	if f.Visibility, _, err = c.params.str("visibility"); err != nil {
		return err
	}
	if f.Visibility != "" && !access.ValidVisibility(f.Visibility) {
		return invalidValue("visibility")
	}
	orderBy, hasOrder, err := c.params.str("order_by")
	if err != nil {
		return err
	}
	if hasOrder && !repos.ValidProjectOrder(orderBy) {
		return invalidValue("order_by")
	}
	if !hasOrder {
		// GitLab's default, created_at, orders as ids do here.
		orderBy = "id"
	}
	desc, err := c.sortParam(true)
	if err != nil {
		return err
	}
	f.OrderBy, f.Ascending = orderBy, !desc
	if (membership || owned) && !c.signedIn() {
		return writeList(c, pg, 0, []Project{})
	}
	if membership {
		f.MemberOf = c.user().ID
	}
	if owned {
		f.OwnedBy = c.user().ID
	}
	if narrow != nil {
		narrow(&f)
	}
	projects, total, err := c.h.repos.List(c.ctx, f)
	if err != nil {
		return err
	}
	o := &owners{c: c}
	out := make([]Project, len(projects))
	for i := range projects {
		owner, err := o.of(&projects[i])
		if err != nil {
			return err
		}
		out[i] = ProjectJSON(&projects[i], c.links(), owner)
	}
	return writeList(c, pg, total, out)
}

// GET /users/:user_id/projects (id or username): the projects in the
// user's namespace that the caller may see, with GET /projects' filters.
func listUserProjects(c *call) error {
	u, err := c.findUser(c.vars["user_id"])
	if err != nil {
		return err
	}
	ns, err := c.h.repos.NamespaceByPath(c.ctx, u.Username)
	if errors.Is(err, repos.ErrNamespaceNotFound) {
		pg, err := c.pagination()
		if err != nil {
			return err
		}
		return writeList(c, pg, 0, []Project{})
	}
	if err != nil {
		return err
	}
	return c.projectList(func(f *repos.ProjectFilter) { f.In = ns })
}

// memberInput reads the user (user_id, or username) and access_level of
// an added member, with Grape's errors.
func (c *call) memberInput() (*auth.User, access.AccessLevel, error) {
	var missing []string
	uid, hasUID, err := c.params.id("user_id")
	if err != nil {
		return nil, 0, err
	}
	username, hasName, err := c.params.str("username")
	if err != nil {
		return nil, 0, err
	}
	if !hasUID && !hasName {
		missing = append(missing, "user_id")
	}
	level, hasLevel, err := c.levelParam()
	if err != nil {
		return nil, 0, err
	}
	if !hasLevel {
		missing = append(missing, "access_level")
	}
	if len(missing) > 0 {
		return nil, 0, missingParams(missing...)
	}
	var u *auth.User
	if hasUID {
		u, err = c.h.auth.User(c.ctx, uid)
		if errors.Is(err, auth.ErrNotFound) {
			return nil, 0, notFound("User")
		}
	} else {
		u, err = c.findUser(username)
	}
	return u, level, err
}

// levelParam reads access_level: one of GitLab's member levels.
func (c *call) levelParam() (access.AccessLevel, bool, error) {
	lvl, ok, err := c.params.integer("access_level")
	if err != nil || !ok {
		return 0, ok, err
	}
	level := access.AccessLevel(lvl)
	if !level.IsMemberLevel() {
		return 0, false, invalidValue("access_level")
	}
	return level, true, nil
}
