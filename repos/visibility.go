package repos

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/store"
)

// visibilityLevel orders visibilities as GitLab's levels do.
func visibilityLevel(v string) int {
	switch v {
	case access.Public:
		return 20
	case access.Internal:
		return 10
	}
	return 0
}

// ceiling is the most visible a project or subgroup inside ns may be:
// the visibility of the most restrictive of ns and its ancestors (a
// user's namespace is public). It locks the rows it reads, root first, so
// that a concurrent change of a group's visibility waits for the decision
// and then sees what it created (docs/repositories.md).
func ceiling(ctx context.Context, tx *store.DB, ns *store.Namespace) (*store.Namespace, error) {
	limit := ns
	for _, id := range ns.Ancestry() {
		if err := tx.LockNamespace(ctx, id); err != nil {
			return nil, err
		}
		a, err := tx.NamespaceByID(ctx, id)
		if err != nil {
			return nil, err
		}
		if visibilityLevel(a.Visibility) < visibilityLevel(limit.Visibility) {
			limit = a
		}
	}
	return limit, nil
}

// checkProjectVisibility refuses a project more visible than its group
// or any group above it, in GitLab's words.
func checkProjectVisibility(ctx context.Context, tx *store.DB, ns *store.Namespace, visibility string) error {
	limit, err := ceiling(ctx, tx, ns)
	if err != nil {
		return err
	}
	if visibilityLevel(visibility) > visibilityLevel(limit.Visibility) {
		return &InputError{Field: "visibility_level", Msg: fmt.Sprintf("%s is not allowed in a %s group.", visibility, limit.Visibility)}
	}
	return nil
}

// checkSubgroupVisibility refuses a group more visible than its parent
// group or any group above it.
func checkSubgroupVisibility(ctx context.Context, tx *store.DB, parent *store.Namespace, visibility string) error {
	limit, err := ceiling(ctx, tx, parent)
	if err != nil {
		return err
	}
	if visibilityLevel(visibility) > visibilityLevel(limit.Visibility) {
		return &InputError{Field: "visibility_level", Msg: fmt.Sprintf("%s is not allowed since the parent group has a %s visibility.", visibility, limit.Visibility)}
	}
	return nil
}

// SetGroupVisibility changes a group's visibility. A group can be no more
// visible than the groups above it, and no less visible than anything
// inside it: making a group private while it holds a public project would
// leave the project public and the group's path in its URL (GitLab's
// rules and words).
func (s *Service) SetGroupVisibility(ctx context.Context, fullPath, visibility string) (*Namespace, error) {
	if !access.ValidVisibility(visibility) {
		return nil, &InputError{Field: "visibility", Msg: fmt.Sprintf("visibility %q must be private, internal or public", visibility)}
	}
	var out *Namespace
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		ns, err := tx.NamespaceByPath(ctx, strings.Trim(fullPath, "/"))
		if errors.Is(err, store.ErrNotFound) {
			return &InputError{Field: "path", Msg: fmt.Sprintf("group %q does not exist", fullPath)}
		}
		if err != nil {
			return err
		}
		if ns.Kind != store.NamespaceGroup {
			return &InputError{Field: "path", Msg: fmt.Sprintf("%q is a user, not a group", fullPath)}
		}
		if err := setGroupVisibility(ctx, tx, ns, visibility); err != nil {
			return err
		}
		out = namespaceFrom(ns)
		return nil
	})
	return out, err
}

// setGroupVisibility is SetGroupVisibility inside the caller's
// transaction; it sets ns.Visibility when allowed.
func setGroupVisibility(ctx context.Context, tx *store.DB, ns *store.Namespace, visibility string) error {
	if ns.ParentID != nil {
		parent, err := tx.NamespaceByID(ctx, *ns.ParentID)
		if err != nil {
			return err
		}
		if err := checkSubgroupVisibility(ctx, tx, parent, visibility); err != nil {
			return err
		}
	}
	// Changing the row first holds it: a project or subgroup being
	// created inside waits for this transaction (ceiling locks the
	// same rows) and then sees the new visibility.
	if err := tx.SetNamespaceVisibility(ctx, ns.ID, visibility); err != nil {
		return err
	}
	projects, groups, err := tx.VisibilitiesWithin(ctx, ns)
	if err != nil {
		return err
	}
	for _, v := range projects {
		if visibilityLevel(v) > visibilityLevel(visibility) {
			return &InputError{Field: "visibility_level", Msg: fmt.Sprintf("%s is not allowed since this group contains projects with higher visibility.", visibility)}
		}
	}
	for _, v := range groups {
		if visibilityLevel(v) > visibilityLevel(visibility) {
			return &InputError{Field: "visibility_level", Msg: fmt.Sprintf("%s is not allowed since there are sub-groups with higher visibility.", visibility)}
		}
	}
	ns.Visibility = visibility
	return nil
}
