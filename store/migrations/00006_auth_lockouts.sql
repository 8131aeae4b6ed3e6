-- The failed-authentication lockout shared by every process of one
-- PostgreSQL database (docs/replicas.md): one row per client address and
-- lockout ("git" for the Git doors, "api" for the API), its failures in
-- the current window and the end of its ban. SQLite installs keep their
-- counts in each process and leave the table empty; it exists there too
-- so both engines have one schema.

-- +goose Up
CREATE TABLE auth_lockouts (
    scope TEXT NOT NULL,
    addr TEXT NOT NULL,
    window_start ${TIME} NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    banned_until ${TIME},
    PRIMARY KEY (scope, addr)
);

-- +goose Down
DROP TABLE auth_lockouts;
