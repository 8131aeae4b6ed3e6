package api

import (
	"errors"
	"net/http"

	"github.com/gitgate/gitgate/repos"
)

// GET /groups: the groups the caller may see (repos.CanSeeNamespace: all
// for an admin, public ones for anonymous callers), by full path. gitgate
// has few groups, so they are filtered and paged in memory.
func listGroups(c *call) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	all, err := c.h.repos.Groups(c.ctx)
	if err != nil {
		return err
	}
	var visible []repos.Namespace
	for i := range all {
		ok, err := c.h.repos.CanSeeNamespace(c.ctx, c.p, &all[i])
		if err != nil {
			return err
		}
		if ok {
			visible = append(visible, all[i])
		}
	}
	out := make([]Group, 0, pg.PerPage)
	for _, g := range pageOf(visible, pg) {
		j, err := c.groupJSON(&g)
		if err != nil {
			return err
		}
		out = append(out, j)
	}
	return writeList(c, pg, len(visible), out)
}

// GET /groups/:id (an id or a URL-encoded path): 404 Group Not Found for
// a group that does not exist or that the caller may not see.
func getGroup(c *call) error {
	raw := c.vars["id"]
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
		return notFound("Group")
	}
	if err != nil {
		return err
	}
	ok, err := c.h.repos.CanSeeNamespace(c.ctx, c.p, g)
	if err != nil {
		return err
	}
	if !ok {
		return notFound("Group")
	}
	j, err := c.groupJSON(g)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, j)
	return nil
}

func (c *call) groupJSON(g *repos.Namespace) (Group, error) {
	name, err := c.h.repos.GroupFullName(c.ctx, g)
	if err != nil {
		return Group{}, err
	}
	return GroupJSON(g, name, c.links()), nil
}
