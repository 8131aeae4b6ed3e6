// Package notify runs gitgate's scheduled jobs: the daily expiry check
// (ExpiryWarnings), which queues the warnings and "has expired" mails of
// personal access tokens and SSH keys, and the Scheduler that runs it at
// 01:00 UTC once per day across every process sharing a database
// (docs/mail.md).
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/mail"
	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/store"
)

// Kinds of mail (the outbox's kind and the metric's label).
const (
	KindTokenExpiring = "token_expiring"
	KindTokenExpired  = "token_expired"
	KindKeyExpiring   = "ssh_key_expiring"
	KindKeyExpired    = "ssh_key_expired"
)

const (
	// KeyWarningDays is how long before an SSH key expires its owner is
	// warned (GitLab: 7 days; the token setting does not apply to keys).
	KeyWarningDays = 7
	// ExpiredLookbackDays is how long after expiring a token or key still
	// gets its "has expired" mail when no check ran on its day, so a
	// missed day is caught up; older ones expired before anyone could
	// have been told and get none.
	ExpiredLookbackDays = 7

	noticeExpired = "expired"
)

// Config configures ExpiryWarnings.
type Config struct {
	// ExternalURL is the base of the links in the mails.
	ExternalURL string
	// Now is the clock (nil: time.Now).
	Now     func() time.Time
	Log     *slog.Logger
	Metrics *metrics.Metrics
	// Queued, if set, is called after a run that queued mail (the
	// server wakes its sender with it).
	Queued func()
}

// ExpiryWarnings is the expiry check.
type ExpiryWarnings struct {
	db   *store.DB
	auth *auth.Service
	cfg  Config
}

// NewExpiryWarnings returns the check over db; settings are read through
// authSvc.
func NewExpiryWarnings(db *store.DB, authSvc *auth.Service, cfg Config) *ExpiryWarnings {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	cfg.ExternalURL = strings.TrimRight(cfg.ExternalURL, "/")
	return &ExpiryWarnings{db: db, auth: authSvc, cfg: cfg}
}

// Queued describes one queued mail.
type Queued struct {
	OutboxID int64
	Kind     string
	To       string
	Subject  string
	// Items counts the tokens or keys the mail lists.
	Items int
}

// Report is what one run did.
type Report struct {
	// TokensFound and KeysFound count those that needed a mail;
	// Queued lists the mails queued for them.
	TokensFound int
	KeysFound   int
	Queued      []Queued
	// Errors counts owners whose mail could not be queued (logged).
	Errors   int
	Duration time.Duration
}

// Run checks every token and key now and queues the mails that are due:
// for each warning threshold (token_expiry_warning_days) one mail per
// owner listing their tokens that expire within it and were not warned at
// it yet, one listing those that expired (today, or within the last
// ExpiredLookbackDays when a check was missed), and the same for SSH keys
// with a fixed KeyWarningDays. Each mail is queued in the transaction
// that records its notices, so running Run again, in this or any other
// process, at the same time or later, never queues a notice twice.
func (w *ExpiryWarnings) Run(ctx context.Context) (Report, error) {
	start := time.Now()
	now := w.cfg.Now().UTC()
	today := auth.Today(now)
	var rep Report
	st, err := w.auth.Settings(ctx)
	if err != nil {
		return rep, err
	}
	// Thresholds smallest first: each covers the days above the one
	// before it, so a token gets the mail of the nearest threshold.
	thresholds := slices.Clone(st.ExpiryWarningDays)
	slices.Sort(thresholds)
	lo := 0
	for _, days := range thresholds {
		win := store.ExpiryWindow{After: auth.AddDays(today, lo), Before: auth.AddDays(today, days+1)}
		if err := w.tokens(ctx, &rep, KindTokenExpiring, strconv.Itoa(days), days, win, now); err != nil {
			return rep, err
		}
		lo = days
	}
	expired := store.ExpiryWindow{After: auth.AddDays(today, -ExpiredLookbackDays-1), Before: auth.AddDays(today, 1)}
	if err := w.tokens(ctx, &rep, KindTokenExpired, noticeExpired, 0, expired, now); err != nil {
		return rep, err
	}
	keysSoon := store.ExpiryWindow{After: now, Before: auth.AddDays(today, KeyWarningDays+1)}
	if err := w.keys(ctx, &rep, KindKeyExpiring, strconv.Itoa(KeyWarningDays), keysSoon, now); err != nil {
		return rep, err
	}
	keysGone := store.ExpiryWindow{After: auth.AddDays(today, -ExpiredLookbackDays-1), Before: now.Add(time.Millisecond)}
	if err := w.keys(ctx, &rep, KindKeyExpired, noticeExpired, keysGone, now); err != nil {
		return rep, err
	}
	rep.Duration = time.Since(start)
	w.cfg.Log.Info("expiry check finished", "token_count", rep.TokensFound, "key_count", rep.KeysFound,
		"mails_queued", len(rep.Queued), "errors", rep.Errors, "duration", rep.Duration.Round(time.Millisecond).String())
	if len(rep.Queued) > 0 && w.cfg.Queued != nil {
		w.cfg.Queued()
	}
	return rep, nil
}

// subject is one token or key to list, with its owner.
type subject struct {
	id    int64
	owner *store.User
	item  item
}

func (w *ExpiryWarnings) tokens(ctx context.Context, rep *Report, kind, notice string, days int, win store.ExpiryWindow, now time.Time) error {
	rows, err := w.db.TokensForNotice(ctx, win, notice)
	if err != nil {
		return err
	}
	rep.TokensFound += len(rows)
	subs := make([]subject, len(rows))
	for i := range rows {
		r := &rows[i]
		subs[i] = subject{id: r.ID, owner: &r.User, item: item{Name: r.Name, Detail: scopesDetail(r.Scopes()),
			Date: r.ExpiresAt.UTC().Format(auth.DateLayout)}}
	}
	subjectLine := SubjectTokenExpired
	if kind == KindTokenExpiring {
		subjectLine = SubjectTokenExpiring(days)
	}
	intro, verb := tokenIntro(kind, days)
	return w.perOwner(ctx, rep, subs, store.NoticeToken, kind, notice, now, mailData{Intro: intro, DateVerb: verb,
		LinkText: tokenLinkText, Link: w.cfg.ExternalURL + "/-/user_settings/personal_access_tokens"}, subjectLine)
}

func (w *ExpiryWarnings) keys(ctx context.Context, rep *Report, kind, notice string, win store.ExpiryWindow, now time.Time) error {
	rows, err := w.db.KeysForNotice(ctx, win, notice)
	if err != nil {
		return err
	}
	rep.KeysFound += len(rows)
	subs := make([]subject, len(rows))
	for i := range rows {
		r := &rows[i]
		subs[i] = subject{id: r.ID, owner: &r.User, item: item{Name: r.Title, Detail: r.Fingerprint,
			Date: r.ExpiresAt.UTC().Format(auth.DateLayout)}}
	}
	subjectLine := SubjectKeyExpired
	if kind == KindKeyExpiring {
		subjectLine = SubjectKeyExpiring
	}
	intro, verb := keyIntro(kind)
	return w.perOwner(ctx, rep, subs, store.NoticeSSHKey, kind, notice, now, mailData{Intro: intro, DateVerb: verb,
		LinkText: keyLinkText, Link: w.cfg.ExternalURL + "/-/user_settings/ssh_keys"}, subjectLine)
}

// perOwner queues one mail per owner of subs (ordered by owner).
func (w *ExpiryWarnings) perOwner(ctx context.Context, rep *Report, subs []subject, subjectType, kind, notice string,
	now time.Time, tmpl mailData, subjectLine string) error {
	for start := 0; start < len(subs); {
		end := start
		for end < len(subs) && subs[end].owner.ID == subs[start].owner.ID {
			end++
		}
		q, err := w.queue(ctx, subs[start:end], subjectType, kind, notice, now, tmpl, subjectLine)
		if errors.Is(err, store.ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		if err != nil {
			// One owner's bad row (an address the outbox refuses) must
			// not hold back everyone else's mail.
			rep.Errors++
			w.cfg.Log.Error("could not queue expiry mail", "kind", kind, "user_id", subs[start].owner.ID, "err", err)
		}
		if q != nil {
			rep.Queued = append(rep.Queued, *q)
			if w.cfg.Metrics != nil {
				w.cfg.Metrics.ExpiryMails.WithLabelValues(kind, "queued").Inc()
			}
		}
		start = end
	}
	return nil
}

// queue records the notices of one owner's subjects and queues their
// mail, in one transaction. A notice another process recorded first is
// left out of the mail; when none is left, nothing is queued.
func (w *ExpiryWarnings) queue(ctx context.Context, subs []subject, subjectType, kind, notice string, now time.Time,
	tmpl mailData, subjectLine string) (*Queued, error) {
	owner := subs[0].owner
	var out *Queued
	err := w.db.InTx(ctx, func(tx *store.DB) error {
		out = nil
		var kept []subject
		for _, s := range subs {
			ok, err := tx.InsertNotice(ctx, subjectType, s.id, notice, now)
			if err != nil {
				return err
			}
			if ok {
				kept = append(kept, s)
			}
		}
		if len(kept) == 0 {
			return nil
		}
		d := tmpl
		d.Greeting = owner.Name
		if d.Greeting == "" {
			d.Greeting = owner.Username
		}
		d.Host = mail.DomainOf(w.cfg.ExternalURL)
		for _, s := range kept {
			d.Items = append(d.Items, s.item)
		}
		text, html, err := render(d)
		if err != nil {
			return err
		}
		row, err := mail.Queue(ctx, tx, mail.Message{Kind: kind, UserID: owner.ID, To: owner.Email, Subject: subjectLine,
			Text: text, HTML: html}, mail.DomainOf(w.cfg.ExternalURL), now)
		if err != nil {
			return err
		}
		for _, s := range kept {
			if err := tx.LinkNotice(ctx, subjectType, s.id, notice, row.ID); err != nil {
				return err
			}
		}
		out = &Queued{OutboxID: row.ID, Kind: kind, To: owner.Email, Subject: subjectLine, Items: len(kept)}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue %s mail for %s: %w", kind, owner.Username, err)
	}
	return out, nil
}
