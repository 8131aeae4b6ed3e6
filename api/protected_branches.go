package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/repos"
)

// The protected branches endpoints (GitLab's lib/api/protected_branches.rb;
// docs/api.md#protected-branches). Reading needs what reading the code
// needs; changing needs a maintainer. The rules are read by every push
// from the database, so a change holds from the next push.

// protectedBranch loads the :name rule of p; a missing one is GitLab's
// RecordNotFound answer.
func (c *call) protectedBranch(p *repos.Project) (*repos.ProtectedBranch, error) {
	b, err := c.h.repos.ProtectedBranch(c.ctx, p.ID, c.vars["name"])
	if errors.Is(err, repos.ErrProtectedBranchNotFound) {
		return nil, message(http.StatusNotFound, "404 Not found")
	}
	return b, err
}

// pushLevelParam reads push_access_level or merge_access_level: 0, 30,
// 40 or 60, else Grape's values error.
func (c *call) pushLevelParam(name string) (*access.AccessLevel, error) {
	n, ok, err := c.params.integer(name)
	if err != nil || !ok {
		return nil, err
	}
	l := access.AccessLevel(n)
	if int64(l) != n || !access.ValidPushLevel(l) {
		return nil, invalidValue(name)
	}
	return &l, nil
}

// GET /projects/:id/protected_branches[?search=]
func listProtectedBranches(c *call) error {
	p, err := c.project(access.Read)
	if err != nil {
		return err
	}
	pg, err := c.pagination()
	if err != nil {
		return err
	}
	search, _, err := c.params.str("search")
	if err != nil {
		return err
	}
	all, err := c.h.repos.ListProtectedBranches(c.ctx, p.ID)
	if err != nil {
		return err
	}
	if search != "" {
		kept := all[:0]
		for _, b := range all {
			if strings.Contains(strings.ToLower(b.Name), strings.ToLower(search)) {
				kept = append(kept, b)
			}
		}
		all = kept
	}
	out := make([]ProtectedBranch, 0, pg.PerPage)
	for _, b := range pageOf(all, pg) {
		out = append(out, ProtectedBranchJSON(&b))
	}
	return writeList(c, pg, len(all), out)
}

// GET /projects/:id/protected_branches/:name (the exact name or pattern).
func getProtectedBranch(c *call) error {
	p, err := c.project(access.Read)
	if err != nil {
		return err
	}
	b, err := c.protectedBranch(p)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ProtectedBranchJSON(b))
	return nil
}

// POST /projects/:id/protected_branches (maintainers): name, and
// push_access_level, merge_access_level (both 40 by default) and
// allow_force_push (false). 201 with the rule; 409 when the name is
// already protected.
func protectBranch(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	name, ok, err := c.params.str("name")
	if err != nil {
		return err
	}
	if !ok {
		return missingParams("name")
	}
	b := repos.ProtectedBranch{ProjectID: p.ID, Name: name, PushAccessLevel: access.Maintainer, MergeAccessLevel: access.Maintainer}
	for field, dst := range map[string]*access.AccessLevel{"push_access_level": &b.PushAccessLevel, "merge_access_level": &b.MergeAccessLevel} {
		l, err := c.pushLevelParam(field)
		if err != nil {
			return err
		}
		if l != nil {
			*dst = *l
		}
	}
	if b.AllowForcePush, _, err = c.params.boolean("allow_force_push"); err != nil {
		return err
	}
	created, err := c.h.repos.ProtectBranch(c.ctx, b)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, ProtectedBranchJSON(created))
	return nil
}

// PATCH /projects/:id/protected_branches/:name (maintainers):
// name (a rename) and allow_force_push as GitLab, and, beyond GitLab's
// community edition, push_access_level and merge_access_level. 200 with
// the rule; 409 when renamed onto another rule.
func updateProtectedBranch(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	if _, err := c.protectedBranch(p); err != nil {
		return err
	}
	var ch repos.BranchProtectionChanges
	if name, ok, err := c.params.str("name"); err != nil {
		return err
	} else if ok {
		ch.Name = &name
	}
	if ch.PushAccessLevel, err = c.pushLevelParam("push_access_level"); err != nil {
		return err
	}
	if ch.MergeAccessLevel, err = c.pushLevelParam("merge_access_level"); err != nil {
		return err
	}
	force, ok, err := c.params.boolean("allow_force_push")
	if err != nil {
		return err
	}
	if ok {
		ch.AllowForcePush = &force
	}
	b, err := c.h.repos.UpdateProtectedBranch(c.ctx, p.ID, c.vars["name"], ch)
	if errors.Is(err, repos.ErrProtectedBranchNotFound) {
		return message(http.StatusNotFound, "404 Not found")
	}
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, ProtectedBranchJSON(b))
	return nil
}

// DELETE /projects/:id/protected_branches/:name (maintainers): 204.
func unprotectBranch(c *call) error {
	p, err := c.project(access.Manage)
	if err != nil {
		return err
	}
	err = c.h.repos.UnprotectBranch(c.ctx, p.ID, c.vars["name"])
	if errors.Is(err, repos.ErrProtectedBranchNotFound) {
		return message(http.StatusNotFound, "404 Not found")
	}
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}
