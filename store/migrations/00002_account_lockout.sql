-- Per-account lockout (docs/authentication.md): wrong passwords are
-- counted on the account itself, so every replica sees the same count,
-- and the lock is a time, so it expires without a job.

-- +goose Up
ALTER TABLE users ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN locked_at ${TIME};

-- +goose Down
ALTER TABLE users DROP COLUMN locked_at;
ALTER TABLE users DROP COLUMN failed_attempts;
