package api

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitrepo"
	"github.com/gitgate/gitgate/repos"
)

// code is a project whose repository the caller may read, with what the
// answers about it need.
type code struct {
	c    *call
	p    *repos.Project
	repo *gitrepo.Repo
	// level is the caller's level (NoAccess for anonymous callers).
	level access.AccessLevel
	rules []access.ProtectedRule
}

// codeProject opens the :id project for a read of its code: the decision
// of a Git fetch (access.Read through repos.Authorize), so visibility and
// membership answer exactly as for a clone — a private project is 404 to
// non-members, a guest may see it but not its code (403).
func (c *call) codeProject() (*code, error) {
	return c.openCode(access.Read)
}

// openCode opens the :id project for action a (Read, or Write for the
// ref changes, which are a push).
func (c *call) openCode(a access.Action) (*code, error) {
	p, err := c.project(access.View)
	if err != nil {
		return nil, err
	}
	d, err := c.h.repos.Authorize(c.ctx, c.p, p, a)
	if err != nil {
		return nil, err
	}
	dir := c.h.repos.DiskPath(p.ID)
	if err := c.h.repos.CheckDisk(dir); err != nil {
		return nil, err
	}
	return &code{c: c, p: p, repo: &gitrepo.Repo{Dir: dir, Metrics: c.h.cfg.Metrics}, level: d.Level}, nil
}

// protectedRules loads the project's protected branches once.
func (k *code) protectedRules() ([]access.ProtectedRule, error) {
	if k.rules != nil {
		return k.rules, nil
	}
	rules, err := k.c.h.repos.ProtectedBranches(k.c.ctx, k.p.ID)
	if err != nil {
		return nil, err
	}
	if rules == nil {
		rules = []access.ProtectedRule{}
	}
	k.rules = rules
	return rules, nil
}

// canPush is GitLab's can_push_to_branch?: whether the caller could push
// a fast-forward to an existing branch, by the rule a push meets
// (access.CheckRefUpdate).
func (k *code) canPush(branch string) bool {
	if !k.c.signedIn() || k.level < access.Developer {
		return false
	}
	tip := strings.Repeat("1", len(access.ZeroID))
	return access.CheckRefUpdate(k.level, k.rules, k.p.DefaultBranch, false,
		access.RefUpdate{Ref: gitrepo.Branches + branch, Old: tip, New: tip}) == nil
}

// branchJSON renders a branch; commits holds its tip (by target id),
// merged the branches the default branch reaches.
func (k *code) branchJSON(ref gitrepo.Ref, commits map[string]*gitrepo.Commit, merged map[string]bool) Branch {
	out := Branch{Name: ref.Name, Merged: merged[ref.Name], Default: ref.Name == k.p.DefaultBranch,
		WebURL: k.c.links().web(k.p.FullPath() + "/-/tree/" + ref.Name), CanPush: k.canPush(ref.Name)}
	if c := commits[ref.Target]; c != nil {
		cj := CommitJSON(c, k.p, k.c.links())
		out.Commit = &cj
	}
	for _, rule := range access.MatchingRules(k.rules, ref.Name) {
		out.Protected = true
		// GitLab's developers_can_push: developers are among those a
		// matching rule lets push (a level of 0 is "no one"); the most
		// permissive rule decides, as for a push.
		if rule.PushAccessLevel >= access.Guest && rule.PushAccessLevel <= access.Developer {
			out.DevelopersCanPush = true
		}
		out.DevelopersCanMerge = out.DevelopersCanPush
	}
	return out
}

// branches renders refs with one read of their commits.
func (k *code) branches(refs []gitrepo.Ref) ([]Branch, error) {
	if _, err := k.protectedRules(); err != nil {
		return nil, err
	}
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Target
	}
	commits, err := k.repo.Commits(k.c.ctx, ids)
	if err != nil {
		return nil, err
	}
	merged := map[string]bool{}
	if def, err := k.repo.FindRef(k.c.ctx, gitrepo.Branches, k.p.DefaultBranch); err == nil {
		if merged, err = k.repo.MergedInto(k.c.ctx, def.Target); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, gitrepo.ErrNotFound) {
		return nil, err
	}
	out := make([]Branch, len(refs))
	for i, r := range refs {
		out[i] = k.branchJSON(r, commits, merged)
	}
	return out, nil
}

// matchSearch is GitLab's branch and tag search: "^abc" a prefix, "abc$"
// a suffix, otherwise a substring, ignoring case.
func matchSearch(name, search string) bool {
	if search == "" {
		return true
	}
	name, search = strings.ToLower(name), strings.ToLower(search)
	prefix, suffix := strings.HasPrefix(search, "^"), strings.HasSuffix(search, "$")
	search = strings.TrimSuffix(strings.TrimPrefix(search, "^"), "$")
	switch {
	case prefix && suffix:
		return name == search
	case prefix:
		return strings.HasPrefix(name, search)
	case suffix:
		return strings.HasSuffix(name, search)
	}
	return strings.Contains(name, search)
}

// GET /projects/:id/repository/branches: by name (sort=name_asc, the
// default; name_desc, updated_asc, updated_desc), search, paginated.
func listBranches(c *call) error {
	k, err := c.codeProject()
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
	sort, _, err := c.params.str("sort")
	if err != nil {
		return err
	}
	all, err := k.repo.Refs(c.ctx, gitrepo.Branches)
	if err != nil {
		return err
	}
	refs := slices.DeleteFunc(all, func(r gitrepo.Ref) bool { return !matchSearch(r.Name, search) })
	switch sort {
	case "name_desc":
		slices.Reverse(refs)
	case "updated_asc", "updated_desc":
		if err := k.sortByCommitDate(refs, sort == "updated_desc"); err != nil {
			return err
		}
	}
	out, err := k.branches(pageOf(refs, pg))
	if err != nil {
		return err
	}
	return writeList(c, pg, len(refs), out)
}

// sortByCommitDate orders branches by their tips' committer dates.
func (k *code) sortByCommitDate(refs []gitrepo.Ref, desc bool) error {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.Target
	}
	commits, err := k.repo.Commits(k.c.ctx, ids)
	if err != nil {
		return err
	}
	unix := func(r gitrepo.Ref) int64 {
		if c := commits[r.Target]; c != nil {
			return c.Committer.When.Unix()
		}
		return 0
	}
	slices.SortStableFunc(refs, func(a, b gitrepo.Ref) int {
		if desc {
			return cmp.Compare(unix(b), unix(a))
		}
		return cmp.Compare(unix(a), unix(b))
	})
	return nil
}

// GET /projects/:id/repository/branches/:branch (the name URL-encoded
// when it has slashes); HEAD answers 204 or 404 without a body, as
// GitLab.
func getBranch(c *call) error {
	k, err := c.codeProject()
	if err != nil {
		return err
	}
	ref, err := k.repo.FindRef(c.ctx, gitrepo.Branches, c.vars["branch"])
	if errors.Is(err, gitrepo.ErrNotFound) {
		return notFound("Branch")
	}
	if err != nil {
		return err
	}
	if c.r.Method == http.MethodHead {
		writeJSON(c.w, http.StatusNoContent, nil)
		return nil
	}
	out, err := k.branches([]gitrepo.Ref{*ref})
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, out[0])
	return nil
}

// GET /projects/:id/repository/tags: order_by updated (the default: the
// tagged commit's date), name or version; sort desc (default) or asc;
// search; paginated.
func listTags(c *call) error {
	k, err := c.codeProject()
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
	orderBy, _, err := c.params.str("order_by")
	if err != nil {
		return err
	}
	if orderBy == "" {
		orderBy = "updated"
	}
	if orderBy != "updated" && orderBy != "name" && orderBy != "version" {
		return invalidValue("order_by")
	}
	sort, _, err := c.params.str("sort")
	if err != nil {
		return err
	}
	if sort == "" {
		sort = "desc"
	}
	if sort != "asc" && sort != "desc" {
		return invalidValue("sort")
	}
	all, err := k.repo.Refs(c.ctx, gitrepo.Tags)
	if err != nil {
		return err
	}
	refs := slices.DeleteFunc(all, func(r gitrepo.Ref) bool { return !matchSearch(r.Name, search) })
	var tags []gitrepo.Tag
	switch orderBy {
	case "updated":
		// The dates are in the commits: read them all, then cut the page.
		if tags, err = k.repo.TagsOf(c.ctx, refs); err != nil {
			return err
		}
		slices.SortStableFunc(tags, func(a, b gitrepo.Tag) int { return cmp.Compare(tagDate(&a), tagDate(&b)) })
		if sort == "desc" {
			slices.Reverse(tags)
		}
		tags = pageOf(tags, pg)
	default:
		if orderBy == "version" {
			slices.SortStableFunc(refs, func(a, b gitrepo.Ref) int { return compareVersions(a.Name, b.Name) })
		}
		if sort == "desc" {
			slices.Reverse(refs)
		}
		if tags, err = k.repo.TagsOf(c.ctx, pageOf(refs, pg)); err != nil {
			return err
		}
	}
	out := make([]Tag, len(tags))
	for i := range tags {
		out[i] = TagJSON(&tags[i], k.p, c.links())
	}
	return writeList(c, pg, len(refs), out)
}

func tagDate(t *gitrepo.Tag) int64 {
	if t.Commit == nil {
		return 0
	}
	return t.Commit.Committer.When.Unix()
}

// compareVersions orders names as versions: runs of digits by their
// value ("v1.10" after "v1.9"), the rest as text.
func compareVersions(a, b string) int {
	for a != "" && b != "" {
		da, db := digitRun(a), digitRun(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if c := cmp.Compare(len(na), len(nb)); c != 0 {
				return c
			}
			if c := strings.Compare(na, nb); c != 0 {
				return c
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return cmp.Compare(a[0], b[0])
		}
		a, b = a[1:], b[1:]
	}
	return cmp.Compare(len(a), len(b))
}

func digitRun(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// GET /projects/:id/repository/tags/:tag_name
func getTag(c *call) error {
	k, err := c.codeProject()
	if err != nil {
		return err
	}
	tag, err := k.findTag(c.ctx, c.vars["tag_name"])
	if err != nil {
		return err
	}
	writeJSON(c.w, http.StatusOK, TagJSON(tag, k.p, c.links()))
	return nil
}

// findTag reads one tag; 404 Tag Not Found when there is none.
func (k *code) findTag(ctx context.Context, name string) (*gitrepo.Tag, error) {
	ref, err := k.repo.FindRef(ctx, gitrepo.Tags, name)
	if errors.Is(err, gitrepo.ErrNotFound) {
		return nil, notFound("Tag")
	}
	if err != nil {
		return nil, err
	}
	tags, err := k.repo.TagsOf(ctx, []gitrepo.Ref{*ref})
	if err != nil {
		return nil, err
	}
	return &tags[0], nil
}

// GET /projects/:id/repository/commits/:sha (a commit id, branch or tag):
// GitLab's CommitDetail, with stats unless stats=false.
func getCommit(c *call) error {
	k, err := c.codeProject()
	if err != nil {
		return err
	}
	withStats := true
	if v, ok, err := c.params.boolean("stats"); err != nil {
		return err
	} else if ok {
		withStats = v
	}
	commit, err := k.repo.Commit(c.ctx, c.vars["sha"])
	if errors.Is(err, gitrepo.ErrNotFound) {
		return notFound("Commit")
	}
	if err != nil {
		return err
	}
	out := CommitDetail{Commit: CommitJSON(commit, k.p, c.links()), ProjectID: k.p.ID}
	if withStats {
		add, del, err := k.repo.DiffStats(c.ctx, commit)
		if err != nil {
			return err
		}
		out.Stats = &CommitStats{Additions: add, Deletions: del, Total: add + del}
	}
	writeJSON(c.w, http.StatusOK, out)
	return nil
}
