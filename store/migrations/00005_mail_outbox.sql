-- Mail and the daily expiry check (docs/mail.md).
--
-- outbox: every message is written here first, in the transaction that
-- decides to send it; a sender delivers it later over SMTP. A row is
-- claimed by one process at a time (claimed_by until claimed_until), so
-- any number of processes can deliver without sending a message twice
-- unless one dies after the SMTP server took it.
--
-- expiry_notices: one row per token or SSH key and per notice ('7', '30',
-- 'expired' …) that was queued, written in the same transaction as the
-- outbox row: the primary key is what makes a notice go out once, however
-- many processes run the check at the same moment.
--
-- job_runs: one row per scheduled job and UTC day, claimed by the first
-- process to insert it; a run that never finished can be taken over once
-- its lease ends.

-- +goose Up
CREATE TABLE outbox (
    id ${ID},
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users(id) ON DELETE SET NULL,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '',
    created_at ${TIME} NOT NULL,
    next_attempt_at ${TIME} NOT NULL,
    claimed_by TEXT NOT NULL DEFAULT '',
    claimed_until ${TIME},
    sent_at ${TIME}
);
CREATE INDEX outbox_due ON outbox(state, next_attempt_at);

CREATE TABLE expiry_notices (
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    notice TEXT NOT NULL,
    outbox_id BIGINT REFERENCES outbox(id) ON DELETE SET NULL,
    created_at ${TIME} NOT NULL,
    PRIMARY KEY (subject_type, subject_id, notice)
);

CREATE TABLE job_runs (
    job TEXT NOT NULL,
    day TEXT NOT NULL,
    holder TEXT NOT NULL,
    started_at ${TIME} NOT NULL,
    lease_until ${TIME} NOT NULL,
    finished_at ${TIME},
    PRIMARY KEY (job, day)
);

-- +goose Down
DROP TABLE job_runs;
DROP TABLE expiry_notices;
DROP TABLE outbox;
