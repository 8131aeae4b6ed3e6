package repos

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/store"
)

// This file is the protected-branch model (docs/permissions.md#protected-branches):
// the rules a project's maintainers manage through the API and the CLI,
// and which every push reads afresh from the database (no cache, so a
// change holds from the very next push on every replica).

// ProtectedBranch is one rule: a branch name or a pattern with *.
type ProtectedBranch struct {
	ID               int64
	ProjectID        int64
	Name             string
	PushAccessLevel  access.AccessLevel
	MergeAccessLevel access.AccessLevel
	AllowForcePush   bool
	CreatedAt        time.Time
}

// Rule is the rule as the push check applies it.
func (b *ProtectedBranch) Rule() access.ProtectedRule {
	return access.ProtectedRule{Name: b.Name, PushAccessLevel: b.PushAccessLevel, AllowForcePush: b.AllowForcePush}
}

// ErrProtectedBranchNotFound: the project has no rule of that name.
var ErrProtectedBranchNotFound = errors.New("protected branch not found")

// AlreadyProtected: a rule of the same name exists (ProtectBranch).
const AlreadyProtected ConflictReason = 100

// BranchProtectionChanges are the fields UpdateProtectedBranch sets; nil
// leaves a field as it is.
type BranchProtectionChanges struct {
	// Name renames the rule (GitLab's PATCH name).
	Name             *string
	PushAccessLevel  *access.AccessLevel
	MergeAccessLevel *access.AccessLevel
	AllowForcePush   *bool
}

func protectedBranchFrom(r *store.ProtectedBranch) ProtectedBranch {
	return ProtectedBranch{ID: r.ID, ProjectID: r.ProjectID, Name: r.Name, PushAccessLevel: access.AccessLevel(r.PushAccessLevel),
		MergeAccessLevel: access.AccessLevel(r.MergeAccessLevel), AllowForcePush: r.AllowForcePush, CreatedAt: r.CreatedAt}
}

// ListProtectedBranches lists a project's rules, oldest first.
func (s *Service) ListProtectedBranches(ctx context.Context, projectID int64) ([]ProtectedBranch, error) {
	rows, err := s.db.ProtectedBranches(ctx, projectID)
	if err != nil {
		return nil, err
	}
	out := make([]ProtectedBranch, len(rows))
	for i := range rows {
		out[i] = protectedBranchFrom(&rows[i])
	}
	return out, nil
}

// ProtectedBranch finds a rule by its exact name (a pattern by the
// pattern itself).
func (s *Service) ProtectedBranch(ctx context.Context, projectID int64, name string) (*ProtectedBranch, error) {
	r, err := s.db.ProtectedBranchByName(ctx, projectID, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%q: %w", name, ErrProtectedBranchNotFound)
	}
	if err != nil {
		return nil, err
	}
	b := protectedBranchFrom(r)
	return &b, nil
}

// ProtectBranch adds a rule. A name that is already protected is a
// *ConflictError worded as GitLab's 409.
func (s *Service) ProtectBranch(ctx context.Context, b ProtectedBranch) (*ProtectedBranch, error) {
	if err := checkProtectedName(ctx, b.Name); err != nil {
		return nil, err
	}
	for field, l := range map[string]access.AccessLevel{"push_access_level": b.PushAccessLevel, "merge_access_level": b.MergeAccessLevel} {
		if !access.ValidPushLevel(l) {
			return nil, &InputError{Field: field, Msg: fmt.Sprintf("%s %d is not valid: use 0 (no one), 30 (developers and maintainers), 40 (maintainers) or 60 (admins)", field, l)}
		}
	}
	row := &store.ProtectedBranch{ProjectID: b.ProjectID, Name: b.Name, PushAccessLevel: int(b.PushAccessLevel),
		MergeAccessLevel: int(b.MergeAccessLevel), AllowForcePush: b.AllowForcePush, CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if err := s.db.InsertProtectedBranch(ctx, row); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &ConflictError{Reason: AlreadyProtected, Msg: fmt.Sprintf("Protected branch '%s' already exists", b.Name)}
		}
		return nil, err
	}
	out := protectedBranchFrom(row)
	return &out, nil
}

// UpdateProtectedBranch changes a rule's levels or force-push flag.
func (s *Service) UpdateProtectedBranch(ctx context.Context, projectID int64, name string, ch BranchProtectionChanges) (*ProtectedBranch, error) {
	var out *ProtectedBranch
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		r, err := tx.ProtectedBranchByName(ctx, projectID, name)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%q: %w", name, ErrProtectedBranchNotFound)
		}
		if err != nil {
			return err
		}
		if ch.Name != nil && *ch.Name != r.Name {
			if err := checkProtectedName(ctx, *ch.Name); err != nil {
				return err
			}
			r.Name = *ch.Name
		}
		for field, l := range map[string]*access.AccessLevel{"push_access_level": ch.PushAccessLevel, "merge_access_level": ch.MergeAccessLevel} {
			if l != nil && !access.ValidPushLevel(*l) {
				return &InputError{Field: field, Msg: fmt.Sprintf("%s %d is not valid: use 0 (no one), 30 (developers and maintainers), 40 (maintainers) or 60 (admins)", field, *l)}
			}
		}
		if ch.PushAccessLevel != nil {
			r.PushAccessLevel = int(*ch.PushAccessLevel)
		}
		if ch.MergeAccessLevel != nil {
			r.MergeAccessLevel = int(*ch.MergeAccessLevel)
		}
		if ch.AllowForcePush != nil {
			r.AllowForcePush = *ch.AllowForcePush
		}
		if err := tx.UpdateProtectedBranch(ctx, r); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &ConflictError{Reason: AlreadyProtected, Msg: fmt.Sprintf("Protected branch '%s' already exists", r.Name)}
			}
			return err
		}
		b := protectedBranchFrom(r)
		out = &b
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UnprotectBranch removes a rule by its exact name.
func (s *Service) UnprotectBranch(ctx context.Context, projectID int64, name string) error {
	err := s.db.DeleteProtectedBranch(ctx, projectID, name)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%q: %w", name, ErrProtectedBranchNotFound)
	}
	return err
}

// checkProtectedName accepts what could name a branch once each * is
// replaced by a character: git's ref-name rules, so a rule can never
// hold what a push could not create (nor anything that would confuse the
// receive-pack configuration built from it).
func checkProtectedName(ctx context.Context, name string) error {
	bad := func(why string) error {
		return &InputError{Field: "name", Msg: fmt.Sprintf("protected branch name %q is not valid: %s", name, why)}
	}
	switch {
	case strings.TrimSpace(name) == "":
		return &InputError{Field: "name", Msg: "protected branch name is empty"}
	case len(name) > 255:
		return bad("longer than 255 bytes")
	case strings.HasPrefix(name, "-"):
		return bad("it starts with '-'")
	case strings.HasPrefix(name, "refs/"):
		return bad("give the branch name without refs/heads/")
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return bad("it holds a control character")
	}
	probe := strings.ReplaceAll(name, "*", "x")
	if err := gitproc.Git("check-ref-format", "--branch").AddValues(probe).Run(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return bad("git does not accept it as a branch name")
	}
	return nil
}
