package api

import (
	"net/http"

	"github.com/gitgate/gitgate/repos"
)

// GET /groups: the groups the caller may see (repos.CanSeeNamespace: all
// for an admin, public ones for anonymous callers), by name, with GitLab's
// filters (filterGroups). gitgate has few groups, so they are filtered
// and paged in memory.
func listGroups(c *call) error {
	if _, err := c.pagination(); err != nil {
		return err
	}
	all, err := c.h.repos.Groups(c.ctx)
	if err != nil {
		return err
	}
	visible, err := c.filterGroups(all)
	if err != nil {
		return err
	}
	return c.writeGroupList(visible)
}

// GET /groups/:id (an id or a URL-encoded path): GroupDetail, with the
// projects directly in the group the caller may see unless
// with_projects=false; 404 Group Not Found for a group that does not
// exist or that the caller may not see.
func getGroup(c *call) error {
	g, err := c.findGroup()
	if err != nil {
		return err
	}
	withProjects := true
	if b, ok, err := c.params.boolean("with_projects"); err != nil {
		return err
	} else if ok {
		withProjects = b
	}
	d, err := c.groupDetail(g, withProjects)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, d)
	return nil
}

func (c *call) groupJSON(g *repos.Namespace) (Group, error) {
	name, err := c.h.repos.GroupFullName(c.ctx, g)
	if err != nil {
		return Group{}, err
	}
	return GroupJSON(g, name, c.links()), nil
}
