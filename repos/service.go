// Package repos knows what repositories exist and who may touch them:
// namespaces and groups, projects and their visibility, members and access
// levels, protected branches, the bare repositories on disk, and
// Authorize, which looks up what the one permission rule (package access)
// needs and asks it.
package repos

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/store"
)

// Service manages repositories under one storage root.
type Service struct {
	db   *store.DB
	root string
	now  func() time.Time
}

// New returns a Service storing repositories under root.
func New(db *store.DB, root string, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	// Git runs inside repository directories: a relative root would
	// resolve against the wrong directory.
	if abs, err := filepath.Abs(root); err == nil {
		root = abs
	}
	return &Service{db: db, root: root, now: now}
}

// Root is the storage root.
func (s *Service) Root() string { return s.root }

// DiskPath is where a project's bare repository lives: derived from the id
// alone (GitLab's hashed storage), so renames touch only the database.
func (s *Service) DiskPath(projectID int64) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(projectID, 10)))
	h := hex.EncodeToString(sum[:])
	return filepath.Join(s.root, "@hashed", h[0:2], h[2:4], h+".git")
}

// Find loads a project by "namespace/path[.git]"; an invalid path is
// access.ErrNotFound too, so probing reveals nothing.
func (s *Service) Find(ctx context.Context, fullPath string) (*Project, error) {
	ns, name, err := SplitPath(fullPath)
	if err != nil {
		return nil, access.ErrNotFound
	}
	p, err := s.db.ProjectByPath(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, access.ErrNotFound
	}
	return projectFrom(p), err
}

// FindByID loads a project by id.
func (s *Service) FindByID(ctx context.Context, id int64) (*Project, error) {
	p, err := s.db.ProjectByID(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, access.ErrNotFound
	}
	return projectFrom(p), err
}

// List lists one page of projects, newest first, and the total.
func (s *Service) List(ctx context.Context, f ProjectFilter) ([]Project, int, error) {
	rows, total, err := s.db.ListProjects(ctx, f.row())
	if err != nil {
		return nil, 0, err
	}
	return projectsFrom(rows), total, nil
}

// InputError is bad input the doors show as it is.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string { return e.Msg }

func inputErr(field string, err error) error { return &InputError{Field: field, Msg: err.Error()} }

// CreateGroup creates a group (its parent must exist for a nested path,
// and be at least as visible). creatorID, when non-zero, becomes the
// group's owner.
func (s *Service) CreateGroup(ctx context.Context, fullPath, name, visibility string, creatorID int64) (*Namespace, error) {
	return s.CreateGroupFrom(ctx, NewGroup{FullPath: fullPath, Name: name, Visibility: visibility, CreatorID: creatorID})
}

// NewGroup is the input of CreateGroupFrom.
type NewGroup struct {
	FullPath    string
	Name        string
	Description string
	Visibility  string
	// CreatorID, when non-zero, becomes the group's owner.
	CreatorID int64
}

// CreateGroupFrom creates a group as CreateGroup does, with a
// description.
func (s *Service) CreateGroupFrom(ctx context.Context, in NewGroup) (*Namespace, error) {
	fullPath, name, visibility, creatorID := strings.Trim(in.FullPath, "/"), in.Name, in.Visibility, in.CreatorID
	if len(in.Description) > MaxGroupDescription {
		return nil, &InputError{Field: "description", Msg: fmt.Sprintf("is too long (maximum is %d characters)", MaxGroupDescription)}
	}
	if err := ValidateNamespacePath(fullPath); err != nil {
		return nil, inputErr("path", err)
	}
	if visibility == "" {
		visibility = access.Private
	}
	if !access.ValidVisibility(visibility) {
		return nil, &InputError{Field: "visibility", Msg: fmt.Sprintf("visibility %q must be private, internal or public", visibility)}
	}
	parts := strings.Split(fullPath, "/")
	if len(parts) == 1 {
		if err := auth.ValidateUsername(parts[0]); err != nil {
			return nil, &InputError{Field: "path", Msg: strings.Replace(err.Error(), "username", "group path", 1)}
		}
	}
	if name == "" {
		name = parts[len(parts)-1]
	}
	ns := &store.Namespace{Kind: store.NamespaceGroup, Name: name, Path: parts[len(parts)-1], FullPath: fullPath,
		Visibility: visibility, CreatedAt: s.now().UTC(), Description: in.Description}
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		if len(parts) > 1 {
			parentPath := strings.Join(parts[:len(parts)-1], "/")
			parent, err := tx.NamespaceByPath(ctx, parentPath)
			if errors.Is(err, store.ErrNotFound) {
				return &InputError{Field: "path", Msg: fmt.Sprintf("parent group %q does not exist", parentPath)}
			}
			if err != nil {
				return err
			}
			if parent.Kind != store.NamespaceGroup {
				return &InputError{Field: "path", Msg: fmt.Sprintf("%q is a user, not a group: subgroups live under groups", parentPath)}
			}
			if err := checkSubgroupVisibility(ctx, tx, parent, visibility); err != nil {
				return err
			}
			ns.ParentID = &parent.ID
		}
		if err := tx.InsertNamespace(ctx, ns); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &InputError{Field: "path", Msg: fmt.Sprintf("namespace %q already exists", fullPath)}
			}
			return err
		}
		if creatorID != 0 {
			return tx.PutMember(ctx, &store.Member{SourceType: store.SourceNamespace, SourceID: ns.ID, UserID: creatorID,
				AccessLevel: int(access.Owner), CreatedAt: ns.CreatedAt})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return namespaceFrom(ns), nil
}

// Namespace loads a namespace by path.
func (s *Service) Namespace(ctx context.Context, fullPath string) (*Namespace, error) {
	ns, err := s.db.NamespaceByPath(ctx, strings.Trim(fullPath, "/"))
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("namespace %q does not exist", fullPath)
	}
	return namespaceFrom(ns), err
}

// NewProject is the input of CreateProject.
type NewProject struct {
	NamespacePath string
	Path          string
	Name          string
	Description   string
	Visibility    string
	DefaultBranch string
	CreatorID     int64
}

// CreateProject stores a project and creates its bare repository on disk,
// all or nothing: the row is committed only once the repository exists,
// and the directory is removed if the commit fails. A project is never
// more visible than its group or any group above it.
func (s *Service) CreateProject(ctx context.Context, in NewProject) (*Project, error) {
	if err := ValidateNamespacePath(in.NamespacePath); err != nil {
		return nil, inputErr("namespace", err)
	}
	if err := ValidateSegment(in.Path); err != nil {
		return nil, inputErr("path", err)
	}
	if in.Visibility == "" {
		in.Visibility = access.Private
	}
	if !access.ValidVisibility(in.Visibility) {
		return nil, &InputError{Field: "visibility", Msg: fmt.Sprintf("visibility %q must be private, internal or public", in.Visibility)}
	}
	if in.DefaultBranch == "" {
		in.DefaultBranch = "main"
	}
	if err := checkBranchName(ctx, in.DefaultBranch); err != nil {
		return nil, inputErr("default_branch", err)
	}
	if in.Name == "" {
		in.Name = in.Path
	}
	if len(in.Name) > 255 || len(in.Description) > 2000 {
		return nil, &InputError{Field: "name", Msg: "name or description is too long"}
	}
	now := s.now().UTC().Truncate(time.Millisecond)
	var proj *store.Project
	var dir string
	err := s.db.InTx(ctx, func(tx *store.DB) error {
		ns, err := tx.NamespaceByPath(ctx, strings.Trim(in.NamespacePath, "/"))
		if errors.Is(err, store.ErrNotFound) {
			return &InputError{Field: "namespace", Msg: fmt.Sprintf("namespace %q does not exist", in.NamespacePath)}
		}
		if err != nil {
			return err
		}
		if err := checkProjectVisibility(ctx, tx, ns, in.Visibility); err != nil {
			return err
		}
		p := &store.Project{NamespaceID: ns.ID, Name: in.Name, Path: in.Path, Description: in.Description,
			Visibility: in.Visibility, DefaultBranch: in.DefaultBranch, CreatedAt: now, LastActivityAt: now}
		if in.CreatorID != 0 {
			p.CreatorID = &in.CreatorID
		}
		if err := tx.InsertProject(ctx, p); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return &InputError{Field: "path", Msg: fmt.Sprintf("project %s/%s already exists", ns.FullPath, in.Path)}
			}
			return err
		}
		// The instance's default_branch_protection of the moment decides
		// the default branch's rule (docs/permissions.md#default-branch-protection).
		st, err := auth.LoadSettings(ctx, tx)
		if err != nil {
			return err
		}
		if rule, merge, ok := st.DefaultBranchProtection.DefaultRule(in.DefaultBranch); ok {
			if err := tx.InsertProtectedBranch(ctx, &store.ProtectedBranch{ProjectID: p.ID, Name: rule.Name,
				PushAccessLevel: int(rule.PushAccessLevel), MergeAccessLevel: int(merge), AllowForcePush: rule.AllowForcePush, CreatedAt: now}); err != nil {
				return err
			}
		}
		p.Namespace = *ns
		dir = s.DiskPath(p.ID)
		if err := InitBare(ctx, dir, in.DefaultBranch); err != nil {
			return writeError(dir, err)
		}
		proj = p
		return nil
	})
	if err != nil {
		if dir != "" && proj != nil {
			os.RemoveAll(dir)
		}
		return nil, err
	}
	return projectFrom(proj), nil
}

func checkBranchName(ctx context.Context, name string) error {
	if strings.HasPrefix(name, "-") || len(name) > 255 {
		return fmt.Errorf("invalid branch name %q", name)
	}
	if err := gitproc.Git("check-ref-format", "--branch").AddValues(name).Run(ctx); err != nil {
		return fmt.Errorf("invalid branch name %q", name)
	}
	if err := access.CheckRefName("refs/heads/"+name, ""); err != nil {
		return fmt.Errorf("invalid branch name %q: %w", name, err)
	}
	return nil
}

// DeleteProject removes a project and its repository. The directory is
// first renamed aside, so a failure leaves either the whole project or
// nothing reachable.
func (s *Service) DeleteProject(ctx context.Context, id int64) error {
	dir := s.DiskPath(id)
	trash := dir + fmt.Sprintf(".deleted-%d", s.now().UnixNano())
	moved, err := s.moveAside(dir, trash)
	if err != nil {
		return err
	}
	if err := s.db.DeleteProject(ctx, id); err != nil {
		if moved {
			_ = os.Rename(trash, dir)
		}
		if errors.Is(err, store.ErrNotFound) {
			return access.ErrNotFound
		}
		return err
	}
	if moved {
		return os.RemoveAll(trash)
	}
	return nil
}

// Member source: a project or a group.
type MemberTarget struct {
	Project *Project
	Group   *Namespace
}

// ResolveTarget finds "ns/project" or a group path, preferring a project.
func (s *Service) ResolveTarget(ctx context.Context, path string) (MemberTarget, error) {
	if p, err := s.Find(ctx, path); err == nil {
		return MemberTarget{Project: p}, nil
	} else if !errors.Is(err, access.ErrNotFound) {
		return MemberTarget{}, err
	}
	ns, err := s.db.NamespaceByPath(ctx, strings.Trim(path, "/"))
	if errors.Is(err, store.ErrNotFound) {
		return MemberTarget{}, fmt.Errorf("no project or group %q", path)
	}
	if err != nil {
		return MemberTarget{}, err
	}
	if ns.Kind != store.NamespaceGroup {
		return MemberTarget{}, fmt.Errorf("%q is a user namespace: add members to its projects or to a group", path)
	}
	return MemberTarget{Group: namespaceFrom(ns)}, nil
}

// AddMember gives a user a level on a project or group (or changes it).
func (s *Service) AddMember(ctx context.Context, t MemberTarget, userID int64, level access.AccessLevel) error {
	if !level.IsMemberLevel() {
		return &InputError{Field: "access_level", Msg: fmt.Sprintf("access level %d is not valid: use 10, 20, 30, 40 or 50", level)}
	}
	m := &store.Member{UserID: userID, AccessLevel: int(level), CreatedAt: s.now().UTC().Truncate(time.Millisecond)}
	if t.Project != nil {
		m.SourceType, m.SourceID = store.SourceProject, t.Project.ID
	} else {
		m.SourceType, m.SourceID = store.SourceNamespace, t.Group.ID
	}
	return s.db.PutMember(ctx, m)
}

// Members lists a project's direct members.
func (s *Service) Members(ctx context.Context, projectID int64) ([]Member, error) {
	rows, err := s.db.Members(ctx, store.SourceProject, projectID)
	if err != nil {
		return nil, err
	}
	return membersFrom(rows), nil
}

// ProtectedBranches lists a project's protection rules.
func (s *Service) ProtectedBranches(ctx context.Context, projectID int64) ([]access.ProtectedRule, error) {
	rows, err := s.db.ProtectedBranches(ctx, projectID)
	if err != nil {
		return nil, err
	}
	rules := make([]access.ProtectedRule, len(rows))
	for i, r := range rows {
		rules[i] = access.ProtectedRule{Name: r.Name, PushAccessLevel: access.AccessLevel(r.PushAccessLevel), AllowForcePush: r.AllowForcePush}
	}
	return rules, nil
}

// RecordPush notes a successful push as the project's last activity
// (GitLab's last_activity_at), which the projects list shows as its last
// push.
func (s *Service) RecordPush(ctx context.Context, projectID int64) error {
	return s.db.TouchProject(ctx, projectID, s.now().UTC().Truncate(time.Millisecond))
}
