-- The same migrations serve SQLite and PostgreSQL: store.migrationFS
-- replaces the ${...} placeholders with each dialect's types before goose
-- sees the file.

-- +goose Up
CREATE TABLE users (
    id ${ID},
    username TEXT NOT NULL,
    username_lower TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL DEFAULT '',
    admin BOOLEAN NOT NULL DEFAULT FALSE,
    bot BOOLEAN NOT NULL DEFAULT FALSE,
    state TEXT NOT NULL DEFAULT 'active',
    otp_secret TEXT NOT NULL DEFAULT '',
    otp_enabled BOOLEAN NOT NULL DEFAULT FALSE,
    otp_recovery_codes TEXT NOT NULL DEFAULT '',
    otp_last_step BIGINT NOT NULL DEFAULT 0,
    created_at ${TIME} NOT NULL,
    updated_at ${TIME} NOT NULL
);

CREATE TABLE namespaces (
    id ${ID},
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    full_path TEXT NOT NULL,
    full_path_lower TEXT NOT NULL UNIQUE,
    parent_id BIGINT REFERENCES namespaces(id) ON DELETE CASCADE,
    owner_id BIGINT REFERENCES users(id) ON DELETE CASCADE,
    -- '/1/5/9/': the ids of this namespace and its ancestors, so one
    -- query finds every membership that applies to a project.
    traversal_ids TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL DEFAULT 'private',
    created_at ${TIME} NOT NULL
);

CREATE TABLE projects (
    id ${ID},
    namespace_id BIGINT NOT NULL REFERENCES namespaces(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    path TEXT NOT NULL,
    path_lower TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL DEFAULT 'private',
    default_branch TEXT NOT NULL DEFAULT 'main',
    creator_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at ${TIME} NOT NULL,
    last_activity_at ${TIME} NOT NULL,
    UNIQUE (namespace_id, path_lower)
);

-- Members of a project (source_type 'project') or of a group namespace
-- (source_type 'namespace'); group members inherit into subgroups and
-- projects.
CREATE TABLE members (
    id ${ID},
    source_type TEXT NOT NULL,
    source_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    access_level INTEGER NOT NULL,
    created_at ${TIME} NOT NULL,
    UNIQUE (source_type, source_id, user_id)
);
CREATE INDEX members_user ON members(user_id);

CREATE TABLE protected_branches (
    id ${ID},
    project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    push_access_level INTEGER NOT NULL DEFAULT 40,
    allow_force_push BOOLEAN NOT NULL DEFAULT FALSE,
    created_at ${TIME} NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE personal_access_tokens (
    id ${ID},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    token_digest TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at ${DATE},
    created_at ${TIME} NOT NULL,
    last_used_at ${TIME},
    revoked BOOLEAN NOT NULL DEFAULT FALSE,
    impersonation BOOLEAN NOT NULL DEFAULT FALSE,
    previous_token_id BIGINT,
    expiry_notified_at ${TIME},
    after_expiry_notified BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX personal_access_tokens_user ON personal_access_tokens(user_id);
CREATE INDEX personal_access_tokens_expires ON personal_access_tokens(expires_at);

CREATE TABLE ssh_keys (
    id ${ID},
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    title TEXT NOT NULL,
    key_text TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    key_type TEXT NOT NULL,
    created_at ${TIME} NOT NULL,
    expires_at ${TIME},
    last_used_at ${TIME}
);
CREATE INDEX ssh_keys_user ON ssh_keys(user_id);

CREATE TABLE application_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at ${TIME} NOT NULL
);

-- +goose Down
DROP TABLE application_settings;
DROP TABLE ssh_keys;
DROP TABLE personal_access_tokens;
DROP TABLE protected_branches;
DROP TABLE members;
DROP TABLE projects;
DROP TABLE namespaces;
DROP TABLE users;
