-- A group's description, which the API's POST and PUT /groups set and
-- every group object shows (docs/api.md). User namespaces keep ''.

-- +goose Up
ALTER TABLE namespaces ADD COLUMN description TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE namespaces DROP COLUMN description;
