package repos

import (
	"context"
	"errors"
	"fmt"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

// ErrNamespaceNotFound is returned for a namespace that does not exist.
var ErrNamespaceNotFound = errors.New("namespace not found")

// NamespaceByID loads a namespace (a user's or a group) by id.
func (s *Service) NamespaceByID(ctx context.Context, id int64) (*Namespace, error) {
	ns, err := s.db.NamespaceByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("namespace %d: %w", id, ErrNamespaceNotFound)
	}
	return namespaceFrom(ns), err
}

// NamespaceByPath loads a namespace by its full path.
func (s *Service) NamespaceByPath(ctx context.Context, fullPath string) (*Namespace, error) {
	ns, err := s.db.NamespaceByPath(ctx, fullPath)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("namespace %q: %w", fullPath, ErrNamespaceNotFound)
	}
	return namespaceFrom(ns), err
}

// CanCreateProjectIn decides whether p may create a project in ns: a
// user's own namespace (or any, for an admin), or a group where p is at
// least a developer, directly or through an ancestor group (GitLab's
// default project creation level).
func (s *Service) CanCreateProjectIn(ctx context.Context, p *auth.Principal, ns *Namespace) (bool, error) {
	if p.IsAnonymous() {
		return false, nil
	}
	if p.User.Admin {
		return true, nil
	}
	if ns.Kind == NamespaceUser {
		return ns.OwnerID != nil && *ns.OwnerID == p.User.ID, nil
	}
	// Project id 0 matches no project membership: only group
	// memberships of ns and its ancestors count.
	l, err := s.db.MaxAccessLevel(ctx, p.User.ID, 0, ns.ancestry())
	if err != nil {
		return false, fmt.Errorf("group access: %w", err)
	}
	return access.AccessLevel(l) >= access.Developer, nil
}

// CanSeeNamespace decides whether p may know that ns exists: a user's
// namespace (usernames are no secret), a public group, an internal one
// for anyone signed in, and a private one for its members, members of a
// group above it, and members of anything inside it (as GitLab's
// read_group). Everyone else must get the answer a missing namespace
// gets, so that probing reveals no private group.
func (s *Service) CanSeeNamespace(ctx context.Context, p *auth.Principal, ns *Namespace) (bool, error) {
	if ns.Kind == NamespaceUser || ns.Visibility == access.Public {
		return true, nil
	}
	if p.IsAnonymous() {
		return false, nil
	}
	if p.User.Admin || ns.Visibility == access.Internal {
		return true, nil
	}
	l, err := s.db.MaxAccessLevel(ctx, p.User.ID, 0, ns.ancestry())
	if err != nil {
		return false, fmt.Errorf("group access: %w", err)
	}
	if access.AccessLevel(l) >= access.Guest {
		return true, nil
	}
	return s.db.HasMembershipWithin(ctx, p.User.ID, ns.row())
}

// CreatableNamespaces lists where p may create a project: their own
// namespace first, then the groups CanCreateProjectIn allows, by path
// (every group for an admin). The New project form offers these.
func (s *Service) CreatableNamespaces(ctx context.Context, p *auth.Principal) ([]Namespace, error) {
	if p.IsAnonymous() {
		return nil, nil
	}
	var out []Namespace
	own, err := s.db.NamespaceByPath(ctx, p.User.Username)
	switch {
	case err == nil:
		out = append(out, *namespaceFrom(own))
	case !errors.Is(err, store.ErrNotFound):
		return nil, err
	}
	groups, err := s.db.GroupsWithMembership(ctx, p.User.ID, p.User.Admin)
	if err != nil {
		return nil, err
	}
	for i := range groups {
		ns := namespaceFrom(&groups[i])
		ok, err := s.CanCreateProjectIn(ctx, p, ns)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, *ns)
		}
	}
	return out, nil
}
