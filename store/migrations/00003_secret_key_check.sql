-- Values that let a process prove it holds the instance's secret key
-- before it starts or writes an encrypted column (docs/secrets.md). The
-- row 'key_check' holds an HMAC of a fixed text under a key derived from
-- the secret key base: it identifies the key without revealing it.

-- +goose Up
CREATE TABLE instance_secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at ${TIME} NOT NULL
);

-- +goose Down
DROP TABLE instance_secrets;
