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
func (s *Service) AccessLevel(ctx context.Context, p *auth.Principal, proj *Project) (access.AccessLevel, error) {
	if p.IsAnonymous() {
		return access.NoAccess, nil
	}
	if p.User.Admin {
		return access.Admin, nil
	}
	if proj.Namespace.Kind == NamespaceUser && proj.Namespace.OwnerID != nil && *proj.Namespace.OwnerID == p.User.ID {
		return access.Owner, nil
	}
	l, err := s.db.MaxAccessLevel(ctx, p.User.ID, proj.ID, proj.Namespace.ancestry())
	if err != nil {
		return access.NoAccess, err
	}
	return access.AccessLevel(l), nil
}

// Decision is an allowed request: the project, who asks, and their level
// on it. What follows the decision (the receive hook of a push) reuses it
// rather than asking the database again.
type Decision struct {
	Project   *Project
	Principal *auth.Principal
	Level     access.AccessLevel
}

// Authorize decides whether p may perform a on proj with the one rule,
// access.Decide (docs/permissions.md#decision). It returns the Decision
// when allowed; else access.ErrUnauthenticated (401), access.ErrNotFound
// (404), an *access.ForbiddenError (403), or an infrastructure error
// (503).
func (s *Service) Authorize(ctx context.Context, p *auth.Principal, proj *Project, a access.Action) (Decision, error) {
	level, err := s.AccessLevel(ctx, p, proj)
	if err != nil {
		return Decision{}, fmt.Errorf("authorize: %w", err)
	}
	if err := access.Decide(request(p, proj.Visibility, level, a)); err != nil {
		return Decision{}, err
	}
	return Decision{Project: proj, Principal: p, Level: level}, nil
}

// ErrUnavailable is a dependency of a decision (the database) that cannot
// answer now: the caller may retry, nothing was refused. Test with
// errors.Is.
var ErrUnavailable = store.ErrUnavailable

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
