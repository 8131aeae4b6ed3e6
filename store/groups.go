package store

import (
	"context"
	"fmt"
	"strings"
)

// SetGroupDetails changes a group's name and description.
func (db *DB) SetGroupDetails(ctx context.Context, id int64, name, description string) error {
	n, err := db.exec(ctx, `UPDATE namespaces SET name=?, description=? WHERE id=? AND kind='group'`, name, description, id)
	if err != nil {
		return fmt.Errorf("update group %d: %w", id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// RenameNamespace gives n the last path segment path and rewrites the
// full paths of n and of every namespace below it in one statement, so
// no group is ever seen under a half-renamed parent. Projects follow by
// their namespace ids; their repositories are stored by project id and
// do not move. A full path already taken is ErrConflict.
func (db *DB) RenameNamespace(ctx context.Context, n *Namespace, path string) error {
	newFull := path
	if i := strings.LastIndex(n.FullPath, "/"); i >= 0 {
		newFull = n.FullPath[:i+1] + path
	}
	return db.InTx(ctx, func(tx *DB) error {
		// substr is 1-based: what follows the old full path in a
		// descendant's ("/sub/…"), or "" for n itself.
		from := len(n.FullPath) + 1
		if _, err := tx.exec(ctx, `UPDATE namespaces SET full_path = ? || substr(full_path, ?),
			full_path_lower = ? || lower(substr(full_path, ?)) WHERE traversal_ids LIKE ?`,
			newFull, from, strings.ToLower(newFull), from, n.TraversalIDs+"%"); err != nil {
			return fmt.Errorf("rename namespace %q: %w", n.FullPath, err)
		}
		if _, err := tx.exec(ctx, `UPDATE namespaces SET path=? WHERE id=?`, path, n.ID); err != nil {
			return fmt.Errorf("rename namespace %q: %w", n.FullPath, err)
		}
		return nil
	})
}

// GroupsWithDirectMembership lists, by full path, the groups where
// userID holds a membership of the group itself.
func (db *DB) GroupsWithDirectMembership(ctx context.Context, userID int64) ([]Namespace, error) {
	var out []Namespace
	if err := db.selectAll(ctx, &out, `SELECT `+nsColumns+` FROM namespaces n WHERE n.kind='group' AND EXISTS (
		SELECT 1 FROM members m WHERE m.source_type='namespace' AND m.source_id=n.id AND m.user_id=?)
		ORDER BY n.full_path_lower`, userID); err != nil {
		return nil, fmt.Errorf("groups of user %d: %w", userID, err)
	}
	return out, nil
}

// AllNamespaces lists every namespace, users' and groups', by id.
func (db *DB) AllNamespaces(ctx context.Context) ([]Namespace, error) {
	var out []Namespace
	if err := db.selectAll(ctx, &out, `SELECT `+nsColumns+` FROM namespaces n ORDER BY n.id`); err != nil {
		return nil, fmt.Errorf("list namespaces: %w", err)
	}
	return out, nil
}
