package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lib/pq"
)

// RefsChannel is the PostgreSQL notification channel on which a replica
// announces that a repository's refs changed (a push), so that the others
// drop their ref snapshot of it (docs/replicas.md).
const RefsChannel = "gitgate_refs"

// refsNote is an announcement: the schema (channels are database-wide)
// and the repository, as a path relative to the repository storage.
type refsNote struct {
	Schema string `json:"schema"`
	Repo   string `json:"repo"`
}

// NotifyRefs announces on RefsChannel that repo's refs changed.
// PostgreSQL only.
func (db *DB) NotifyRefs(ctx context.Context, repo string) error {
	if db.dialect != Postgres {
		return errors.New("ref change announcements need PostgreSQL")
	}
	b, err := json.Marshal(repo)
	if err != nil {
		return err
	}
	if _, err := db.exec(ctx, `SELECT pg_notify(?, json_build_object('schema', current_schema(), 'repo', ?::json)::text)`,
		RefsChannel, string(b)); err != nil {
		return fmt.Errorf("announce changed refs: %w", err)
	}
	return nil
}

// ListenRefs calls onRepo with every repository announced on RefsChannel
// until ctx ends, on a connection of its own that it re-opens when it
// breaks. onConnect runs whenever the connection is (re)established:
// announcements made while it was down are lost, so the caller forgets
// what they would have told it. PostgreSQL only.
func (db *DB) ListenRefs(ctx context.Context, onRepo func(repo string), onConnect func()) error {
	if db.dialect != Postgres {
		return errors.New("ref change announcements need PostgreSQL")
	}
	var schema string
	if err := db.get(ctx, &schema, `SELECT current_schema()`); err != nil {
		return fmt.Errorf("listen for ref changes: %w", err)
	}
	events := make(chan pq.ListenerEventType, 4)
	l := pq.NewListener(db.url, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, _ error) {
		select {
		case events <- ev:
		default:
		}
	})
	defer l.Close()
	// Listen waits for a connection, however long PostgreSQL is away;
	// closing the listener is what ends that wait.
	stop := context.AfterFunc(ctx, func() { l.Close() })
	defer stop()
	if err := l.Listen(RefsChannel); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("listen for ref changes: %w", err)
	}
	onConnect()
	// pq notices a dead connection only when it next uses it.
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case n := <-l.Notify:
			if n == nil {
				continue
			}
			var note refsNote
			if err := json.Unmarshal([]byte(n.Extra), &note); err == nil && note.Schema == schema {
				onRepo(note.Repo)
			}
		case ev := <-events:
			if ev == pq.ListenerEventReconnected {
				onConnect()
			}
		case <-ping.C:
			go l.Ping()
		}
	}
}
