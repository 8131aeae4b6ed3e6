package store

import (
	"context"
	"fmt"
	"time"
)

// Subjects of expiry notices.
const (
	NoticeToken  = "token"
	NoticeSSHKey = "ssh_key"
)

// ExpiryWindow selects rows whose expires_at lies strictly between After
// and Before.
type ExpiryWindow struct {
	After, Before time.Time
}

// TokensForNotice returns the tokens expiring within w that may be mailed
// to their owner and have no notice named notice yet: not revoked, not
// impersonation tokens (their owner did not make them), of active users
// who are not bots. Each comes with its owner; ordered by owner, then id.
func (db *DB) TokensForNotice(ctx context.Context, w ExpiryWindow, notice string) ([]TokenAndUser, error) {
	var out []TokenAndUser
	err := db.selectAll(ctx, &out, `SELECT `+tokenColumns+`, `+prefixed("u", userColumns)+`
		FROM personal_access_tokens t JOIN users u ON u.id = t.user_id
		WHERE t.revoked = FALSE AND t.impersonation = FALSE AND u.state = 'active' AND u.bot = FALSE
		AND t.expires_at IS NOT NULL AND t.expires_at > ? AND t.expires_at < ?
		AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.subject_type = 'token' AND n.subject_id = t.id AND n.notice = ?)
		ORDER BY t.user_id, t.id`, w.After, w.Before, notice)
	if err != nil {
		return nil, fmt.Errorf("tokens to notify: %w", err)
	}
	return out, nil
}

// KeysForNotice is TokensForNotice for SSH keys.
func (db *DB) KeysForNotice(ctx context.Context, w ExpiryWindow, notice string) ([]KeyAndUser, error) {
	var out []KeyAndUser
	err := db.selectAll(ctx, &out, `SELECT `+keyColumns+`, `+prefixed("u", userColumns)+`
		FROM ssh_keys k JOIN users u ON u.id = k.user_id
		WHERE u.state = 'active' AND u.bot = FALSE
		AND k.expires_at IS NOT NULL AND k.expires_at > ? AND k.expires_at < ?
		AND NOT EXISTS (SELECT 1 FROM expiry_notices n WHERE n.subject_type = 'ssh_key' AND n.subject_id = k.id AND n.notice = ?)
		ORDER BY k.user_id, k.id`, w.After, w.Before, notice)
	if err != nil {
		return nil, fmt.Errorf("keys to notify: %w", err)
	}
	return out, nil
}

// InsertNotice records that notice was queued for one token or key. It
// reports false when it already was: on PostgreSQL a concurrent insert
// of the same notice waits for the other transaction and then yields, so
// of several processes exactly one gets true.
func (db *DB) InsertNotice(ctx context.Context, subjectType string, subjectID int64, notice string, now time.Time) (bool, error) {
	n, err := db.exec(ctx, `INSERT INTO expiry_notices (subject_type, subject_id, notice, created_at) VALUES (?,?,?,?)
		ON CONFLICT DO NOTHING`, subjectType, subjectID, notice, now)
	if err != nil {
		return false, fmt.Errorf("record notice: %w", err)
	}
	return n == 1, nil
}

// LinkNotice records which outbox message carried a notice.
func (db *DB) LinkNotice(ctx context.Context, subjectType string, subjectID int64, notice string, outboxID int64) error {
	if _, err := db.exec(ctx, `UPDATE expiry_notices SET outbox_id=? WHERE subject_type=? AND subject_id=? AND notice=?`,
		outboxID, subjectType, subjectID, notice); err != nil {
		return fmt.Errorf("link notice: %w", err)
	}
	return nil
}

// ClaimJobRun claims the run of job for day (YYYY-MM-DD) for holder until
// leaseUntil: the first process to insert the row has it; a run whose
// holder never finished can be taken over once its lease ended. done
// reports a run that already finished.
func (db *DB) ClaimJobRun(ctx context.Context, job, day, holder string, now, leaseUntil time.Time) (claimed, done bool, err error) {
	n, err := db.exec(ctx, `INSERT INTO job_runs (job, day, holder, started_at, lease_until) VALUES (?,?,?,?,?)
		ON CONFLICT DO NOTHING`, job, day, holder, now, leaseUntil)
	if err != nil {
		return false, false, fmt.Errorf("claim %s of %s: %w", job, day, err)
	}
	if n == 1 {
		return true, false, nil
	}
	n, err = db.exec(ctx, `UPDATE job_runs SET holder=?, started_at=?, lease_until=?
		WHERE job=? AND day=? AND finished_at IS NULL AND lease_until < ?`, holder, now, leaseUntil, job, day, now)
	if err != nil {
		return false, false, fmt.Errorf("take over %s of %s: %w", job, day, err)
	}
	if n == 1 {
		return true, false, nil
	}
	var finished *time.Time
	if err := db.get(ctx, &finished, `SELECT finished_at FROM job_runs WHERE job=? AND day=?`, job, day); err != nil {
		return false, false, fmt.Errorf("read %s of %s: %w", job, day, err)
	}
	return false, finished != nil, nil
}

// FinishJobRun marks holder's run of job for day finished.
func (db *DB) FinishJobRun(ctx context.Context, job, day, holder string, now time.Time) error {
	if _, err := db.exec(ctx, `UPDATE job_runs SET finished_at=? WHERE job=? AND day=? AND holder=?`, now, job, day, holder); err != nil {
		return fmt.Errorf("finish %s of %s: %w", job, day, err)
	}
	return nil
}

// JobRun is a row of job_runs.
type JobRun struct {
	Job        string     `db:"job"`
	Day        string     `db:"day"`
	Holder     string     `db:"holder"`
	StartedAt  time.Time  `db:"started_at"`
	LeaseUntil time.Time  `db:"lease_until"`
	FinishedAt *time.Time `db:"finished_at"`
}

// JobRuns lists the runs of job, newest day first.
func (db *DB) JobRuns(ctx context.Context, job string) ([]JobRun, error) {
	var out []JobRun
	if err := db.selectAll(ctx, &out, `SELECT job, day, holder, started_at, lease_until, finished_at FROM job_runs
		WHERE job=? ORDER BY day DESC`, job); err != nil {
		return nil, fmt.Errorf("runs of %s: %w", job, err)
	}
	return out, nil
}
