-- Web sessions (docs/web.md): the cookie holds a random id, the table only
-- its SHA-256 digest, so a copy of the database opens no session. A
-- session ends when idle too long or too old (both checked on every
-- request), when its user signs out, or when the user's password or
-- two-factor settings change.

-- +goose Up
CREATE TABLE web_sessions (
    id ${ID},
    digest TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at ${TIME} NOT NULL,
    last_seen_at ${TIME} NOT NULL
);
CREATE INDEX web_sessions_user ON web_sessions(user_id);

-- The language a person chose for the pages; empty follows the browser.
ALTER TABLE users ADD COLUMN preferred_language TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE users DROP COLUMN preferred_language;
DROP TABLE web_sessions;
