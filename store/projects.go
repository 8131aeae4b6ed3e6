package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Namespace kinds.
const (
	NamespaceUser  = "user"
	NamespaceGroup = "group"
)

// Member source types.
const (
	SourceProject   = "project"
	SourceNamespace = "namespace"
)

// Namespace is a user's personal namespace or a (possibly nested) group.
type Namespace struct {
	ID           int64     `db:"id"`
	Kind         string    `db:"kind"`
	Name         string    `db:"name"`
	Path         string    `db:"path"`
	FullPath     string    `db:"full_path"`
	ParentID     *int64    `db:"parent_id"`
	OwnerID      *int64    `db:"owner_id"`
	TraversalIDs string    `db:"traversal_ids"`
	Visibility   string    `db:"visibility"`
	CreatedAt    time.Time `db:"created_at"`
	// Description is a group's; projects' joined namespaces leave it ''.
	Description string `db:"description"`
}

// Ancestry lists the ids of the namespace and all its ancestors.
func (n *Namespace) Ancestry() []int64 {
	var out []int64
	for _, s := range strings.Split(strings.Trim(n.TraversalIDs, "/"), "/") {
		if id, err := strconv.ParseInt(s, 10, 64); err == nil {
			out = append(out, id)
		}
	}
	return out
}

const nsColumns = `n.id, n.kind, n.name, n.path, n.full_path, n.parent_id, n.owner_id, n.traversal_ids, n.visibility, n.created_at, n.description`

// InsertNamespace stores n, computing its traversal ids from its parent.
func (db *DB) InsertNamespace(ctx context.Context, n *Namespace) error {
	return db.InTx(ctx, func(tx *DB) error {
		prefix := "/"
		if n.ParentID != nil {
			parent, err := tx.NamespaceByID(ctx, *n.ParentID)
			if err != nil {
				return err
			}
			prefix = parent.TraversalIDs
		}
		id, err := tx.insert(ctx, `INSERT INTO namespaces (kind, name, path, full_path, full_path_lower, parent_id, owner_id,
			traversal_ids, visibility, created_at, description) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
			n.Kind, n.Name, n.Path, n.FullPath, strings.ToLower(n.FullPath), n.ParentID, n.OwnerID, "", n.Visibility, n.CreatedAt, n.Description)
		if err != nil {
			return fmt.Errorf("insert namespace %q: %w", n.FullPath, err)
		}
		n.ID = id
		n.TraversalIDs = prefix + strconv.FormatInt(id, 10) + "/"
		if _, err := tx.exec(ctx, `UPDATE namespaces SET traversal_ids=? WHERE id=?`, n.TraversalIDs, id); err != nil {
			return fmt.Errorf("insert namespace %q: %w", n.FullPath, err)
		}
		return nil
	})
}

// NamespaceByID loads one namespace.
func (db *DB) NamespaceByID(ctx context.Context, id int64) (*Namespace, error) {
	var n Namespace
	if err := db.get(ctx, &n, `SELECT `+nsColumns+` FROM namespaces n WHERE n.id=?`, id); err != nil {
		return nil, fmt.Errorf("namespace %d: %w", id, err)
	}
	return &n, nil
}

// NamespaceByPath loads one namespace by full path, case-insensitively.
func (db *DB) NamespaceByPath(ctx context.Context, fullPath string) (*Namespace, error) {
	var n Namespace
	if err := db.get(ctx, &n, `SELECT `+nsColumns+` FROM namespaces n WHERE n.full_path_lower=?`, strings.ToLower(fullPath)); err != nil {
		return nil, fmt.Errorf("namespace %q: %w", fullPath, err)
	}
	return &n, nil
}

// HasMembershipWithin reports whether a user is a member of n, of a group
// below it, or of a project anywhere inside it.
func (db *DB) HasMembershipWithin(ctx context.Context, userID int64, n *Namespace) (bool, error) {
	prefix := n.TraversalIDs + "%"
	var found int
	err := db.get(ctx, &found, `SELECT CASE WHEN EXISTS (SELECT 1 FROM members m WHERE m.user_id = ? AND
		((m.source_type = 'namespace' AND m.source_id IN (SELECT id FROM namespaces WHERE traversal_ids LIKE ?)) OR
		 (m.source_type = 'project' AND m.source_id IN (SELECT p.id FROM projects p JOIN namespaces pn ON pn.id = p.namespace_id
			WHERE pn.traversal_ids LIKE ?)))) THEN 1 ELSE 0 END`, userID, prefix, prefix)
	if err != nil {
		return false, fmt.Errorf("memberships within %q: %w", n.FullPath, err)
	}
	return found == 1, nil
}

// VisibilitiesWithin lists the distinct visibilities of the projects
// anywhere inside n, and of the groups below it.
func (db *DB) VisibilitiesWithin(ctx context.Context, n *Namespace) (projects, groups []string, err error) {
	prefix := n.TraversalIDs + "%"
	if err := db.selectAll(ctx, &projects, `SELECT DISTINCT p.visibility FROM projects p JOIN namespaces pn ON pn.id = p.namespace_id
		WHERE pn.traversal_ids LIKE ?`, prefix); err != nil {
		return nil, nil, fmt.Errorf("project visibilities within %q: %w", n.FullPath, err)
	}
	if err := db.selectAll(ctx, &groups, `SELECT DISTINCT visibility FROM namespaces WHERE traversal_ids LIKE ? AND id <> ?`,
		prefix, n.ID); err != nil {
		return nil, nil, fmt.Errorf("subgroup visibilities within %q: %w", n.FullPath, err)
	}
	return projects, groups, nil
}

// LockNamespace holds namespace id's row until the transaction ends (a
// no-op update: portable to both engines), so that decisions which read
// a group's visibility and what lies inside it do not interleave.
func (db *DB) LockNamespace(ctx context.Context, id int64) error {
	if _, err := db.exec(ctx, `UPDATE namespaces SET visibility = visibility WHERE id=?`, id); err != nil {
		return fmt.Errorf("lock namespace %d: %w", id, err)
	}
	return nil
}

// SetNamespaceVisibility changes a namespace's visibility.
func (db *DB) SetNamespaceVisibility(ctx context.Context, id int64, visibility string) error {
	n, err := db.exec(ctx, `UPDATE namespaces SET visibility=? WHERE id=?`, visibility, id)
	if err != nil {
		return fmt.Errorf("set namespace %d visibility: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Project is a repository with its namespace.
type Project struct {
	ID             int64     `db:"id"`
	NamespaceID    int64     `db:"namespace_id"`
	Name           string    `db:"name"`
	Path           string    `db:"path"`
	Description    string    `db:"description"`
	Visibility     string    `db:"visibility"`
	DefaultBranch  string    `db:"default_branch"`
	CreatorID      *int64    `db:"creator_id"`
	CreatedAt      time.Time `db:"created_at"`
	LastActivityAt time.Time `db:"last_activity_at"`
	Namespace      Namespace `db:"n"`
}

// FullPath is namespace/path.
func (p *Project) FullPath() string { return p.Namespace.FullPath + "/" + p.Path }

const projectSelect = `SELECT p.id, p.namespace_id, p.name, p.path, p.description, p.visibility, p.default_branch,
	p.creator_id, p.created_at, p.last_activity_at, ` + `n.id AS "n.id", n.kind AS "n.kind", n.name AS "n.name",
	n.path AS "n.path", n.full_path AS "n.full_path", n.parent_id AS "n.parent_id", n.owner_id AS "n.owner_id",
	n.traversal_ids AS "n.traversal_ids", n.visibility AS "n.visibility", n.created_at AS "n.created_at"
	FROM projects p JOIN namespaces n ON n.id = p.namespace_id`

// InsertProject stores p and sets its ID.
func (db *DB) InsertProject(ctx context.Context, p *Project) error {
	id, err := db.insert(ctx, `INSERT INTO projects (namespace_id, name, path, path_lower, description, visibility,
		default_branch, creator_id, created_at, last_activity_at) VALUES (?,?,?,?,?,?,?,?,?,?)`,
		p.NamespaceID, p.Name, p.Path, strings.ToLower(p.Path), p.Description, p.Visibility, p.DefaultBranch,
		p.CreatorID, p.CreatedAt, p.LastActivityAt)
	if err != nil {
		return fmt.Errorf("insert project %q: %w", p.Path, err)
	}
	p.ID = id
	return nil
}

// ProjectByID loads one project.
func (db *DB) ProjectByID(ctx context.Context, id int64) (*Project, error) {
	var p Project
	if err := db.get(ctx, &p, projectSelect+` WHERE p.id=?`, id); err != nil {
		return nil, fmt.Errorf("project %d: %w", id, err)
	}
	return &p, nil
}

// ProjectByPath loads a project by namespace full path and project path,
// both case-insensitive.
func (db *DB) ProjectByPath(ctx context.Context, namespacePath, path string) (*Project, error) {
	var p Project
	// Prepared: every Git request looks its repository up by path, and
	// parsing this join costs SQLite more than running it.
	if err := db.getPrepared(ctx, &p, projectSelect+` WHERE n.full_path_lower=? AND p.path_lower=?`,
		strings.ToLower(namespacePath), strings.ToLower(path)); err != nil {
		return nil, fmt.Errorf("project %s/%s: %w", namespacePath, path, err)
	}
	return &p, nil
}

// ProjectFilter narrows ListProjects.
type ProjectFilter struct {
	// VisibleTo limits to projects the user may see: public, internal
	// (when SignedIn), or where they have a membership or own the
	// namespace (0: anonymous, so the zero filter sees public projects
	// only). All lifts that limit (admins).
	VisibleTo int64
	SignedIn  bool
	All       bool
	MemberOf  int64 // only projects where this user has a membership (or owns the namespace)
	OwnedBy   int64 // only projects in this user's namespace
	// NamespaceID keeps only the projects directly in this namespace.
	NamespaceID int64
	// WithinTraversal keeps only the projects in the namespace with these
	// traversal ids or in any namespace below it.
	WithinTraversal string
	Search          string
	Visibility      string
	// OrderBy is one of ProjectOrders ("" is id), newest or largest
	// first unless Ascending (GitLab's default direction).
	OrderBy   string
	Ascending bool
	Offset    int
	Limit     int
}

// ProjectOrders maps the orders a project list may take to their
// columns; gitgate keeps no updated_at apart from the last activity.
var ProjectOrders = map[string]string{
	"id": "p.id", "name": "p.name", "path": "p.path_lower", "created_at": "p.created_at",
	"updated_at": "p.last_activity_at", "last_activity_at": "p.last_activity_at",
}

func (f ProjectFilter) orderClause() string {
	col, ok := ProjectOrders[f.OrderBy]
	if !ok {
		col = "p.id"
	}
	dir := " DESC"
	if f.Ascending {
		dir = " ASC"
	}
	// The id breaks ties, so pages never overlap.
	if col == "p.id" {
		return " ORDER BY p.id" + dir
	}
	return " ORDER BY " + col + dir + ", p.id" + dir
}

const membershipCond = `(n.owner_id = ? OR EXISTS (SELECT 1 FROM members m WHERE m.user_id = ? AND
	((m.source_type = 'project' AND m.source_id = p.id) OR
	 (m.source_type = 'namespace' AND n.traversal_ids LIKE '%/' || CAST(m.source_id AS TEXT) || '/%'))))`

func (f ProjectFilter) where() (string, []any) {
	var conds []string
	var args []any
	if !f.All {
		if f.SignedIn {
			conds = append(conds, "(p.visibility IN ('public','internal') OR "+membershipCond+")")
		} else {
			conds = append(conds, "(p.visibility = 'public' OR "+membershipCond+")")
		}
		args = append(args, f.VisibleTo, f.VisibleTo)
	}
	if f.MemberOf != 0 {
		conds = append(conds, membershipCond)
		args = append(args, f.MemberOf, f.MemberOf)
	}
	if f.OwnedBy != 0 {
		conds = append(conds, "n.owner_id = ?")
		args = append(args, f.OwnedBy)
	}
	if f.NamespaceID != 0 {
		conds = append(conds, "p.namespace_id = ?")
		args = append(args, f.NamespaceID)
	}
	if f.WithinTraversal != "" {
		conds = append(conds, "n.traversal_ids LIKE ?")
		args = append(args, f.WithinTraversal+"%")
	}
	if f.Search != "" {
		conds = append(conds, `(p.path_lower LIKE ? ESCAPE '\' OR lower(p.name) LIKE ? ESCAPE '\')`)
		s := "%" + likeEscape(strings.ToLower(f.Search)) + "%"
		args = append(args, s, s)
	}
	if f.Visibility != "" {
		conds = append(conds, "p.visibility = ?")
		args = append(args, f.Visibility)
	}
	return whereClause(conds), args
}

// ListProjects returns one page of projects in the filter's order, and
// the total.
func (db *DB) ListProjects(ctx context.Context, f ProjectFilter) ([]Project, int, error) {
	where, args := f.where()
	var total int
	if err := db.get(ctx, &total, `SELECT COUNT(*) FROM projects p JOIN namespaces n ON n.id = p.namespace_id`+where, args...); err != nil {
		return nil, 0, fmt.Errorf("count projects: %w", err)
	}
	var out []Project
	if err := db.selectAll(ctx, &out, projectSelect+where+f.orderClause()+limitClause(f.Offset, f.Limit), args...); err != nil {
		return nil, 0, fmt.Errorf("list projects: %w", err)
	}
	return out, total, nil
}

// DeleteProject removes a project row and its memberships in one
// transaction (protected branches go with the row).
func (db *DB) DeleteProject(ctx context.Context, id int64) error {
	return db.InTx(ctx, func(tx *DB) error {
		if _, err := tx.exec(ctx, `DELETE FROM members WHERE source_type='project' AND source_id=?`, id); err != nil {
			return fmt.Errorf("delete project %d members: %w", id, err)
		}
		n, err := tx.exec(ctx, `DELETE FROM projects WHERE id=?`, id)
		if err != nil {
			return fmt.Errorf("delete project %d: %w", id, err)
		}
		if n == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// TouchProject records activity (a push).
func (db *DB) TouchProject(ctx context.Context, id int64, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE projects SET last_activity_at=? WHERE id=?`, now, id); err != nil {
		return fmt.Errorf("touch project %d: %w", id, err)
	}
	return nil
}

// Member is a user's access level on a project or group.
type Member struct {
	ID          int64     `db:"id"`
	SourceType  string    `db:"source_type"`
	SourceID    int64     `db:"source_id"`
	UserID      int64     `db:"user_id"`
	AccessLevel int       `db:"access_level"`
	CreatedAt   time.Time `db:"created_at"`
}

// PutMember adds a member or changes their level.
func (db *DB) PutMember(ctx context.Context, m *Member) error {
	_, err := db.exec(ctx, `INSERT INTO members (source_type, source_id, user_id, access_level, created_at) VALUES (?,?,?,?,?)
		ON CONFLICT (source_type, source_id, user_id) DO UPDATE SET access_level = excluded.access_level`,
		m.SourceType, m.SourceID, m.UserID, m.AccessLevel, m.CreatedAt)
	if err != nil {
		return fmt.Errorf("store member: %w", err)
	}
	return nil
}

// DeleteMember removes a direct membership.
func (db *DB) DeleteMember(ctx context.Context, sourceType string, sourceID, userID int64) error {
	n, err := db.exec(ctx, `DELETE FROM members WHERE source_type=? AND source_id=? AND user_id=?`, sourceType, sourceID, userID)
	if err != nil {
		return fmt.Errorf("delete member: %w", err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// Members lists the direct members of a project or group.
func (db *DB) Members(ctx context.Context, sourceType string, sourceID int64) ([]Member, error) {
	var out []Member
	if err := db.selectAll(ctx, &out, `SELECT id, source_type, source_id, user_id, access_level, created_at FROM members
		WHERE source_type=? AND source_id=? ORDER BY id`, sourceType, sourceID); err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	return out, nil
}

// MaxAccessLevel is the highest level a user holds on a project, directly
// or through any ancestor group; 0 when none.
func (db *DB) MaxAccessLevel(ctx context.Context, userID, projectID int64, namespaceIDs []int64) (int, error) {
	q := `SELECT COALESCE(MAX(access_level), 0) FROM members WHERE user_id=? AND
		((source_type='project' AND source_id=?)`
	args := []any{userID, projectID}
	if len(namespaceIDs) > 0 {
		q += ` OR (source_type='namespace' AND source_id IN (?` + strings.Repeat(",?", len(namespaceIDs)-1) + `))`
		for _, id := range namespaceIDs {
			args = append(args, id)
		}
	}
	q += `)`
	var level int
	// Prepared (one statement per group depth): asked on every Git request.
	if err := db.getPrepared(ctx, &level, q, args...); err != nil {
		return 0, fmt.Errorf("access level: %w", err)
	}
	return level, nil
}

// ProtectedBranch is a protection rule on one branch name or pattern.
type ProtectedBranch struct {
	ID               int64     `db:"id"`
	ProjectID        int64     `db:"project_id"`
	Name             string    `db:"name"`
	PushAccessLevel  int       `db:"push_access_level"`
	MergeAccessLevel int       `db:"merge_access_level"`
	AllowForcePush   bool      `db:"allow_force_push"`
	CreatedAt        time.Time `db:"created_at"`
}

const protectedBranchColumns = `id, project_id, name, push_access_level, merge_access_level, allow_force_push, created_at`

// InsertProtectedBranch stores a rule; a second rule of the same name on
// the project is ErrConflict.
func (db *DB) InsertProtectedBranch(ctx context.Context, b *ProtectedBranch) error {
	id, err := db.insert(ctx, `INSERT INTO protected_branches (project_id, name, push_access_level, merge_access_level, allow_force_push, created_at)
		VALUES (?,?,?,?,?,?)`, b.ProjectID, b.Name, b.PushAccessLevel, b.MergeAccessLevel, b.AllowForcePush, b.CreatedAt)
	if err != nil {
		return fmt.Errorf("protect branch %q: %w", b.Name, err)
	}
	b.ID = id
	return nil
}

// ProtectedBranches lists a project's rules, oldest first.
func (db *DB) ProtectedBranches(ctx context.Context, projectID int64) ([]ProtectedBranch, error) {
	var out []ProtectedBranch
	if err := db.selectAll(ctx, &out, `SELECT `+protectedBranchColumns+`
		FROM protected_branches WHERE project_id=? ORDER BY id`, projectID); err != nil {
		return nil, fmt.Errorf("protected branches: %w", err)
	}
	return out, nil
}

// ProtectedBranchByName finds one rule by its exact name (a pattern is
// found by the pattern, not by a branch it matches); ErrNotFound if none.
func (db *DB) ProtectedBranchByName(ctx context.Context, projectID int64, name string) (*ProtectedBranch, error) {
	var b ProtectedBranch
	if err := db.get(ctx, &b, `SELECT `+protectedBranchColumns+`
		FROM protected_branches WHERE project_id=? AND name=?`, projectID, name); err != nil {
		return nil, fmt.Errorf("protected branch %q: %w", name, err)
	}
	return &b, nil
}

// UpdateProtectedBranch writes a rule's name, levels and force-push flag;
// a name another rule of the project has is ErrConflict.
func (db *DB) UpdateProtectedBranch(ctx context.Context, b *ProtectedBranch) error {
	n, err := db.exec(ctx, `UPDATE protected_branches SET name=?, push_access_level=?, merge_access_level=?, allow_force_push=?
		WHERE id=? AND project_id=?`, b.Name, b.PushAccessLevel, b.MergeAccessLevel, b.AllowForcePush, b.ID, b.ProjectID)
	if err != nil {
		return fmt.Errorf("update protected branch %q: %w", b.Name, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// DeleteProtectedBranch removes a rule by name; ErrNotFound if none.
func (db *DB) DeleteProtectedBranch(ctx context.Context, projectID int64, name string) error {
	n, err := db.exec(ctx, `DELETE FROM protected_branches WHERE project_id=? AND name=?`, projectID, name)
	if err != nil {
		return fmt.Errorf("unprotect branch %q: %w", name, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// UpdateProject writes a project's name, path, description, visibility
// and default branch.
func (db *DB) UpdateProject(ctx context.Context, p *Project) error {
	n, err := db.exec(ctx, `UPDATE projects SET name=?, path=?, path_lower=?, description=?, visibility=?, default_branch=? WHERE id=?`,
		p.Name, p.Path, strings.ToLower(p.Path), p.Description, p.Visibility, p.DefaultBranch, p.ID)
	if err != nil {
		return fmt.Errorf("update project %d: %w", p.ID, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// ProjectIDsWithin lists the ids of the projects in n and in every group
// below it.
func (db *DB) ProjectIDsWithin(ctx context.Context, n *Namespace) ([]int64, error) {
	var ids []int64
	if err := db.selectAll(ctx, &ids, `SELECT p.id FROM projects p JOIN namespaces pn ON pn.id = p.namespace_id
		WHERE pn.traversal_ids LIKE ? ORDER BY p.id`, n.TraversalIDs+"%"); err != nil {
		return nil, fmt.Errorf("projects within %q: %w", n.FullPath, err)
	}
	return ids, nil
}

// Groups lists every group, ordered by full path.
func (db *DB) Groups(ctx context.Context) ([]Namespace, error) {
	var out []Namespace
	if err := db.selectAll(ctx, &out, `SELECT `+nsColumns+` FROM namespaces n WHERE n.kind=? ORDER BY n.full_path_lower`,
		NamespaceGroup); err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	return out, nil
}

// ErrChanged refuses a change made on a picture of the data that no
// longer holds: someone changed it in between.
var ErrChanged = errors.New("changed meanwhile")

// DeleteNamespace removes n with every group and project below it, and
// their memberships (which have no foreign key to cascade through).
// projectIDs are the projects the caller found within n (and moved their
// repositories aside); if the projects within n are no longer exactly
// those — one was created or moved in meanwhile — nothing is deleted and
// the answer is ErrChanged, so no row goes without its repository going
// too.
func (db *DB) DeleteNamespace(ctx context.Context, n *Namespace, projectIDs []int64) error {
	prefix := n.TraversalIDs + "%"
	want := slices.Clone(projectIDs)
	slices.Sort(want)
	return db.InTx(ctx, func(tx *DB) error {
		if db.dialect == Postgres {
			// Locked first, a project being created in one of these
			// namespaces waits on its foreign key check and then fails;
			// on SQLite the write transaction already excludes every
			// other writer.
			var locked []int64
			if err := tx.selectAll(ctx, &locked, `SELECT id FROM namespaces WHERE traversal_ids LIKE ? FOR UPDATE`, prefix); err != nil {
				return fmt.Errorf("lock namespaces within %q: %w", n.FullPath, err)
			}
		}
		var now []int64
		if err := tx.selectAll(ctx, &now, `SELECT p.id FROM projects p JOIN namespaces pn ON pn.id = p.namespace_id
			WHERE pn.traversal_ids LIKE ? ORDER BY p.id`, prefix); err != nil {
			return fmt.Errorf("projects within %q: %w", n.FullPath, err)
		}
		if !slices.Equal(now, want) {
			return ErrChanged
		}
		if _, err := tx.exec(ctx, `DELETE FROM members WHERE source_type='project' AND source_id IN
			(SELECT p.id FROM projects p JOIN namespaces pn ON pn.id = p.namespace_id WHERE pn.traversal_ids LIKE ?)`, prefix); err != nil {
			return fmt.Errorf("delete members within %q: %w", n.FullPath, err)
		}
		if _, err := tx.exec(ctx, `DELETE FROM members WHERE source_type='namespace' AND source_id IN
			(SELECT id FROM namespaces WHERE traversal_ids LIKE ?)`, prefix); err != nil {
			return fmt.Errorf("delete members within %q: %w", n.FullPath, err)
		}
		// Subgroups, projects and protected branches follow by ON DELETE CASCADE.
		c, err := tx.exec(ctx, `DELETE FROM namespaces WHERE id=?`, n.ID)
		if err != nil {
			return fmt.Errorf("delete namespace %q: %w", n.FullPath, err)
		}
		if c == 0 {
			return ErrNotFound
		}
		return nil
	})
}

// DeleteProjectMembers removes every membership of these projects.
func (db *DB) DeleteProjectMembers(ctx context.Context, projectIDs []int64) error {
	for _, id := range projectIDs {
		if _, err := db.exec(ctx, `DELETE FROM members WHERE source_type='project' AND source_id=?`, id); err != nil {
			return fmt.Errorf("delete project %d members: %w", id, err)
		}
	}
	return nil
}

// SoleOwnedGroups lists the groups where userID is an owner and nobody
// else is.
func (db *DB) SoleOwnedGroups(ctx context.Context, userID int64, ownerLevel int) ([]Namespace, error) {
	var out []Namespace
	if err := db.selectAll(ctx, &out, `SELECT `+nsColumns+` FROM namespaces n JOIN members m
		ON m.source_type='namespace' AND m.source_id=n.id AND m.user_id=? AND m.access_level>=?
		WHERE NOT EXISTS (SELECT 1 FROM members o WHERE o.source_type='namespace' AND o.source_id=n.id
			AND o.user_id<>? AND o.access_level>=?) ORDER BY n.full_path_lower`, userID, ownerLevel, userID, ownerLevel); err != nil {
		return nil, fmt.Errorf("groups owned by user %d: %w", userID, err)
	}
	return out, nil
}

// GroupsWithMembership lists, by full path, the groups where userID is a
// member of the group itself or of a group above it (any level), or
// every group when all is set: the candidates a project may be created
// in. The service decides with its own rule which of them qualify.
func (db *DB) GroupsWithMembership(ctx context.Context, userID int64, all bool) ([]Namespace, error) {
	var out []Namespace
	err := db.selectAll(ctx, &out, `SELECT `+nsColumns+` FROM namespaces n WHERE n.kind='group' AND (? OR EXISTS (
		SELECT 1 FROM members m JOIN namespaces g ON g.id = m.source_id
		WHERE m.source_type='namespace' AND m.user_id=? AND n.traversal_ids LIKE g.traversal_ids || '%'))
		ORDER BY n.full_path_lower`, all, userID)
	if err != nil {
		return nil, fmt.Errorf("groups of user %d: %w", userID, err)
	}
	return out, nil
}
