package repos

import (
	"context"
	"fmt"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/store"
)

// AccessLevel is the principal's level on a project: Admin for admins,
// Owner in their own namespace, else the highest membership of the
// project and its ancestor groups.
func (s *Service) AccessLevel(ctx context.Context, p *auth.Principal, proj *store.Project) (access.AccessLevel, error) {
	if p.IsAnonymous() {
		return access.NoAccess, nil
	}
	if p.User.Admin {
		return access.Admin, nil
	}
	if proj.Namespace.Kind == store.NamespaceUser && proj.Namespace.OwnerID != nil && *proj.Namespace.OwnerID == p.User.ID {
		return access.Owner, nil
	}
	l, err := s.db.MaxAccessLevel(ctx, p.User.ID, proj.ID, proj.Namespace.Ancestry())
	if err != nil {
		return access.NoAccess, err
	}
	return access.AccessLevel(l), nil
}

// Authorize decides whether p may perform a on proj with the one rule,
// access.Decide. It returns nil, access.ErrUnauthenticated (401),
// access.ErrNotFound (404), an *access.ForbiddenError (403), or an
// infrastructure error (503).
func (s *Service) Authorize(ctx context.Context, p *auth.Principal, proj *store.Project, a access.Action) error {
	level, err := s.AccessLevel(ctx, p, proj)
	if err != nil {
		return fmt.Errorf("authorize: %w", err)
	}
	return access.Decide(request(p, proj.Visibility, level, a))
}

// request states what access.Decide needs to know about p.
func request(p *auth.Principal, visibility string, level access.AccessLevel, a access.Action) access.Request {
	r := access.Request{Anonymous: p.IsAnonymous(), Level: level, Visibility: visibility, Action: a}
	if !r.Anonymous {
		switch auth.GitCeiling(p.Scopes) {
		case auth.GitPush:
			r.Scope = access.GitPush
		case auth.GitFetch:
			r.Scope = access.GitFetch
		}
	}
	return r
}
