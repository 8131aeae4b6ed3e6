package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// Members of groups, changes of a member's level, and the members a
// project inherits (docs/api.md#members). A project's members are
// managed by its maintainers, a group's by its owners (GitLab's
// admin_group_member); nobody but an admin grants or changes a level
// above their own.

// memberRows turns memberships into rows with their users, dropping
// users that no longer exist and, with query, those whose name and
// username do not contain it.
func (c *call) memberRows(ms []repos.Member) ([]memberRow, error) {
	query, _, err := c.params.str("query")
	if err != nil {
		return nil, err
	}
	query = strings.ToLower(query)
	var rows []memberRow
	for i := range ms {
		u, err := c.h.auth.User(c.ctx, ms[i].UserID)
		if errors.Is(err, auth.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if query != "" && !strings.Contains(strings.ToLower(u.Username), query) && !strings.Contains(strings.ToLower(u.Name), query) {
			continue
		}
		rows = append(rows, memberRow{user: u, level: ms[i].AccessLevel, m: &ms[i]})
	}
	return rows, nil
}

// writeMembers answers one page of members.
func (c *call) writeMembers(ms []repos.Member) error {
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	rows, err := c.memberRows(ms)
	if err != nil {
		return err
	}
	out := make([]Member, 0, pg.PerPage)
	for _, row := range pageOf(rows, pg) {
		out = append(out, MemberJSON(row.user, row.level, row.m.CreatedAt, c.links().BaseURL))
	}
	return writeList(c, pg, len(rows), out)
}

// directMember finds userID among a target's direct memberships; 404
// Member Not Found when absent.
func (c *call) directMember(t repos.MemberTarget, userID int64) (*repos.Member, error) {
	var (
		ms  []repos.Member
		err error
	)
	if t.Group != nil {
		ms, err = c.h.repos.MembersOf(c.ctx, t)
	} else {
		ms, err = c.h.repos.Members(c.ctx, t.Project.ID)
	}
	if err != nil {
		return nil, err
	}
	for i := range ms {
		if ms[i].UserID == userID {
			return &ms[i], nil
		}
	}
	return nil, notFound("Member")
}

// GET /groups/:id/members: the group's direct members; query filters by
// name or username.
func listGroupMembers(c *call) error {
	g, err := c.findGroup()
	if err != nil {
		return err
	}
	ms, err := c.h.repos.MembersOf(c.ctx, repos.MemberTarget{Group: g})
	if err != nil {
		return err
	}
	return c.writeMembers(ms)
}

// POST /groups/:id/members (owners): user_id (or username) and
// access_level; 201 with the member, 409 Member already exists.
func addGroupMember(c *call) error {
	g, err := c.groupWithLevel(access.Owner)
	if err != nil {
		return err
	}
	u, level, err := c.memberInput()
	if err != nil {
		return err
	}
	t := repos.MemberTarget{Group: g}
	if _, err := c.directMember(t, u.ID); err == nil {
		return message(http.StatusConflict, "Member already exists")
	}
	if err := c.h.repos.AddMember(c.ctx, t, u.ID, level); err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, MemberJSON(u, level, c.now, c.links().BaseURL))
	return nil
}

// changeMember is PUT …/members/:user_id on a project or group: the
// caller already holds the managing level; access_level is required.
// Raising anyone above, or changing anyone who is above, the caller's own
// level is 403, and so is demoting a group's last owner (GitLab's
// update_group_member policy).
func (c *call) changeMember(t repos.MemberTarget, mine access.AccessLevel) error {
	uid, err := c.pathID("user_id")
	if err != nil {
		return err
	}
	level, ok, err := c.levelParam()
	if err != nil {
		return err
	}
	if !ok {
		return missingParams("access_level")
	}
	m, err := c.directMember(t, uid)
	if err != nil {
		return err
	}
	if level > mine || m.AccessLevel > mine {
		return forbidden("")
	}
	u, err := c.h.auth.User(c.ctx, uid)
	if errors.Is(err, auth.ErrNotFound) {
		return notFound("Member")
	}
	if err != nil {
		return err
	}
	if err := c.h.repos.UpdateMember(c.ctx, t, uid, level); err != nil {
		var conflict *repos.ConflictError
		if errors.As(err, &conflict) && conflict.Reason == repos.LastOwner {
			return forbidden("")
		}
		if errors.Is(err, access.ErrNotFound) {
			return notFound("Member")
		}
		return err
	}
	writeJSON(c.w, http.StatusOK, MemberJSON(u, level, m.CreatedAt, c.links().BaseURL))
	return nil
}

// PUT /groups/:id/members/:user_id (owners): 200 with the member.
func updateGroupMember(c *call) error {
	g, err := c.groupWithLevel(access.Owner)
	if err != nil {
		return err
	}
	mine, err := c.h.repos.GroupAccessLevel(c.ctx, c.p, g)
	if err != nil {
		return err
	}
	return c.changeMember(repos.MemberTarget{Group: g}, mine)
}

// DELETE /groups/:id/members/:user_id (owners): 204; the last owner
// cannot be removed (403, as GitLab's destroy_group_member policy).
func removeGroupMember(c *call) error {
	g, err := c.groupWithLevel(access.Owner)
	if err != nil {
		return err
	}
	uid, err := c.pathID("user_id")
	if err != nil {
		return err
	}
	t := repos.MemberTarget{Group: g}
	if _, err := c.directMember(t, uid); err != nil {
		return err
	}
	if err := c.h.repos.RemoveMember(c.ctx, t, uid); err != nil {
		var conflict *repos.ConflictError
		if errors.As(err, &conflict) && conflict.Reason == repos.LastOwner {
			return forbidden("")
		}
		if errors.Is(err, access.ErrNotFound) {
			return notFound("Member")
		}
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}

// PUT /projects/:id/members/:user_id (maintainers): 200 with the member.
func updateMember(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	mine, err := c.h.repos.AccessLevel(c.ctx, c.p, p)
	if err != nil {
		return err
	}
	return c.changeMember(repos.MemberTarget{Project: p}, mine)
}

// GET /projects/:id/members/all: everyone with a level on the project,
// direct or through its groups, each once with their highest level.
func listAllMembers(c *call) error {
	p, err := c.project(access.View)
	if err != nil {
		return err
	}
	ms, err := c.h.repos.AllMembers(c.ctx, repos.MemberTarget{Project: p})
	if err != nil {
		return err
	}
	return c.writeMembers(ms)
}
