-- Protected branches as GitLab's model (docs/permissions.md#protected-branches):
-- the level allowed to merge is kept beside the push level so GitLab's
-- clients read back what they set (gitgate has no merge requests, so
-- nothing acts on it).

-- +goose Up
ALTER TABLE protected_branches ADD COLUMN merge_access_level INTEGER NOT NULL DEFAULT 40;

-- +goose Down
ALTER TABLE protected_branches DROP COLUMN merge_access_level;
