package api

import (
	"cmp"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/repos"
)

// GET /namespaces: every namespace for an admin; for anyone else their
// own and the groups they are a direct member of (GitLab's
// user.namespaces). search matches path or name; owned_only keeps their
// own and the groups they own; top_level_only drops subgroups.
func listNamespaces(c *call) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	search, _, err := c.params.str("search")
	if err != nil {
		return err
	}
	ownedOnly, err := c.params.flag("owned_only")
	if err != nil {
		return err
	}
	topLevel, err := c.params.flag("top_level_only")
	if err != nil {
		return err
	}
	var all []repos.Namespace
	if c.isAdmin() && !ownedOnly {
		if all, err = c.h.repos.AllNamespaces(c.ctx); err != nil {
			return err
		}
	} else {
		own, err := c.h.repos.NamespaceByPath(c.ctx, c.user().Username)
		switch {
		case err == nil:
			all = append(all, *own)
		case !errors.Is(err, repos.ErrNamespaceNotFound):
			return err
		}
		groups, err := c.h.repos.GroupsOfMember(c.ctx, c.user().ID)
		if err != nil {
			return err
		}
		for i := range groups {
			if ownedOnly {
				level, err := c.h.repos.MemberLevel(c.ctx, c.user().ID, &groups[i], true)
				if err != nil {
					return err
				}
				if level < access.Owner {
					continue
				}
			}
			all = append(all, groups[i])
		}
		slices.SortFunc(all, func(a, b repos.Namespace) int { return cmp.Compare(a.ID, b.ID) })
	}
	search = strings.ToLower(search)
	var out []Namespace
	for i := range all {
		n := &all[i]
		if topLevel && n.ParentID != nil {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(n.FullPath), search) && !strings.Contains(strings.ToLower(n.Name), search) {
			continue
		}
		out = append(out, NamespaceJSON(n, c.links()))
	}
	return writeList(c, pg, len(out), pageOf(out, pg))
}

// GET /namespaces/:id (an id or a URL-encoded full path): a user's
// namespace for that user and admins, a group for whoever may see it;
// anything else is 404 Namespace Not Found, as a missing one (GitLab's
// read_namespace).
func getNamespace(c *call) error {
	raw := c.vars["id"]
	var (
		n   *repos.Namespace
		err error
	)
	if id, isNum := parseID(raw); isNum {
		n, err = c.h.repos.NamespaceByID(c.ctx, id)
	} else {
		n, err = c.h.repos.NamespaceByPath(c.ctx, raw)
	}
	if errors.Is(err, repos.ErrNamespaceNotFound) {
		return notFound("Namespace")
	}
	if err != nil {
		return err
	}
	visible := c.isAdmin()
	if !visible && n.Kind == repos.NamespaceUser {
		visible = n.OwnerID != nil && *n.OwnerID == c.user().ID
	} else if !visible {
		if visible, err = c.h.repos.CanSeeNamespace(c.ctx, c.p, n); err != nil {
			return err
		}
	}
	if !visible {
		return notFound("Namespace")
	}
	writeJSON(c.w, http.StatusOK, NamespaceJSON(n, c.links()))
	return nil
}
