package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/repos"
)

// The CLI's --json prints the REST API's own objects
// (docs/tokens.md#command-line), from the api package's entity functions,
// so the two can never drift apart. Where the API shows an admin more
// than others (a user's is_admin, locked), the CLI shows what an admin
// sees: it works on the database directly, as an administrator does.

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// tokenJSON includes the secret only when one is given (creation and
// rotation).
func tokenJSON(t *auth.Token, now time.Time, secret string) any {
	if secret != "" {
		return api.CreatedTokenJSON(&auth.CreatedToken{Token: t, Secret: secret}, now)
	}
	return api.TokenJSON(t, now)
}

func (a *app) links() api.Links { return a.cfg.Links() }

func (a *app) userJSON(s *services, u *auth.User) any {
	return api.AdminUserJSON(u, a.links().BaseURL, s.auth.Locked(u))
}

func keyJSON(k *auth.SSHKey) any { return api.KeyJSON(k) }

func settingsJSON(s auth.Settings) any { return api.SettingsJSON(s) }

// projectJSON is GET /projects/:id's object, without the caller's own
// permissions (an operator has no level on a project).
func (a *app) projectJSON(ctx context.Context, s *services, p *repos.Project) (any, error) {
	owner, err := s.owner(ctx, p)
	if err != nil {
		return nil, err
	}
	return api.ProjectJSON(p, a.links(), owner), nil
}

func (a *app) memberJSON(u *auth.User, level access.AccessLevel, created time.Time) any {
	return api.MemberJSON(u, level, created, a.links().BaseURL)
}

// owner is the user whose namespace holds p, or nil for a group's.
func (s *services) owner(ctx context.Context, p *repos.Project) (*auth.User, error) {
	if p.Namespace.Kind != repos.NamespaceUser || p.Namespace.OwnerID == nil {
		return nil, nil
	}
	if u, ok := s.users[*p.Namespace.OwnerID]; ok {
		return u, nil
	}
	u, err := s.userByID(ctx, *p.Namespace.OwnerID)
	if errors.Is(err, auth.ErrNotFound) {
		return nil, nil
	}
	return u, err
}

// jsonFlag adds --json, which prints what the REST API would return.
func jsonFlag(c *cobra.Command, p *bool) {
	c.Flags().BoolVar(p, "json", false, "print the REST API's JSON object instead of text")
}
