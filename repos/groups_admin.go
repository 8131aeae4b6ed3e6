package repos

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/store"
)

// This file holds what the API changes on groups and memberships beyond
// what the CLI does (docs/api.md): a group's name, path and description,
// a member's level, the members a project inherits, and a project's
// default branch. The rules are the same ones the CLI's commands apply.

// MaxGroupDescription is GitLab's limit on a group's description.
const MaxGroupDescription = 500

// GroupChanges are the fields UpdateGroup may change; nil leaves one
// alone.
type GroupChanges struct {
	Name        *string
	Path        *string
	Description *string
	Visibility  *string
}

// UpdateGroup changes a group in one transaction. A new path renames the
// group and moves everything below it to the new full path (projects are
// stored by id, so no repository moves on disk); the visibility follows
// SetGroupVisibility's rules.
func (s *Service) UpdateGroup(ctx context.Context, id int64, c GroupChanges) (*Namespace, error) {
	if c.Name != nil && (strings.TrimSpace(*c.Name) == "" || len(*c.Name) > 255) {
		return nil, &InputError{Field: "name", Msg: "name must be 1 to 255 characters"}
	}
	if c.Description != nil && len(*c.Description) > MaxGroupDescription {
		return nil, &InputError{Field: "description", Msg: fmt.Sprintf("is too long (maximum is %d characters)", MaxGroupDescription)}
	}
	if c.Visibility != nil && !access.ValidVisibility(*c.Visibility) {
		return nil, &InputError{Field: "visibility", Msg: fmt.Sprintf("visibility %q must be private, internal or public", *c.Visibility)}
	}
	var out *store.Namespace
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		ns, err := tx.NamespaceByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("group %d: %w", id, ErrNamespaceNotFound)
		}
		if err != nil {
			return err
		}
		if ns.Kind != store.NamespaceGroup {
			return &InputError{Field: "path", Msg: fmt.Sprintf("%q is a user, not a group", ns.FullPath)}
		}
		if c.Visibility != nil && *c.Visibility != ns.Visibility {
			if err := setGroupVisibility(ctx, tx, ns, *c.Visibility); err != nil {
				return err
			}
		}
		if c.Name != nil || c.Description != nil {
			name, desc := ns.Name, ns.Description
			if c.Name != nil {
				name = *c.Name
			}
			if c.Description != nil {
				desc = *c.Description
			}
			if err := tx.SetGroupDetails(ctx, ns.ID, name, desc); err != nil {
				return err
			}
		}
		if c.Path != nil && *c.Path != ns.Path {
			if err := validateGroupSegment(*c.Path, ns.ParentID == nil); err != nil {
				return err
			}
			if err := tx.RenameNamespace(ctx, ns, *c.Path); err != nil {
				if errors.Is(err, store.ErrConflict) {
					return &InputError{Field: "path", Msg: "has already been taken"}
				}
				return err
			}
		}
		out, err = tx.NamespaceByID(ctx, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return namespaceFrom(out), nil
}

// validateGroupSegment is CreateGroup's path rule for one segment: a
// top-level group shares the namespace of usernames, so their rule too.
func validateGroupSegment(path string, topLevel bool) error {
	if err := ValidateSegment(path); err != nil {
		return inputErr("path", err)
	}
	if topLevel {
		if err := auth.ValidateUsername(path); err != nil {
			return &InputError{Field: "path", Msg: strings.Replace(err.Error(), "username", "group path", 1)}
		}
	}
	return nil
}

// Subgroups lists the groups directly below g, by full path.
func (s *Service) Subgroups(ctx context.Context, g *Namespace) ([]Namespace, error) {
	all, err := s.Groups(ctx)
	if err != nil {
		return nil, err
	}
	var out []Namespace
	for _, n := range all {
		if n.ParentID != nil && *n.ParentID == g.ID {
			out = append(out, n)
		}
	}
	return out, nil
}

// GroupsOfMember lists, by full path, the groups where userID holds a
// membership of the group itself.
func (s *Service) GroupsOfMember(ctx context.Context, userID int64) ([]Namespace, error) {
	rows, err := s.db.GroupsWithDirectMembership(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]Namespace, len(rows))
	for i := range rows {
		out[i] = *namespaceFrom(&rows[i])
	}
	return out, nil
}

// GroupAccessLevel is p's level on group g: Admin for admins, else the
// highest membership of g and the groups above it.
func (s *Service) GroupAccessLevel(ctx context.Context, p *auth.Principal, g *Namespace) (access.AccessLevel, error) {
	if p.IsAnonymous() {
		return access.NoAccess, nil
	}
	if p.User.Admin {
		return access.Admin, nil
	}
	l, err := s.db.MaxAccessLevel(ctx, p.User.ID, 0, g.ancestry())
	if err != nil {
		return access.NoAccess, fmt.Errorf("group access: %w", err)
	}
	return access.AccessLevel(l), nil
}

// MemberLevel is the level userID was given on g: through g or any
// group above it, or only on g itself when direct. An admin's rights do
// not count.
func (s *Service) MemberLevel(ctx context.Context, userID int64, g *Namespace, direct bool) (access.AccessLevel, error) {
	ids := g.ancestry()
	if direct {
		ids = []int64{g.ID}
	}
	l, err := s.db.MaxAccessLevel(ctx, userID, 0, ids)
	if err != nil {
		return access.NoAccess, fmt.Errorf("group access: %w", err)
	}
	return access.AccessLevel(l), nil
}

// UpdateMember changes the level of a direct member of a project or a
// group (access.ErrNotFound when there is none). A group keeps at least
// one owner, as RemoveMember's rule.
func (s *Service) UpdateMember(ctx context.Context, t MemberTarget, userID int64, level access.AccessLevel) error {
	if !level.IsMemberLevel() {
		return &InputError{Field: "access_level", Msg: fmt.Sprintf("access level %d is not valid: use 10, 20, 30, 40 or 50", level)}
	}
	source, id := store.SourceProject, int64(0)
	if t.Group != nil {
		source, id = store.SourceNamespace, t.Group.ID
	} else {
		id = t.Project.ID
	}
	return s.db.InTx(ctx, func(tx *store.DB) error {
		rows, err := tx.Members(ctx, source, id)
		if err != nil {
			return err
		}
		owners := 0
		var found *store.Member
		for i := range rows {
			if access.AccessLevel(rows[i].AccessLevel) >= access.Owner {
				owners++
			}
			if rows[i].UserID == userID {
				found = &rows[i]
			}
		}
		if found == nil {
			return access.ErrNotFound
		}
		if t.Group != nil && access.AccessLevel(found.AccessLevel) >= access.Owner && level < access.Owner && owners == 1 {
			return &ConflictError{Reason: LastOwner, Msg: fmt.Sprintf("cannot demote the last owner of group %s: add another owner first", t.Group.FullPath)}
		}
		found.AccessLevel = int(level)
		return tx.PutMember(ctx, found)
	})
}

// AllMembers lists everyone with a level on a project or a group: the
// direct members (and a personal project's owner), then the members of
// each group above it, nearest first, each user once with their highest
// level (GitLab's members/all).
func (s *Service) AllMembers(ctx context.Context, t MemberTarget) ([]Member, error) {
	direct, err := s.MembersOf(ctx, t)
	if err != nil {
		return nil, err
	}
	var ns *Namespace
	if t.Group != nil {
		ns = t.Group
	} else {
		ns = &t.Project.Namespace
	}
	ancestry := ns.ancestry()
	out := append([]Member(nil), direct...)
	index := map[int64]int{}
	for i, m := range out {
		index[m.UserID] = i
	}
	for i := len(ancestry) - 1; i >= 0; i-- {
		if t.Group != nil && ancestry[i] == t.Group.ID {
			continue
		}
		rows, err := s.db.Members(ctx, store.SourceNamespace, ancestry[i])
		if err != nil {
			return nil, err
		}
		for _, m := range membersFrom(rows) {
			if j, ok := index[m.UserID]; ok {
				if m.AccessLevel > out[j].AccessLevel {
					out[j].AccessLevel = m.AccessLevel
				}
				continue
			}
			index[m.UserID] = len(out)
			out = append(out, m)
		}
	}
	return out, nil
}

// checkDefaultBranch decides whether a project may make branch its
// default: a valid name that exists as a branch, or anything valid while
// the repository has no branch yet (the first push then lands there).
func (s *Service) checkDefaultBranch(ctx context.Context, projectID int64, branch string) error {
	if err := checkBranchName(ctx, branch); err != nil {
		return inputErr("default_branch", err)
	}
	var out bytes.Buffer
	dir := s.DiskPath(projectID)
	if err := runGit(ctx, gitproc.Git("for-each-ref", "--count=1", "--format=%(refname)", "refs/heads/").WithGitDir(dir).WithStdout(&out)); err != nil {
		return fmt.Errorf("branches of project %d: %w", projectID, err)
	}
	if strings.TrimSpace(out.String()) == "" {
		return nil
	}
	err := gitproc.Git("show-ref", "--verify", "--quiet").AddValues("refs/heads/" + branch).WithGitDir(dir).Run(ctx)
	if err != nil {
		return &InputError{Field: "default_branch", Msg: NoDefaultBranch}
	}
	return nil
}

// NoDefaultBranch words a default branch that is not a branch of a
// repository that has some, as GitLab does.
const NoDefaultBranch = "Could not set the default branch"

// setHead points a repository's HEAD at branch, which clones check out.
func (s *Service) setHead(ctx context.Context, projectID int64, branch string) error {
	return runGit(ctx, gitproc.Git("symbolic-ref", "HEAD").AddValues("refs/heads/"+branch).WithGitDir(s.DiskPath(projectID)))
}

// AllNamespaces lists every namespace, users' and groups', by id.
func (s *Service) AllNamespaces(ctx context.Context) ([]Namespace, error) {
	rows, err := s.db.AllNamespaces(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Namespace, len(rows))
	for i := range rows {
		out[i] = *namespaceFrom(&rows[i])
	}
	return out, nil
}
