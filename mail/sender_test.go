package mail_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/smtptest"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/mail"
	"github.com/gitgate/gitgate/store"
)

var t0 = time.Date(2030, 3, 10, 1, 0, 0, 0, time.UTC)

func queue(t *testing.T, db *store.DB, clock *smtptest.Clock, to string) *store.OutboxMessage {
	t.Helper()
	m, err := mail.Queue(context.Background(), db, mail.Message{Kind: "token_expiring", To: to,
		Subject: "Your personal access token will expire in 7 days or less", Text: "plain words", HTML: "<p>html words</p>"},
		"gitgate.example.com", clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func sender(t *testing.T, db *store.DB, rcv *smtptest.Server, clock *smtptest.Clock, log *bytes.Buffer) *mail.Sender {
	t.Helper()
	cfg := mail.Config{SMTPURL: rcv.URL(), From: "GitGate <gitgate@example.com>", TLSConfig: rcv.ClientTLS(), Now: clock.Now}
	if log != nil {
		cfg.Log, _ = logging.New(log, "text", "debug")
	}
	s, err := mail.NewSender(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func row(t *testing.T, db *store.DB, id int64) *store.OutboxMessage {
	t.Helper()
	m, err := db.OutboxByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func deliver(t *testing.T, s *mail.Sender) mail.Result {
	t.Helper()
	res, err := s.DeliverDue(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestSenderDeliversOverPlainSTARTTLSAndImplicitTLSWithHeadersAndBothParts(t *testing.T) {
	cases := []struct {
		name string
		opts smtptest.Options
	}{
		{"plain, tls=none", smtptest.Options{}},
		{"STARTTLS required, with a password", smtptest.Options{STARTTLS: true, Username: "mailer", Password: "s3cret-smtp-pw"}},
		{"smtps, with a password", smtptest.Options{ImplicitTLS: true, Username: "mailer", Password: "s3cret-smtp-pw"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := testdb.Open(t, store.SQLite)
			clock := smtptest.NewClock(t0)
			rcv := smtptest.Start(t, c.opts)
			m := queue(t, db, clock, "alice@example.com")
			if res := deliver(t, sender(t, db, rcv, clock, nil)); res.Sent != 1 {
				t.Fatalf("delivery: %+v, want one sent", res)
			}
			got := rcv.Wait(1)
			if len(got) != 1 || got[0].To[0] != "alice@example.com" || got[0].From != "gitgate@example.com" {
				t.Fatalf("envelope: %+v", got)
			}
			p := smtptest.Parse(t, got[0].Data)
			for h, want := range map[string]string{
				"From":           `"GitGate" <gitgate@example.com>`,
				"To":             "<alice@example.com>",
				"Subject":        "Your personal access token will expire in 7 days or less",
				"Message-Id":     "<" + m.MessageID + ">",
				"Date":           t0.Format(time.RFC1123Z),
				"Auto-Submitted": "auto-generated",
			} {
				if got := p.Header.Get(h); got != want {
					t.Errorf("%s: %q, want %q", h, got, want)
				}
			}
			if p.ContentType != "multipart/alternative" || strings.TrimSpace(p.Text) != "plain words" || strings.TrimSpace(p.HTML) != "<p>html words</p>" {
				t.Errorf("body: %s, text %q, html %q", p.ContentType, p.Text, p.HTML)
			}
			if r := row(t, db, m.ID); r.State != store.OutboxSent || r.Attempts != 1 || r.SentAt == nil {
				t.Errorf("outbox row after delivery: %+v", r)
			}
		})
	}
}

func TestBackoffDoublesUpToItsCap(t *testing.T) {
	for attempts, want := range map[int]time.Duration{1: time.Minute, 2: 2 * time.Minute, 3: 4 * time.Minute,
		6: 32 * time.Minute, 7: time.Hour, 30: time.Hour, 1000: time.Hour} {
		if got := mail.Backoff(attempts); got != want {
			t.Errorf("Backoff(%d) = %v, want %v", attempts, got, want)
		}
	}
}

func TestReceiverDownKeepsMailPendingWithBackoffUntilItReturns(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		clock := smtptest.NewClock(t0)
		rcv := smtptest.Start(t, smtptest.Options{})
		s := sender(t, db, rcv, clock, nil)
		m := queue(t, db, clock, "alice@example.com")
		rcv.Stop()
		if res := deliver(t, s); res.Retrying != 1 {
			t.Fatalf("with the receiver down: %+v, want one retrying", res)
		}
		r := row(t, db, m.ID)
		if r.State != store.OutboxPending || r.Attempts != 1 || r.LastError == "" || !r.NextAttemptAt.Equal(t0.Add(time.Minute)) {
			t.Fatalf("after a failed attempt: state %s, attempts %d, error %q, next %v", r.State, r.Attempts, r.LastError, r.NextAttemptAt)
		}
		clock.Add(time.Minute)
		if res := deliver(t, s); res.Retrying != 1 {
			t.Fatalf("second attempt: %+v", res)
		}
		if r := row(t, db, m.ID); !r.NextAttemptAt.Equal(t0.Add(3 * time.Minute)) {
			t.Fatalf("second backoff: next attempt %v, want two minutes after the second attempt", r.NextAttemptAt)
		}
		rcv.Restart()
		if res := deliver(t, s); res != (mail.Result{}) {
			t.Fatalf("before the backoff ended: %+v, want nothing attempted", res)
		}
		clock.Add(2 * time.Minute)
		if res := deliver(t, s); res.Sent != 1 {
			t.Fatalf("after the receiver returned: %+v", res)
		}
		got := rcv.Wait(1)
		if len(got) != 1 || !strings.Contains(string(got[0].Data), m.MessageID) {
			t.Fatalf("received %d messages", len(got))
		}
	})
}

func TestPermanentRefusalFailsAtOnceAndRetryResendsTheSameMessage(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		clock := smtptest.NewClock(t0)
		rcv := smtptest.Start(t, smtptest.Options{})
		var log bytes.Buffer
		s := sender(t, db, rcv, clock, &log)
		m := queue(t, db, clock, "alice@example.com")
		rcv.Reject(550, "mailbox unavailable")
		if res := deliver(t, s); res.Failed != 1 {
			t.Fatalf("on a 550: %+v, want one failed", res)
		}
		r := row(t, db, m.ID)
		if r.State != store.OutboxFailed || r.Attempts != 1 || !strings.Contains(r.LastError, "550") {
			t.Fatalf("after a 550: %+v", r)
		}
		if !strings.Contains(log.String(), "mail refused for good") {
			t.Errorf("no log line for the failed send: %s", log.String())
		}
		clock.Add(48 * time.Hour)
		if res := deliver(t, s); res != (mail.Result{}) {
			t.Fatalf("a failed message was attempted again: %+v", res)
		}
		if _, err := mail.Retry(context.Background(), db, m.ID, clock.Now()); err != nil {
			t.Fatal(err)
		}
		rcv.Reject(0, "")
		if res := deliver(t, s); res.Sent != 1 {
			t.Fatalf("after mail retry: %+v", res)
		}
		p := smtptest.Parse(t, rcv.Wait(1)[0].Data)
		if p.Header.Get("Message-Id") != "<"+m.MessageID+">" {
			t.Errorf("retried message has Message-ID %q, want the original %q", p.Header.Get("Message-Id"), m.MessageID)
		}
		if _, err := mail.Retry(context.Background(), db, m.ID, clock.Now()); err == nil {
			t.Error("a sent message could be retried")
		}
	})
}

func TestTemporaryRefusalIsRetried(t *testing.T) {
	db := testdb.Open(t, store.SQLite)
	clock := smtptest.NewClock(t0)
	rcv := smtptest.Start(t, smtptest.Options{})
	s := sender(t, db, rcv, clock, nil)
	m := queue(t, db, clock, "alice@example.com")
	rcv.Reject(451, "try again later")
	if res := deliver(t, s); res.Retrying != 1 {
		t.Fatalf("on a 451: %+v, want one retrying", res)
	}
	if r := row(t, db, m.ID); r.State != store.OutboxPending || !strings.Contains(r.LastError, "451") {
		t.Fatalf("after a 451: %+v", r)
	}
}

func TestMessageClaimedByACrashedSenderIsSentOnceAfterItsLease(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		clock := smtptest.NewClock(t0)
		rcv := smtptest.Start(t, smtptest.Options{})
		queue(t, db, clock, "alice@example.com")
		// A process claimed it and died before recording anything.
		claimed, err := db.ClaimOutbox(context.Background(), "crashed", clock.Now(), clock.Now().Add(mail.ClaimLease), nil, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claim: %v, %d rows", err, len(claimed))
		}
		s := sender(t, db, rcv, clock, nil)
		if res := deliver(t, s); res != (mail.Result{}) {
			t.Fatalf("a message under another sender's lease was sent: %+v", res)
		}
		clock.Add(mail.ClaimLease + time.Second)
		if res := deliver(t, s); res.Sent != 1 {
			t.Fatalf("after the lease: %+v", res)
		}
		if res := deliver(t, s); res != (mail.Result{}) {
			t.Fatalf("sent twice: %+v", res)
		}
		if n := len(rcv.Wait(1)); n != 1 {
			t.Fatalf("received %d", n)
		}
	})
}

func TestSlowServerNeverOutlastsTheClaimOfTheMessageBeingSent(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		clock := smtptest.NewClock(t0)
		// Each message takes 40 s, well within one attempt's timeout;
		// ten of them take longer than one claim's lease. After the
		// eighth arrived, a second sender looks for due messages.
		const n = 10
		var second *mail.Sender
		var once sync.Once
		arrived := 0
		var mu sync.Mutex
		rcv := smtptest.Start(t, smtptest.Options{Accepting: func(smtptest.Message) {
			clock.Add(40 * time.Second)
			mu.Lock()
			arrived++
			now := arrived
			mu.Unlock()
			if now == 8 {
				once.Do(func() { deliver(t, second) })
			}
		}})
		for i := range n {
			queue(t, db, clock, fmt.Sprintf("user%d@example.com", i))
		}
		first := sender(t, db, rcv, clock, nil)
		second = sender(t, db, rcv, clock, nil)
		deliver(t, first)
		got := rcv.Messages()
		seen := map[string]int{}
		for _, m := range got {
			seen[m.To[0]]++
		}
		for to, k := range seen {
			if k != 1 {
				t.Errorf("%s received %d copies", to, k)
			}
		}
		if len(seen) != n {
			t.Fatalf("%d recipients of %d received their message", len(seen), n)
		}
	})
}

func TestConcurrentSendersSendEachMessageOnce(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		clock := smtptest.NewClock(t0)
		rcv := smtptest.Start(t, smtptest.Options{})
		const n = 12
		for i := range n {
			queue(t, db, clock, fmt.Sprintf("user%d@example.com", i))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for range 3 {
			s := sender(t, db, rcv, clock, nil)
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := s.DeliverDue(context.Background())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += res.Sent
				mu.Unlock()
			}()
		}
		wg.Wait()
		got := rcv.Wait(n)
		seen := map[string]bool{}
		for _, m := range got {
			if seen[m.To[0]] {
				t.Errorf("%s got two messages", m.To[0])
			}
			seen[m.To[0]] = true
		}
		if len(got) != n || total != n {
			t.Fatalf("received %d, senders counted %d, want %d", len(got), total, n)
		}
	})
}

func TestSMTPPasswordAppearsInNoErrorLogOrOutboxRow(t *testing.T) {
	const password = "hunter2-smtp-password"
	db := testdb.Open(t, store.SQLite)
	clock := smtptest.NewClock(t0)
	rcv := smtptest.Start(t, smtptest.Options{STARTTLS: true, Username: "mailer", Password: "the-right-one"})
	var log bytes.Buffer
	l, _ := logging.New(&log, "text", "debug")
	url := strings.Replace(rcv.URL(), "the-right-one", password, 1)
	s, err := mail.NewSender(db, mail.Config{SMTPURL: url, From: "gitgate@example.com", TLSConfig: rcv.ClientTLS(), Now: clock.Now, Log: l})
	if err != nil {
		t.Fatal(err)
	}
	m := queue(t, db, clock, "alice@example.com")
	res, err := s.DeliverDue(context.Background())
	if err != nil || res.Retrying != 1 {
		t.Fatalf("with a wrong password: %+v, %v", res, err)
	}
	// Started only now, and stopped before the log is read: a running
	// loop would race this call for the message (and write the log
	// while it is read). Start logs the endpoint it sends to.
	s.Start()
	if err := s.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	r := row(t, db, m.ID)
	for what, text := range map[string]string{"log": log.String(), "last error": r.LastError, "endpoint": s.Endpoint().String()} {
		if strings.Contains(text, password) {
			t.Errorf("the SMTP password is in the %s: %s", what, text)
		}
	}
	if !strings.Contains(log.String(), "mail not sent, will retry") || !strings.Contains(log.String(), "smtp://mailer:") {
		t.Errorf("the failed send is not logged with the redacted URL: %s", log.String())
	}
}

func TestParseURL(t *testing.T) {
	good := []struct {
		url      string
		host     string
		port     int
		tls      string
		implicit bool
		user     string
	}{
		{"smtp://mail.example.com", "mail.example.com", 25, mail.TLSOpportunistic, false, ""},
		{"smtp://u:p@mail.example.com:587", "mail.example.com", 587, mail.TLSOpportunistic, false, "u"},
		{"smtp://mail.example.com:587?tls=require", "mail.example.com", 587, mail.TLSRequire, false, ""},
		{"smtp://127.0.0.1:2525?tls=none", "127.0.0.1", 2525, mail.TLSNone, false, ""},
		{"smtps://u:p@mail.example.com", "mail.example.com", 465, mail.TLSRequire, true, "u"},
	}
	for _, c := range good {
		e, err := mail.ParseURL(c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if e.Host != c.host || e.Port != c.port || e.TLS != c.tls || e.ImplicitTLS != c.implicit || e.Username != c.user {
			t.Errorf("%s: %+v", c.url, e)
		}
	}
	for _, bad := range []string{"http://u:topsecret@mail.example.com", "smtp://u:topsecret@:25", "smtp://u:topsecret@h:99999",
		"smtp://u:topsecret@h?tls=maybe", "smtps://u:topsecret@h?tls=none", "smtp://u:topsecret@h?foo=1", "smtp://u:topsecret@h\x7f",
		// Passwords with an unencoded /, ? or #: url reads the rest as a
		// path, query or fragment.
		"smtp://u:/topsecret@h", "smtp://u:?topsecret@h", "smtp://u:1234#topsecret@h", "smtp://u:1234?tls=topsecret@h",
		"smtp://u:1234?a;topsecret@h", "smtp://u:1234/topsecret@h:587?tls=require"} {
		_, err := mail.ParseURL(bad)
		if err == nil {
			t.Errorf("%q accepted", bad)
			continue
		}
		if strings.Contains(err.Error(), "topsecret") {
			t.Errorf("%q: the error repeats the password: %v", bad, err)
		}
	}
}
