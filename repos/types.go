package repos

import (
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/store"
)

// The types below are what the service hands to its callers (the doors,
// the CLI, the hooks). They are built from database rows inside this
// package, so a caller never depends on a column: how a namespace records
// its ancestors, or how a membership names its project or group, stays in
// storage.

// Namespace kinds.
const (
	NamespaceUser  = store.NamespaceUser
	NamespaceGroup = store.NamespaceGroup
)

// Namespace is a user's personal namespace or a (possibly nested) group.
type Namespace struct {
	ID       int64
	Kind     string // NamespaceUser or NamespaceGroup
	Name     string
	Path     string
	FullPath string
	ParentID *int64
	// OwnerID is the user of a personal namespace; nil for a group.
	OwnerID    *int64
	Visibility string
	CreatedAt  time.Time
	// Description is a group's description ("" for a user's namespace).
	Description string

	// traversal is the stored chain of ancestor ids, which the access
	// queries of this package need and no caller does.
	traversal string
}

func namespaceFrom(n *store.Namespace) *Namespace {
	if n == nil {
		return nil
	}
	return &Namespace{ID: n.ID, Kind: n.Kind, Name: n.Name, Path: n.Path, FullPath: n.FullPath, ParentID: n.ParentID,
		OwnerID: n.OwnerID, Visibility: n.Visibility, CreatedAt: n.CreatedAt, Description: n.Description, traversal: n.TraversalIDs}
}

// row is n as storage knows it, for the queries that take a namespace.
func (n *Namespace) row() *store.Namespace {
	return &store.Namespace{ID: n.ID, Kind: n.Kind, Name: n.Name, Path: n.Path, FullPath: n.FullPath, ParentID: n.ParentID,
		OwnerID: n.OwnerID, TraversalIDs: n.traversal, Visibility: n.Visibility, CreatedAt: n.CreatedAt, Description: n.Description}
}

// ancestry lists the ids of the namespace and all its ancestors.
func (n *Namespace) ancestry() []int64 { return n.row().Ancestry() }

// Project is a repository with its namespace.
type Project struct {
	ID            int64
	Name          string
	Path          string
	Description   string
	Visibility    string
	DefaultBranch string
	// CreatorID is the user who created the project, when known.
	CreatorID      *int64
	CreatedAt      time.Time
	LastActivityAt time.Time
	Namespace      Namespace
}

// FullPath is namespace/path.
func (p *Project) FullPath() string { return p.Namespace.FullPath + "/" + p.Path }

func projectFrom(p *store.Project) *Project {
	if p == nil {
		return nil
	}
	return &Project{ID: p.ID, Name: p.Name, Path: p.Path, Description: p.Description, Visibility: p.Visibility,
		DefaultBranch: p.DefaultBranch, CreatorID: p.CreatorID, CreatedAt: p.CreatedAt, LastActivityAt: p.LastActivityAt,
		Namespace: *namespaceFrom(&p.Namespace)}
}

func projectsFrom(rows []store.Project) []Project {
	out := make([]Project, len(rows))
	for i := range rows {
		out[i] = *projectFrom(&rows[i])
	}
	return out
}

// ProjectFilter narrows List. Zero values do not filter.
type ProjectFilter struct {
	// VisibleTo limits to projects that user may see (0: anonymous):
	// public, internal when SignedIn, or where they have a membership or
	// own the namespace. All lifts that limit (an admin).
	VisibleTo int64
	SignedIn  bool
	All       bool
	MemberOf  int64 // only projects where this user has a membership (or owns the namespace)
	OwnedBy   int64 // only projects in this user's namespace
	// In keeps only the projects directly in this namespace.
	In *Namespace
	// Within keeps only the projects in this namespace or any group below
	// it.
	Within     *Namespace
	Search     string
	Visibility string
	// OrderBy is a key of store.ProjectOrders ("" is id), descending
	// unless Ascending.
	OrderBy   string
	Ascending bool
	Offset    int
	Limit     int
}

func (f ProjectFilter) row() store.ProjectFilter {
	return store.ProjectFilter{VisibleTo: f.VisibleTo, SignedIn: f.SignedIn, All: f.All, MemberOf: f.MemberOf,
		OwnedBy: f.OwnedBy, NamespaceID: f.namespaceID(), Search: f.Search, Visibility: f.Visibility, Offset: f.Offset, Limit: f.Limit,
		OrderBy: f.OrderBy, Ascending: f.Ascending, WithinTraversal: f.withinTraversal()}
}

func (f ProjectFilter) withinTraversal() string {
	if f.Within == nil {
		return ""
	}
	return f.Within.traversal
}

// ValidProjectOrder reports whether a project list may be ordered by
// name.
func ValidProjectOrder(name string) bool {
	_, ok := store.ProjectOrders[name]
	return ok
}

func (f ProjectFilter) namespaceID() int64 {
	if f.In == nil {
		return 0
	}
	return f.In.ID
}

// Member is a user's direct access level on a project.
type Member struct {
	UserID      int64
	AccessLevel access.AccessLevel
	CreatedAt   time.Time
}

func membersFrom(rows []store.Member) []Member {
	out := make([]Member, len(rows))
	for i, m := range rows {
		out[i] = Member{UserID: m.UserID, AccessLevel: access.AccessLevel(m.AccessLevel), CreatedAt: m.CreatedAt}
	}
	return out
}
