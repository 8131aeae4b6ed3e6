package mail

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/gitgate/gitgate/metrics"
	"github.com/gitgate/gitgate/store"
)

// Delivery timing (docs/mail.md#delivery).
const (
	// BackoffBase is the wait after the first failed attempt; it doubles
	// with every further failure up to BackoffCap.
	BackoffBase = time.Minute
	BackoffCap  = time.Hour
	// ClaimLease is how long a claimed message is left to its sender
	// before another process may send it: longer than one attempt can
	// take (sendTimeout).
	ClaimLease = 5 * time.Minute
	// DefaultPollInterval is how often a running sender looks for new
	// messages, so that what another process queued (gitgate notify run)
	// leaves within a second.
	DefaultPollInterval = 500 * time.Millisecond

	sendTimeout = time.Minute
	// claimBatch is how many messages a sender claims at a time: one, so
	// that its lease counts from the attempt it covers. A lease taken
	// for a batch would run out while a slow server takes the batch's
	// first messages, and another process would send the rest again.
	claimBatch = 1
)

// Backoff is the wait after the attempts-th failed attempt.
func Backoff(attempts int) time.Duration {
	if attempts < 1 {
		attempts = 1
	}
	if attempts > 20 {
		return BackoffCap
	}
	d := BackoffBase << (attempts - 1)
	if d > BackoffCap {
		d = BackoffCap
	}
	return d
}

// Config configures a Sender.
type Config struct {
	// SMTPURL is GITGATE_SMTP_URL; empty means no SMTP: messages stay
	// pending.
	SMTPURL string
	// From is GITGATE_MAIL_FROM.
	From string
	// TLSConfig replaces the TLS client configuration (tests trust their
	// own certificate authority); nil verifies against the system's roots.
	TLSConfig *tls.Config
	// Now is the clock (nil: time.Now); PollInterval the loop's period
	// (0: DefaultPollInterval).
	Now          func() time.Time
	PollInterval time.Duration
	Log          *slog.Logger
	Metrics      *metrics.Metrics
}

// Sender delivers the outbox over SMTP.
type Sender struct {
	db       *store.DB
	endpoint *Endpoint // nil without SMTP
	from     string
	tls      *tls.Config
	now      func() time.Time
	poll     time.Duration
	log      *slog.Logger
	metrics  *metrics.Metrics
	holder   string

	wake     chan struct{}
	stopOnce sync.Once
	stop     chan struct{}
	done     chan struct{}
	started  bool
}

// NewSender checks cfg and returns a Sender (not yet running).
func NewSender(db *store.DB, cfg Config) (*Sender, error) {
	s := &Sender{db: db, from: cfg.From, tls: cfg.TLSConfig, now: cfg.Now, poll: cfg.PollInterval, log: cfg.Log,
		metrics: cfg.Metrics, wake: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	if s.poll <= 0 {
		s.poll = DefaultPollInterval
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if cfg.SMTPURL != "" {
		e, err := ParseURL(cfg.SMTPURL)
		if err != nil {
			return nil, fmt.Errorf("GITGATE_SMTP_URL: %w", err)
		}
		s.endpoint = e
		if _, err := ParseFrom(cfg.From); err != nil {
			return nil, fmt.Errorf("GITGATE_MAIL_FROM: %w", err)
		}
	}
	host, _ := os.Hostname()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	s.holder = host + "/" + fmt.Sprint(os.Getpid()) + "/" + hex.EncodeToString(b)
	return s, nil
}

// Configured reports whether SMTP is configured.
func (s *Sender) Configured() bool { return s.endpoint != nil }

// Endpoint is the SMTP endpoint (nil without SMTP); print it with its
// String method, which hides the password.
func (s *Sender) Endpoint() *Endpoint { return s.endpoint }

// Start runs the delivery loop in the background until Stop: it keeps
// gitgate_outbox_pending current and, with SMTP configured, sends what
// is due.
func (s *Sender) Start() {
	s.started = true
	if s.endpoint != nil {
		s.log.Info("mail delivery enabled", "smtp", s.endpoint.String(), "tls", s.endpoint.TLS, "from", s.from)
	} else {
		s.log.Info("mail delivery disabled: GITGATE_SMTP_URL is not set, messages stay pending in the outbox")
	}
	go s.loop()
}

// Wake makes the loop look for due messages now.
func (s *Sender) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Stop ends the loop, letting a message being sent finish within ctx.
func (s *Sender) Stop(ctx context.Context) error {
	if !s.started {
		return nil
	}
	s.stopOnce.Do(func() { close(s.stop) })
	select {
	case <-s.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop mail sender: %w", ctx.Err())
	}
}

func (s *Sender) loop() {
	defer close(s.done)
	// Not cancelled by Stop: a send in flight has its own deadline
	// (sendTimeout), and cutting it after the server took the message
	// would only cause a resend. Stop is seen between messages.
	ctx := context.Background()
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		s.cycle(ctx)
		select {
		case <-s.stop:
			return
		case <-t.C:
		case <-s.wake:
		}
	}
}

func (s *Sender) cycle(ctx context.Context) {
	if s.endpoint != nil {
		if _, err := s.DeliverDue(ctx); err != nil {
			s.log.Warn("mail delivery pass failed", "err", err)
		}
	}
	if s.metrics != nil {
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		n, err := s.db.CountOutbox(qctx, store.OutboxPending)
		cancel()
		if err == nil {
			s.metrics.OutboxPending.Set(float64(n))
		}
	}
}

// Result counts what a delivery pass did.
type Result struct {
	Sent, Retrying, Failed int
}

// DeliverDue sends the messages that are due and not claimed by another
// process (only those of ids, when given), until none is left or one
// pass finds nothing; each attempt ends as sent, pending with a later
// attempt (a temporary failure), or failed (the server refused it for
// good: a 5xx answer).
func (s *Sender) DeliverDue(ctx context.Context, ids ...int64) (Result, error) {
	var res Result
	if s.endpoint == nil {
		return res, errors.New("no SMTP server configured (GITGATE_SMTP_URL)")
	}
	for {
		select {
		case <-s.stop:
			return res, nil
		default:
		}
		now := s.now().UTC().Truncate(time.Millisecond)
		batch, err := s.db.ClaimOutbox(ctx, s.holder, now, now.Add(ClaimLease), ids, claimBatch)
		if err != nil {
			return res, err
		}
		for i := range batch {
			if err := s.deliver(ctx, &batch[i], &res); err != nil {
				return res, err
			}
		}
		if len(batch) < claimBatch {
			return res, nil
		}
	}
}

// deliver makes one attempt at m and records its outcome.
func (s *Sender) deliver(ctx context.Context, m *store.OutboxMessage, res *Result) error {
	err := s.send(ctx, m)
	now := s.now().UTC().Truncate(time.Millisecond)
	if err == nil {
		if _, err := s.db.MarkOutboxSent(ctx, m.ID, s.holder, now); err != nil {
			return err
		}
		res.Sent++
		s.count(m.Kind, "sent")
		return nil
	}
	text := s.endpoint.scrub(err.Error())
	attempts := m.Attempts + 1
	if permanent(err) {
		if _, err := s.db.MarkOutboxAttemptFailed(ctx, m.ID, s.holder, store.OutboxFailed, text, now); err != nil {
			return err
		}
		res.Failed++
		s.count(m.Kind, "failed")
		s.log.Error("mail refused for good", "id", m.ID, "to", m.Recipient, "subject", m.Subject, "attempts", attempts, "err", text)
		return nil
	}
	next := now.Add(Backoff(attempts))
	if _, err := s.db.MarkOutboxAttemptFailed(ctx, m.ID, s.holder, store.OutboxPending, text, next); err != nil {
		return err
	}
	res.Retrying++
	s.count(m.Kind, "retry")
	s.log.Warn("mail not sent, will retry", "id", m.ID, "to", m.Recipient, "subject", m.Subject, "attempts", attempts,
		"next_attempt", next.Format(time.RFC3339), "smtp", s.endpoint.String(), "err", text)
	return nil
}

func (s *Sender) count(kind, result string) {
	if s.metrics != nil {
		s.metrics.ExpiryMails.WithLabelValues(kind, result).Inc()
	}
}

// permanent tells a refusal that retrying cannot change (an SMTP 5xx
// answer, an address the message cannot carry) from a temporary failure
// (4xx, no connection, a timeout, a TLS or authentication problem an
// operator can fix).
func permanent(err error) bool {
	var se *gomail.SendError
	if errors.As(err, &se) {
		code := se.ErrorCode()
		return code >= 500 && code < 600
	}
	var bad *badMessageError
	return errors.As(err, &bad)
}

type badMessageError struct{ err error }

func (e *badMessageError) Error() string { return e.err.Error() }

// send makes one SMTP delivery of m.
func (s *Sender) send(ctx context.Context, m *store.OutboxMessage) error {
	msg, err := s.build(m)
	if err != nil {
		return &badMessageError{err}
	}
	e := s.endpoint
	opts := []gomail.Option{gomail.WithPort(e.Port), gomail.WithTimeout(sendTimeout / 2)}
	tlsConfig := &tls.Config{ServerName: e.Host, MinVersion: tls.VersionTLS12}
	if s.tls != nil {
		tlsConfig = s.tls.Clone()
		if tlsConfig.ServerName == "" {
			tlsConfig.ServerName = e.Host
		}
	}
	opts = append(opts, gomail.WithTLSConfig(tlsConfig))
	switch {
	case e.ImplicitTLS:
		opts = append(opts, gomail.WithSSL())
	case e.TLS == TLSRequire:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case e.TLS == TLSNone:
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if e.Username != "" {
		// Auto-discovery offers PLAIN and LOGIN only over TLS (or to
		// localhost): a password never crosses the network in clear.
		opts = append(opts, gomail.WithSMTPAuth(gomail.SMTPAuthAutoDiscover),
			gomail.WithUsername(e.Username), gomail.WithPassword(e.Password))
	}
	c, err := gomail.NewClient(e.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), sendTimeout)
	defer cancel()
	err = c.DialAndSendWithContext(sctx, msg)
	if err != nil && msg.IsDelivered() {
		// The server took the message; what failed came after (RSET,
		// QUIT). Marking it unsent would only send it twice.
		s.log.Warn("mail accepted, but the SMTP session ended badly", "id", m.ID, "err", e.scrub(err.Error()))
		return nil
	}
	if err != nil {
		return fmt.Errorf("send to %s via %s: %w", m.Recipient, e.Addr(), err)
	}
	return nil
}

// build renders an outbox row as a MIME message: multipart/alternative
// with the plain text first, and the Date and Message-ID fixed at
// queueing, so that a resend is the same message.
func (s *Sender) build(m *store.OutboxMessage) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(s.from); err != nil {
		return nil, fmt.Errorf("from: %w", err)
	}
	if err := msg.To(m.Recipient); err != nil {
		return nil, fmt.Errorf("to: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetDateWithValue(m.CreatedAt.UTC())
	msg.SetMessageIDWithValue(strings.Trim(m.MessageID, "<>"))
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetGenHeader(gomail.HeaderXAutoResponseSuppress, "All")
	msg.SetUserAgent("gitgate")
	msg.SetBodyString(gomail.TypeTextPlain, m.BodyText)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.BodyHTML)
	return msg, nil
}
