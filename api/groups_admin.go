package api

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/repos"
)

// Groups through the API (docs/api.md#groups): created, changed and
// deleted with the rules the CLI's `gitgate group` commands apply, since
// both call the same repos functions.

// maxGroupDetailProjects bounds the projects GET /groups/:id embeds, as
// GitLab's GroupDetail does.
const maxGroupDetailProjects = 100

// findGroup loads the group of the :id path parameter (an id or a
// URL-encoded full path). A group that does not exist, a user's
// namespace, and a group the caller may not see are all 404 Group Not
// Found, so probing reveals no private group.
func (c *call) findGroup() (*repos.Namespace, error) { return c.findGroupBy(c.vars["id"]) }

// findGroupBy is findGroup for an id or full path from elsewhere
// (parent_id).
func (c *call) findGroupBy(raw string) (*repos.Namespace, error) {
	var (
		g   *repos.Namespace
		err error
	)
	if id, isNum := parseID(raw); isNum {
		g, err = c.h.repos.NamespaceByID(c.ctx, id)
	} else {
		g, err = c.h.repos.NamespaceByPath(c.ctx, raw)
	}
	if errors.Is(err, repos.ErrNamespaceNotFound) || (err == nil && g.Kind != repos.NamespaceGroup) {
		return nil, notFound("Group")
	}
	if err != nil {
		return nil, err
	}
	ok, err := c.h.repos.CanSeeNamespace(c.ctx, c.p, g)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, notFound("Group")
	}
	return g, nil
}

// groupWithLevel loads the group of :id and checks that the caller holds
// at least level on it (403 otherwise; admins always do).
func (c *call) groupWithLevel(level access.AccessLevel) (*repos.Namespace, error) {
	g, err := c.findGroup()
	if err != nil {
		return nil, err
	}
	return g, c.requireGroupLevel(g, level)
}

// requireGroupLevel is 403 unless the caller holds at least level on g.
func (c *call) requireGroupLevel(g *repos.Namespace, level access.AccessLevel) error {
	mine, err := c.h.repos.GroupAccessLevel(c.ctx, c.p, g)
	if err != nil {
		return err
	}
	if mine < level {
		return forbidden("")
	}
	return nil
}

// groupDetail renders GroupDetail: the group and, unless withProjects is
// false, the projects directly in it that the caller may see.
func (c *call) groupDetail(g *repos.Namespace, withProjects bool) (GroupDetail, error) {
	j, err := c.groupJSON(g)
	if err != nil {
		return GroupDetail{}, err
	}
	out := GroupDetail{Group: j, Projects: []Project{}, SharedProjects: []Project{}}
	if !withProjects {
		return out, nil
	}
	f := c.visibleProjects()
	f.In, f.Limit = g, maxGroupDetailProjects
	projects, _, err := c.h.repos.List(c.ctx, f)
	if err != nil {
		return GroupDetail{}, err
	}
	for i := range projects {
		out.Projects = append(out.Projects, ProjectJSON(&projects[i], c.links(), nil))
	}
	return out, nil
}

// visibleProjects is the project filter of what the caller may see.
func (c *call) visibleProjects() repos.ProjectFilter {
	var f repos.ProjectFilter
	if c.signedIn() {
		f.VisibleTo, f.SignedIn, f.All = c.user().ID, true, c.user().Admin
	}
	return f
}

// filterGroups applies GET /groups' filters, order and visibility to
// groups: search, skip_groups, owned, min_access_level, top_level_only,
// order_by (name, path, id) and sort (asc by default, as GitLab's).
func (c *call) filterGroups(groups []repos.Namespace) ([]repos.Namespace, error) {
	search, _, err := c.params.str("search")
	if err != nil {
		return nil, err
	}
	skip, _, err := c.params.strList("skip_groups")
	if err != nil {
		return nil, err
	}
	var skipIDs []int64
	for _, s := range skip {
		id, isNum := parseID(s)
		if !isNum {
			return nil, invalidParam("skip_groups")
		}
		skipIDs = append(skipIDs, id)
	}
	owned, err := c.params.flag("owned")
	if err != nil {
		return nil, err
	}
	minLevel, hasMin, err := c.params.integer("min_access_level")
	if err != nil {
		return nil, err
	}
	if hasMin && !access.AccessLevel(minLevel).IsMemberLevel() {
		return nil, invalidValue("min_access_level")
	}
	topLevel, err := c.params.flag("top_level_only")
	if err != nil {
		return nil, err
	}
	orderBy, _, err := c.params.str("order_by")
	if err != nil {
		return nil, err
	}
	switch orderBy {
	case "", "name", "path", "id":
	default:
		return nil, invalidValue("order_by")
	}
	desc, err := c.sortParam(false)
	if err != nil {
		return nil, err
	}
	if (owned || hasMin) && !c.signedIn() {
		return nil, nil
	}
	search = strings.ToLower(search)
	var out []repos.Namespace
	for i := range groups {
		g := &groups[i]
		if slices.Contains(skipIDs, g.ID) || (topLevel && g.ParentID != nil) {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(g.Name), search) && !strings.Contains(strings.ToLower(g.Path), search) {
			continue
		}
		ok, err := c.h.repos.CanSeeNamespace(c.ctx, c.p, g)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if owned || hasMin {
			// Memberships, not an admin's rights: GitLab's owned and
			// min_access_level look at what the user was given.
			level, err := c.h.repos.MemberLevel(c.ctx, c.user().ID, g, owned)
			if err != nil {
				return nil, err
			}
			if (owned && level < access.Owner) || (hasMin && level < access.AccessLevel(minLevel)) {
				continue
			}
		}
		out = append(out, *g)
	}
	key := func(g *repos.Namespace) string { return strings.ToLower(g.Name) }
	switch orderBy {
	case "path":
		key = func(g *repos.Namespace) string { return strings.ToLower(g.FullPath) }
	case "id":
		key = nil
	}
	slices.SortStableFunc(out, func(a, b repos.Namespace) int {
		r := 0
		if key != nil {
			r = strings.Compare(key(&a), key(&b))
		}
		if r == 0 {
			r = cmp.Compare(a.ID, b.ID)
		}
		if desc {
			return -r
		}
		return r
	})
	return out, nil
}

// sortParam reads sort=asc|desc; absent, descending is the default when
// defaultDesc.
func (c *call) sortParam(defaultDesc bool) (bool, error) {
	s, ok, err := c.params.str("sort")
	if err != nil || !ok {
		return defaultDesc, err
	}
	switch s {
	case "asc":
		return false, nil
	case "desc":
		return true, nil
	}
	return false, invalidValue("sort")
}

// writeGroupList answers one page of groups.
func (c *call) writeGroupList(groups []repos.Namespace) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	out := make([]Group, 0, pg.PerPage)
	for _, g := range pageOf(groups, pg) {
		j, err := c.groupJSON(&g)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	return writeList(c, pg, len(groups), out)
}

// GET /groups/:id/subgroups: the groups directly below, as the caller
// may see them, with GET /groups' filters.
func listSubgroups(c *call) error {
	g, err := c.findGroup()
	if err != nil {
		return err
	}
	if _, err := c.pagination(); err != nil {
		return err
	}
	subs, err := c.h.repos.Subgroups(c.ctx, g)
	if err != nil {
		return err
	}
	visible, err := c.filterGroups(subs)
	if err != nil {
		return err
	}
	return c.writeGroupList(visible)
}

// GET /groups/:id/projects: the projects in the group (and in every
// group below it with include_subgroups) that the caller may see, with
// GET /projects' filters.
func listGroupProjects(c *call) error {
	g, err := c.findGroup()
	if err != nil {
		return err
	}
	sub, err := c.params.flag("include_subgroups")
	if err != nil {
		return err
	}
	return c.projectList(func(f *repos.ProjectFilter) {
		if sub {
			f.Within = g
		} else {
			f.In = g
		}
	})
}

// rubyErrors writes model errors as GitLab's "Failed to save group
// #{group.errors.messages}" shows them: a Ruby hash.
func rubyErrors(field, msg string) string {
	return fmt.Sprintf("{:%s=>[%s]}", field, strconv.Quote(msg))
}

// POST /groups: name and path required, parent_id for a subgroup,
// description and visibility. A top-level group is an admin's to create
// (gitgate users have can_create_group false); a subgroup needs
// maintainer or owner of its parent, which must be visible to the caller
// (else 404 Group Not Found). The creator becomes the group's owner. 201
// with the group; a refused save is GitLab's 400 "Failed to save group
// {…}".
func createGroup(c *call) error {
	var missing []string
	name, ok, err := c.params.str("name")
	if err != nil {
		return err
	}
	if !ok {
		missing = append(missing, "name")
	}
	path, ok, err := c.params.str("path")
	if err != nil {
		return err
	}
	if !ok {
		missing = append(missing, "path")
	}
	if len(missing) > 0 {
		return missingParams(missing...)
	}
	in := repos.NewGroup{Name: name, CreatorID: c.user().ID}
	if in.Description, _, err = c.params.str("description"); err != nil {
		return err
	}
	if in.Visibility, _, err = c.params.str("visibility"); err != nil {
		return err
	}
	if in.Visibility != "" && !access.ValidVisibility(in.Visibility) {
		return invalidValue("visibility")
	}
	parentID, hasParent, err := c.params.id("parent_id")
	if err != nil {
		return err
	}
	in.FullPath = path
	if hasParent {
		parent, err := c.findGroupBy(strconv.FormatInt(parentID, 10))
		if err != nil {
			return err
		}
		if err := c.requireGroupLevel(parent, access.Maintainer); err != nil {
			return err
		}
		in.FullPath = parent.FullPath + "/" + path
	} else if !c.isAdmin() {
		return forbidden("")
	}
	// One segment: a slash would reach into another group.
	if err := repos.ValidateSegment(path); err != nil {
		return message(http.StatusBadRequest, "Failed to save group "+rubyErrors("path", err.Error()))
	}
	g, err := c.h.repos.CreateGroupFrom(c.ctx, in)
	if err != nil {
		var ie *repos.InputError
		if errors.As(err, &ie) {
			msg := ie.Msg
			if strings.Contains(msg, "already exists") {
				msg = "has already been taken"
			}
			return message(http.StatusBadRequest, "Failed to save group "+rubyErrors(ie.Field, msg))
		}
		return err
	}
	d, err := c.groupDetail(g, true)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, d)
	return nil
}

// PUT /groups/:id (owners, admins): name, path, description, visibility
// with repos.UpdateGroup's rules (a new path moves everything below the
// group to it; visibility within the groups above and what is inside).
// 200 with the group; refusals are validation errors on their field.
func updateGroup(c *call) error {
	g, err := c.groupWithLevel(access.Owner)
	if err != nil {
		return err
	}
	var ch repos.GroupChanges
	for name, dst := range map[string]**string{"name": &ch.Name, "path": &ch.Path, "description": &ch.Description, "visibility": &ch.Visibility} {
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
	g, err = c.h.repos.UpdateGroup(c.ctx, g.ID, ch)
	if err != nil {
		return err
	}
	d, err := c.groupDetail(g, true)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, d)
	return nil
}

// DELETE /groups/:id (owners, admins): deletes the group with its
// subgroups and projects, repositories on disk included (the path of
// `gitgate group delete --with-projects`). GitLab answers 202 Accepted
// (its deletion runs in the background); gitgate's is done by then.
func deleteGroup(c *call) error {
	g, err := c.groupWithLevel(access.Owner)
	if err != nil {
		return err
	}
	if _, err := c.h.repos.DeleteGroup(c.ctx, g.FullPath, true); err != nil {
		if errors.Is(err, repos.ErrNamespaceNotFound) {
			return notFound("Group")
		}
		return err
	}
	writeJSON(c.w, http.StatusAccepted, map[string]string{"message": "202 Accepted"})
	return nil
}
