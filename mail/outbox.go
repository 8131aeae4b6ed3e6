package mail

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gitgate/gitgate/store"
)

// Message is a mail to queue: one recipient, a subject and the same text
// as plain text and HTML. Kind names what it is about (a metrics label,
// e.g. "token_expiring").
type Message struct {
	Kind      string
	UserID    int64
	To        string
	Subject   string
	Text      string
	HTML      string
	MessageID string // optional; generated when empty
}

// Queue writes m to the outbox through tx (the caller's transaction, so
// the message exists exactly when what it reports was recorded) and
// returns the stored row. domain is the right-hand side of generated
// Message-IDs.
func Queue(ctx context.Context, tx *store.DB, m Message, domain string, now time.Time) (*store.OutboxMessage, error) {
	if _, err := ParseFrom(m.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	id := m.MessageID
	if id == "" {
		id = NewMessageID(domain)
	}
	now = now.UTC().Truncate(time.Millisecond)
	row := &store.OutboxMessage{Kind: m.Kind, Recipient: m.To, Subject: m.Subject, MessageID: id,
		BodyText: m.Text, BodyHTML: m.HTML, CreatedAt: now, NextAttemptAt: now}
	if m.UserID != 0 {
		uid := m.UserID
		row.UserID = &uid
	}
	if err := tx.InsertOutbox(ctx, row); err != nil {
		return nil, err
	}
	return row, nil
}

// NewMessageID returns a globally unique Message-ID (without the angle
// brackets) in domain.
func NewMessageID(domain string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	if domain == "" {
		domain = "localhost"
	}
	return "gitgate." + hex.EncodeToString(b) + "@" + domain
}

// DomainOf is the host of an external URL, for Message-IDs.
func DomainOf(externalURL string) string {
	if u, err := url.Parse(externalURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}

// ErrNotRetryable is returned by Retry for a message already sent.
var ErrNotRetryable = errors.New("only pending or failed messages can be retried")

// Retry makes a failed (or waiting) message due now, keeping its
// Message-ID and its attempt count.
func Retry(ctx context.Context, db *store.DB, id int64, now time.Time) (*store.OutboxMessage, error) {
	m, err := db.OutboxByID(ctx, id)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("no mail with id %d", id)
		}
		return nil, err
	}
	ok, err := db.RequeueOutbox(ctx, id, now.UTC().Truncate(time.Millisecond))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("mail %d is %s: %w", id, m.State, ErrNotRetryable)
	}
	return db.OutboxByID(ctx, id)
}
