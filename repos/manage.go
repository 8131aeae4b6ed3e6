package repos

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/store"
)

// This file holds what an operator does to what already exists: list
// groups, change a project, list and remove members, delete projects,
// groups and users with their repositories (docs/repositories.md). The
// API and the CLI both call these, so both doors apply the same rules.

// ConflictError is a refusal because of what exists (a user who still
// owns projects, a group's last owner): the API answers 409.
type ConflictError struct {
	Reason ConflictReason
	Msg    string
}

// ConflictReason says which rule refused, so a door can tell what would
// lift it (a CLI flag, an API parameter).
type ConflictReason int

// The refusals of this file.
const (
	// OwnsProjects: a user's namespace, or a group, still holds projects
	// or subgroups (DeleteUserOptions.WithProjects, DeleteGroup's
	// withProjects).
	OwnsProjects ConflictReason = iota + 1
	// SoleGroupOwner: the user is a group's only owner
	// (DeleteUserOptions.HardDelete).
	SoleGroupOwner
	// LastOwner: removing the membership would leave a group ownerless.
	LastOwner
	// Changed: the group's projects changed while it was being deleted.
	Changed
)

func (e *ConflictError) Error() string { return e.Msg }

// Groups lists every group, ordered by full path.
func (s *Service) Groups(ctx context.Context) ([]Namespace, error) {
	rows, err := s.db.Groups(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Namespace, len(rows))
	for i := range rows {
		out[i] = *namespaceFrom(&rows[i])
	}
	return out, nil
}

// GroupFullName is a group's name after its ancestors' names, as GitLab
// writes it: "Platform / Tools".
func (s *Service) GroupFullName(ctx context.Context, g *Namespace) (string, error) {
	var names []string
	for _, id := range g.ancestry() {
		if id == g.ID {
			names = append(names, g.Name)
			continue
		}
		a, err := s.db.NamespaceByID(ctx, id)
		if err != nil {
			return "", err
		}
		names = append(names, a.Name)
	}
	return strings.Join(names, " / "), nil
}

// ProjectChanges are the fields UpdateProject may change; nil leaves one
// alone.
type ProjectChanges struct {
	Name        *string
	Path        *string
	Description *string
	Visibility  *string
	// DefaultBranch must be a branch of the repository, unless it has none
	// yet; the repository's HEAD follows it.
	DefaultBranch *string
}

// UpdateProject renames a project (its path and name, within its
// namespace) or changes its description, visibility or default branch. A
// rename touches only the database: the repository on disk is found by
// id. A project is never more visible than its group or any group above
// it.
func (s *Service) UpdateProject(ctx context.Context, id int64, c ProjectChanges) (*Project, error) {
	if c.Path != nil {
		if err := ValidateSegment(*c.Path); err != nil {
			return nil, inputErr("path", err)
		}
	}
	if c.Name != nil && (*c.Name == "" || len(*c.Name) > 255) {
		return nil, &InputError{Field: "name", Msg: "name must be 1 to 255 characters"}
	}
	if c.Description != nil && len(*c.Description) > 2000 {
		return nil, &InputError{Field: "description", Msg: "description is too long (maximum is 2000 characters)"}
	}
	if c.Visibility != nil && !access.ValidVisibility(*c.Visibility) {
		return nil, &InputError{Field: "visibility", Msg: fmt.Sprintf("visibility %q must be private, internal or public", *c.Visibility)}
	}
	if c.DefaultBranch != nil {
		if err := s.checkDefaultBranch(ctx, id, *c.DefaultBranch); err != nil {
			return nil, err
		}
	}
	var out *store.Project
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		p, err := tx.ProjectByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return access.ErrNotFound
		}
		newHead := c.DefaultBranch != nil && *c.DefaultBranch != p.DefaultBranch
		if newHead {
			p.DefaultBranch = *c.DefaultBranch
		}
		if err != nil {
			return err
		}
		if c.Visibility != nil {
			if err := checkProjectVisibility(ctx, tx, &p.Namespace, *c.Visibility); err != nil {
				return err
			}
			p.Visibility = *c.Visibility
		}
		if c.Path != nil {
			p.Path = *c.Path
		}
		if c.Name != nil {
			p.Name = *c.Name
		}
		if c.Description != nil {
			p.Description = *c.Description
		}
		if err := tx.UpdateProject(ctx, p); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &InputError{Field: "path", Msg: fmt.Sprintf("project %s already exists", p.FullPath())}
			}
			return err
		}
		// HEAD moves last: if it cannot, the row is rolled back with it.
		if newHead {
			if err := s.setHead(ctx, p.ID, p.DefaultBranch); err != nil {
				return err
			}
		}
		out = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	return projectFrom(out), nil
}

// MembersOf lists the members of a project or a group. A project in a
// user's namespace lists that user first, as its owner (GitLab makes the
// creator of a personal project its owner), then its direct members.
func (s *Service) MembersOf(ctx context.Context, t MemberTarget) ([]Member, error) {
	if t.Group != nil {
		rows, err := s.db.Members(ctx, store.SourceNamespace, t.Group.ID)
		if err != nil {
			return nil, err
		}
		return membersFrom(rows), nil
	}
	p := t.Project
	direct, err := s.Members(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	if p.Namespace.Kind != NamespaceUser || p.Namespace.OwnerID == nil {
		return direct, nil
	}
	owner := *p.Namespace.OwnerID
	out := []Member{{UserID: owner, AccessLevel: access.Owner, CreatedAt: p.CreatedAt}}
	for _, m := range direct {
		if m.UserID != owner {
			out = append(out, m)
		}
	}
	return out, nil
}

// RemoveMember removes a direct membership of a project or a group
// (access.ErrNotFound when there is none). A group keeps at least one
// owner, as GitLab requires.
func (s *Service) RemoveMember(ctx context.Context, t MemberTarget, userID int64) error {
	source, id := store.SourceProject, int64(0)
	if t.Group != nil {
		source, id = store.SourceNamespace, t.Group.ID
	} else {
		id = t.Project.ID
	}
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		rows, err := tx.Members(ctx, source, id)
		if err != nil {
			return err
		}
		owners, found := 0, false
		var level access.AccessLevel
		for _, m := range rows {
			if access.AccessLevel(m.AccessLevel) >= access.Owner {
				owners++
			}
			if m.UserID == userID {
				found, level = true, access.AccessLevel(m.AccessLevel)
			}
		}
		if !found {
			return access.ErrNotFound
		}
		if t.Group != nil && level >= access.Owner && owners == 1 {
			return &ConflictError{Reason: LastOwner, Msg: fmt.Sprintf("cannot remove the last owner of group %s: add another owner first", t.Group.FullPath)}
		}
		return tx.DeleteMember(ctx, source, id, userID)
	})
	if errors.Is(err, store.ErrNotFound) {
		return access.ErrNotFound
	}
	return err
}

// removeDirs deletes repositories whose rows are gone. Each was renamed
// aside first (setAside), so a repository is never reachable half
// deleted.
func removeDirs(dirs []string) error {
	var errs []error
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// setAside renames the repositories of these projects out of the way
// and returns a function that puts them back (when deleting the rows
// fails) and the names they now have. When one cannot be moved (the
// storage is unreadable) it puts back those it moved and fails: deleting
// the rows would leave their repositories on disk, belonging to nobody.
func (s *Service) setAside(ids []int64) (restore func(), moved []string, err error) {
	type move struct{ from, to string }
	var moves []move
	restore = func() {
		for _, m := range moves {
			_ = os.Rename(m.to, m.from)
		}
	}
	stamp := s.now().UnixNano()
	for _, id := range ids {
		dir := s.DiskPath(id)
		trash := dir + fmt.Sprintf(".deleted-%d", stamp)
		ok, err := s.moveAside(dir, trash)
		if err != nil {
			restore()
			return nil, nil, err
		}
		if ok {
			moves = append(moves, move{dir, trash})
			moved = append(moved, trash)
		}
	}
	return restore, moved, nil
}

// moveAside renames a repository to trash and reports whether there was
// one. A repository missing from a readable storage is nothing to move;
// any other failure is a StorageError.
func (s *Service) moveAside(dir, trash string) (moved bool, err error) {
	err = os.Rename(dir, trash)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		if _, rerr := os.ReadDir(s.root); rerr != nil {
			return false, &StorageError{Dir: s.root, Err: rerr}
		}
		return false, nil
	}
	return false, &StorageError{Dir: dir, Err: err}
}

// DeleteGroup deletes a group. A group that holds projects or subgroups
// is refused unless withProjects, which deletes everything inside it,
// repositories on disk included. It returns the paths of the projects it
// deleted.
func (s *Service) DeleteGroup(ctx context.Context, fullPath string, withProjects bool) ([]string, error) {
	ns, err := s.db.NamespaceByPath(ctx, strings.Trim(fullPath, "/"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("group %q does not exist: %w", fullPath, ErrNamespaceNotFound)
	}
	if err != nil {
		return nil, err
	}
	if ns.Kind != store.NamespaceGroup {
		return nil, &InputError{Field: "path", Msg: fmt.Sprintf("%q is a user's namespace, not a group: delete the user instead", fullPath)}
	}
	return s.deleteNamespace(ctx, ns, withProjects)
}

func (s *Service) deleteNamespace(ctx context.Context, ns *store.Namespace, withProjects bool) ([]string, error) {
	ids, err := s.db.ProjectIDsWithin(ctx, ns)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(ids))
	for _, id := range ids {
		p, err := s.db.ProjectByID(ctx, id)
		if err != nil {
			return nil, err
		}
		paths = append(paths, p.FullPath())
	}
	if !withProjects {
		if len(ids) > 0 {
			return nil, &ConflictError{Reason: OwnsProjects, Msg: fmt.Sprintf("group %s holds %s: delete them first, or delete them with it", ns.FullPath, countNoun(len(ids), "project"))}
		}
		groups, err := s.db.Groups(ctx)
		if err != nil {
			return nil, err
		}
		for _, g := range groups {
			if g.ID != ns.ID && strings.HasPrefix(g.TraversalIDs, ns.TraversalIDs) {
				return nil, &ConflictError{Reason: OwnsProjects, Msg: fmt.Sprintf("group %s holds the subgroup %s: delete it first, or delete it with it", ns.FullPath, g.FullPath)}
			}
		}
	}
	restore, moved, err := s.setAside(ids)
	if err != nil {
		return nil, err
	}
	if err := s.db.DeleteNamespace(ctx, ns, ids); err != nil {
		restore()
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("group %q does not exist: %w", ns.FullPath, ErrNamespaceNotFound)
		}
		if errors.Is(err, store.ErrChanged) {
			return nil, &ConflictError{Reason: Changed, Msg: fmt.Sprintf("a project was created in or moved into group %s while it was being deleted: nothing was deleted, try again", ns.FullPath)}
		}
		return nil, err
	}
	return paths, removeDirs(moved)
}

// countNoun writes "1 project", "3 projects".
func countNoun(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// DeleteUserOptions say what may go with a user.
type DeleteUserOptions struct {
	// WithProjects deletes the projects in the user's namespace too;
	// without it a user who owns projects is refused.
	WithProjects bool
	// HardDelete also deletes the groups the user is the only owner of,
	// with everything in them (GitLab's hard_delete); without it such a
	// user is refused.
	HardDelete bool
}

// DeletedUser is what went with a deleted user.
type DeletedUser struct {
	Projects []string
	Groups   []string
}

// DeleteUser deletes a user with their namespace, tokens, keys and
// memberships; refused while they own projects (unless WithProjects) or
// are the only owner of a group (unless HardDelete). Repositories go from
// disk with their projects.
func (s *Service) DeleteUser(ctx context.Context, userID int64, o DeleteUserOptions) (*DeletedUser, error) {
	u, err := s.db.UserByID(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("user %d: %w", userID, access.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	out := &DeletedUser{}
	groups, err := s.db.SoleOwnedGroups(ctx, u.ID, int(access.Owner))
	if err != nil {
		return nil, err
	}
	if len(groups) > 0 && !o.HardDelete {
		return nil, &ConflictError{Reason: SoleGroupOwner, Msg: fmt.Sprintf("user %s is the only owner of group %s: give it another owner, or delete the groups with the user", u.Username, groups[0].FullPath)}
	}
	ns, err := s.db.NamespaceByPath(ctx, u.Username)
	var ids []int64
	switch {
	case errors.Is(err, store.ErrNotFound):
		ns = nil
	case err != nil:
		return nil, err
	default:
		if ids, err = s.db.ProjectIDsWithin(ctx, ns); err != nil {
			return nil, err
		}
	}
	if len(ids) > 0 && !o.WithProjects {
		return nil, &ConflictError{Reason: OwnsProjects, Msg: fmt.Sprintf("user %s owns %s: delete them first, or delete them with the user", u.Username, countNoun(len(ids), "project"))}
	}
	for i := range groups {
		// A group already deleted with its parent is fine.
		paths, err := s.deleteNamespace(ctx, &groups[i], true)
		if err != nil && !errors.Is(err, ErrNamespaceNotFound) {
			return nil, err
		}
		out.Groups = append(out.Groups, groups[i].FullPath)
		out.Projects = append(out.Projects, paths...)
	}
	for _, id := range ids {
		p, err := s.db.ProjectByID(ctx, id)
		if err != nil {
			return nil, err
		}
		out.Projects = append(out.Projects, p.FullPath())
	}
	restore, moved, err := s.setAside(ids)
	if err != nil {
		return nil, err
	}
	err = s.db.InTx(ctx, func(tx *store.DB) error {
		if err := tx.DeleteProjectMembers(ctx, ids); err != nil {
			return err
		}
		return tx.DeleteUser(ctx, u.ID)
	})
	if err != nil {
		restore()
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("user %d: %w", userID, access.ErrNotFound)
		}
		return nil, err
	}
	return out, removeDirs(moved)
}
