package store

import (
	"context"
	"fmt"
	"time"
)

// Settings returns every stored instance setting by name; a missing name
// means its default.
func (db *DB) Settings(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		Name  string `db:"name"`
		Value string `db:"value"`
	}
	if err := db.selectAll(ctx, &rows, `SELECT name, value FROM application_settings`); err != nil {
		return nil, fmt.Errorf("read settings: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.Name] = r.Value
	}
	return out, nil
}

// PutSetting stores one setting.
func (db *DB) PutSetting(ctx context.Context, name, value string, now time.Time) error {
	_, err := db.exec(ctx, `INSERT INTO application_settings (name, value, updated_at) VALUES (?,?,?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`, name, value, now)
	if err != nil {
		return fmt.Errorf("store setting %s: %w", name, err)
	}
	return nil
}

// DeleteSetting resets one setting to its default.
func (db *DB) DeleteSetting(ctx context.Context, name string) error {
	if _, err := db.exec(ctx, `DELETE FROM application_settings WHERE name=?`, name); err != nil {
		return fmt.Errorf("reset setting %s: %w", name, err)
	}
	return nil
}
