package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitrepo"
)

// The branch and tag changes below are pushes made by the API: the same
// decision as a Git push (access.Write: developer and above, a token
// that may push), the same ref-name rule (access.CheckRefName) and the
// same protected-branch rule (access.CheckRefUpdate), and afterwards the
// same bookkeeping (the project's last activity, AfterRefChange). Refs
// change with git update-ref and an old-value check, so a concurrent
// push is never overwritten. Refusals are GitLab's: 400 with the reason.

// msgDefaultBranch is GitLab's refusal to delete the default branch.
const msgDefaultBranch = "The default branch of a project cannot be deleted."

// refRefusal is a ref change the rules refuse: GitLab answers those 400
// with the reason, as its services do for a refused pre-receive check.
func refRefusal(err error) *apiError { return message(http.StatusBadRequest, err.Error()) }

// checkNewRef applies git's and gitgate's name rules to a ref to create;
// invalid is GitLab's message for a name git refuses.
func (k *code) checkNewRef(ref, invalid string) error {
	ok, err := k.repo.ValidRefName(k.c.ctx, ref)
	if err != nil {
		return err
	}
	if !ok {
		return message(http.StatusBadRequest, invalid)
	}
	if err := access.CheckRefName(ref, k.p.DefaultBranch); err != nil {
		return refRefusal(err)
	}
	return nil
}

// changed records a ref change as a push records one.
func (k *code) changed() {
	c := k.c
	if err := c.h.repos.RecordPush(c.ctx, k.p.ID); err != nil {
		c.h.log.Warn("api: record ref change activity", "project", k.p.FullPath(), "err", err)
	}
	if c.h.cfg.AfterRefChange != nil {
		c.h.cfg.AfterRefChange(k.repo.Dir)
	}
}

// requiredStrings reads required string parameters, answering Grape's
// "x is missing" for every one absent or empty.
func (c *call) requiredStrings(names ...string) ([]string, error) {
	vals := make([]string, len(names))
	var missing []string
	for i, n := range names {
		v, ok, err := c.params.str(n)
		if err != nil {
			return nil, err
		}
		if !ok || v == "" {
			missing = append(missing, n)
		}
		vals[i] = v
	}
	if len(missing) > 0 {
		return nil, missingParams(missing...)
	}
	return vals, nil
}

// POST /projects/:id/repository/branches (branch, ref): 201 with the
// branch.
func createBranch(c *call) error {
	in, err := c.requiredStrings("branch", "ref")
	if err != nil {
		return err
	}
	name, from := in[0], in[1]
	k, err := c.openCode(access.Write)
	if err != nil {
		return err
	}
	ref := gitrepo.Branches + name
	if err := k.checkNewRef(ref, "Branch name is invalid"); err != nil {
		return err
	}
	if _, err := k.repo.FindRef(c.ctx, gitrepo.Branches, name); err == nil {
		return message(http.StatusBadRequest, "Branch already exists")
	} else if !errors.Is(err, gitrepo.ErrNotFound) {
		return err
	}
	commitID, err := k.repo.ResolveCommit(c.ctx, from)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return message(http.StatusBadRequest, fmt.Sprintf("Failed to create branch '%s': invalid reference name '%s'", name, from))
	}
	if err != nil {
		return err
	}
	rules, err := k.protectedRules()
	if err != nil {
		return err
	}
	hasBranches, err := k.repo.HasBranches(c.ctx)
	if err != nil {
		return err
	}
	if err := access.CheckRefUpdate(k.level, rules, k.p.DefaultBranch, !hasBranches,
		access.RefUpdate{Ref: ref, Old: access.ZeroID, New: commitID}); err != nil {
		return refRefusal(err)
	}
	switch err := k.repo.UpdateRef(c.ctx, ref, access.ZeroID, commitID); {
	case errors.Is(err, gitrepo.ErrRefChanged):
		return message(http.StatusBadRequest, "Branch already exists")
	case errors.Is(err, gitrepo.ErrRefHierarchy):
		return message(http.StatusBadRequest, fmt.Sprintf("Failed to create branch '%s': Branch name conflicts with existing branch hierarchy.", name))
	case err != nil:
		return err
	}
	k.changed()
	out, err := k.branches([]gitrepo.Ref{{Name: name, Target: commitID}})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, out[0])
	return nil
}

// DELETE /projects/:id/repository/branches/:branch: 204. Neither the
// default branch nor a protected one can be deleted, by anyone.
func deleteBranch(c *call) error {
	k, err := c.openCode(access.Write)
	if err != nil {
		return err
	}
	name := c.vars["branch"]
	ref, err := k.repo.FindRef(c.ctx, gitrepo.Branches, name)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return notFound("Branch")
	}
	if err != nil {
		return err
	}
	if name == k.p.DefaultBranch {
		return message(http.StatusBadRequest, msgDefaultBranch)
	}
	rules, err := k.protectedRules()
	if err != nil {
		return err
	}
	if err := access.CheckRefUpdate(k.level, rules, k.p.DefaultBranch, false,
		access.RefUpdate{Ref: gitrepo.Branches + name, Old: ref.Target, New: access.ZeroID}); err != nil {
		return refRefusal(err)
	}
	if err := k.repo.UpdateRef(c.ctx, gitrepo.Branches+name, ref.Target, access.ZeroID); err != nil {
		if errors.Is(err, gitrepo.ErrRefChanged) {
			return message(http.StatusBadRequest, "Failed to remove branch")
		}
		return err
	}
	k.changed()
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}

// POST /projects/:id/repository/tags (tag_name, ref, message): 201 with
// the tag. A message makes an annotated tag whose tagger is the caller.
func createTag(c *call) error {
	in, err := c.requiredStrings("tag_name", "ref")
	if err != nil {
		return err
	}
	name, from := in[0], in[1]
	msg, _, err := c.params.str("message")
	if err != nil {
		return err
	}
	msg = strings.TrimSpace(msg)
	k, err := c.openCode(access.Write)
	if err != nil {
		return err
	}
	ref := gitrepo.Tags + name
	if err := k.checkNewRef(ref, "Tag name invalid"); err != nil {
		return err
	}
	if _, err := k.repo.FindRef(c.ctx, gitrepo.Tags, name); err == nil {
		return message(http.StatusBadRequest, "Tag "+name+" already exists")
	} else if !errors.Is(err, gitrepo.ErrNotFound) {
		return err
	}
	commitID, err := k.repo.ResolveCommit(c.ctx, from)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return message(http.StatusBadRequest, "Target "+from+" is invalid")
	}
	if err != nil {
		return err
	}
	rules, err := k.protectedRules()
	if err != nil {
		return err
	}
	target := commitID
	if err := access.CheckRefUpdate(k.level, rules, k.p.DefaultBranch, false,
		access.RefUpdate{Ref: ref, Old: access.ZeroID, New: target}); err != nil {
		return refRefusal(err)
	}
	if msg != "" {
		u := c.user()
		tagger := gitrepo.Ident{Name: u.Name, Email: u.Email, When: c.now.UTC()}
		if tagger.Name == "" {
			tagger.Name = u.Username
		}
		if target, err = k.repo.WriteTag(c.ctx, name, commitID, tagger, msg); err != nil {
			return err
		}
	}
	switch err := k.repo.UpdateRef(c.ctx, ref, access.ZeroID, target); {
	case errors.Is(err, gitrepo.ErrRefChanged):
		return message(http.StatusBadRequest, "Tag "+name+" already exists")
	case errors.Is(err, gitrepo.ErrRefHierarchy):
		return message(http.StatusBadRequest, "Failed to create a tag: "+name)
	case err != nil:
		return err
	}
	k.changed()
	tag, err := k.findTag(c.ctx, name)
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusCreated, TagJSON(tag, k.p, c.links()))
	return nil
}

// DELETE /projects/:id/repository/tags/:tag_name: 204.
func deleteTag(c *call) error {
	k, err := c.openCode(access.Write)
	if err != nil {
		return err
	}
	name := c.vars["tag_name"]
	ref, err := k.repo.FindRef(c.ctx, gitrepo.Tags, name)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return notFound("Tag")
	}
	if err != nil {
		return err
	}
	rules, err := k.protectedRules()
	if err != nil {
		return err
	}
	if err := access.CheckRefUpdate(k.level, rules, k.p.DefaultBranch, false,
		access.RefUpdate{Ref: gitrepo.Tags + name, Old: ref.Target, New: access.ZeroID}); err != nil {
		return refRefusal(err)
	}
	if err := k.repo.UpdateRef(c.ctx, gitrepo.Tags+name, ref.Target, access.ZeroID); err != nil {
		if errors.Is(err, gitrepo.ErrRefChanged) {
			return message(http.StatusBadRequest, "Failed to remove tag")
		}
		return err
	}
	k.changed()
	writeJSON(c.w, http.StatusNoContent, nil)
	return nil
}
