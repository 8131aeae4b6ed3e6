package notify_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/smtptest"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/notify"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// These tests run whole gitgate servers in-process with an injected clock
// and a real SMTP receiver, the way replicas share one database.

const keyBase = "notify-tests-secret-key-base-0123456789abcdef0123456789abcdef"

type gitgate struct {
	*server.Server
	once sync.Once
	t    *testing.T
}

func (g *gitgate) stop() {
	g.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := g.Shutdown(ctx); err != nil {
			g.t.Errorf("shutdown: %v", err)
		}
	})
}

// serve starts a server on dataDir and dbURL ("" is SQLite in dataDir).
func serve(t *testing.T, dataDir, dbURL, smtpURL string, clock *smtptest.Clock) *gitgate {
	t.Helper()
	cfg := server.Config{DataDir: dataDir, DatabaseURL: dbURL, HTTPAddr: "127.0.0.1:0", SSHAddr: "127.0.0.1:0",
		InitialRootPassword: "root-password-for-tests", ShutdownTimeout: 5 * time.Second, SecretKeyBase: keyBase,
		ExternalURL: "https://git.example.com", SMTPURL: smtpURL, Now: clock.Now, DisablePackCache: true}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := server.New(ctx, cfg, logging.Discard())
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gitgate{Server: srv, t: t}
	t.Cleanup(g.stop)
	return g
}

// eventually waits for cond, failing after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func outbox(t *testing.T, db *store.DB, state string) []store.OutboxMessage {
	t.Helper()
	rows, err := db.ListOutbox(context.Background(), state, 0)
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func dayDone(db *store.DB, day string) func() bool {
	return func() bool {
		runs, err := db.JobRuns(context.Background(), notify.JobExpiryCheck)
		return err == nil && len(runs) > 0 && runs[0].Day == day && runs[0].FinishedAt != nil
	}
}

func TestOwnersGetOneMailAtOneAMListingTheirTokensWithoutSecrets(t *testing.T) {
	for _, d := range testdb.Engines {
		t.Run(string(d), func(t *testing.T) {
			clock := smtptest.NewClock(today.Add(-time.Hour)) // 23:00 the day before
			rcv := smtptest.Start(t, smtptest.Options{})
			g := serve(t, t.TempDir(), testdb.URL(t, d), rcv.URL(), clock)
			eventually(t, "the start-up catch-up", dayDone(g.DB, "2030-03-09"))
			w := &world{t: t, db: g.DB, auth: g.Auth, clock: clock}
			alice, carol, bob := w.user("alice", false, false), w.user("carol", false, false), w.user("bob", true, false)
			secrets := []string{
				w.token(alice, "laptop", day(3), false, false),
				w.token(alice, "ci-runner", day(7), false, false),
				w.token(alice, "old-script", day(0), false, false),
				w.token(alice, "next-month", day(30), false, false),
				w.token(carol, "deploy", day(1), false, false),
				w.token(bob, "blocked", day(2), false, false),
			}
			clock.Set(runAt)
			got := rcv.Wait(3)
			eventually(t, "the day's run to finish", dayDone(g.DB, "2030-03-10"))
			eventually(t, "every mail sent", func() bool { return len(outbox(t, g.DB, store.OutboxSent)) == 3 })
			if all := outbox(t, g.DB, ""); len(all) != 3 {
				t.Fatalf("%d mails queued, want 3", len(all))
			}
			bySubject := map[string]smtptest.Parsed{}
			for _, m := range got {
				p := smtptest.Parse(t, m.Data)
				key := m.To[0] + ": " + p.Header.Get("Subject")
				if _, dup := bySubject[key]; dup {
					t.Fatalf("two mails %s", key)
				}
				bySubject[key] = p
				for _, s := range secrets {
					if strings.Contains(string(m.Data), s) {
						t.Fatalf("a token value is in the mail to %s", m.To[0])
					}
				}
				for _, h := range []string{"Date", "Message-Id", "From", "To", "Subject"} {
					if p.Header.Get(h) == "" {
						t.Errorf("mail to %s has no %s header", m.To[0], h)
					}
				}
				if p.Header.Get("From") != `"GitGate" <gitgate@git.example.com>` || p.Header.Get("Date") != runAt.Format(time.RFC1123Z) {
					t.Errorf("From %q, Date %q", p.Header.Get("From"), p.Header.Get("Date"))
				}
			}
			link := "https://git.example.com/-/user_settings/personal_access_tokens"
			for key, want := range map[string][]string{
				"alice@example.com: Your personal access token will expire in 7 days or less": {"Hi Alice,", "laptop (scopes: api, read_repository), expires on 2030-03-13", "ci-runner (scopes: api, read_repository), expires on 2030-03-17"},
				"alice@example.com: Your personal access token has expired":                   {"old-script (scopes: api, read_repository), expired on 2030-03-10"},
				"carol@example.com: Your personal access token will expire in 7 days or less": {"Hi Carol,", "deploy (scopes: api, read_repository), expires on 2030-03-11"},
			} {
				p, ok := bySubject[key]
				if !ok {
					t.Errorf("no mail %q; got %v", key, keys(bySubject))
					continue
				}
				for _, w := range append(want, link) {
					if !strings.Contains(p.Text, w) {
						t.Errorf("%s: plain text lacks %q:\n%s", key, w, p.Text)
					}
				}
				if !strings.Contains(p.HTML, `<a href="`+link+`">`) {
					t.Errorf("%s: HTML part has no link to the Access tokens page:\n%s", key, p.HTML)
				}
				for _, other := range []string{"next-month", "blocked"} {
					if strings.Contains(p.Text+p.HTML, other) {
						t.Errorf("%s lists %s", key, other)
					}
				}
			}
			resp, err := http.Get("http://" + g.HTTPAddr() + "/-/metrics")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`gitgate_token_expiry_mails_total{kind="token_expiring",result="sent"} 2`,
				`gitgate_token_expiry_mails_total{kind="token_expired",result="queued"} 1`, "gitgate_outbox_pending "} {
				if !strings.Contains(string(body), want) {
					t.Errorf("metrics lack %s", want)
				}
			}
		})
	}
}

func keys(m map[string]smtptest.Parsed) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// prepare makes a migrated database with alice and one token expiring
// in three days, as a server that was down at 01:00 would find it.
func prepare(t *testing.T, dataDir, dbURL string) {
	t.Helper()
	db, _, _, err := server.OpenDatabase(context.Background(), server.Config{DataDir: dataDir, DatabaseURL: dbURL, SecretKeyBase: keyBase}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	w := newWorld(t, db)
	w.token(w.user("alice", false, false), "laptop", day(3), false, false)
}

func TestMissedRunIsCaughtUpAtStartAndMailQueuedBeforeACrashIsSentOnceAfterRestart(t *testing.T) {
	for _, d := range testdb.Engines {
		t.Run(string(d), func(t *testing.T) {
			dataDir, dbURL := t.TempDir(), testdb.URL(t, d)
			prepare(t, dataDir, dbURL)
			clock := smtptest.NewClock(runAt.Add(14 * time.Hour)) // 15:00: the 01:00 run was missed
			rcv := smtptest.Start(t, smtptest.Options{})
			// The first server catches up at start but cannot send (no
			// SMTP yet), and goes away with the mail queued.
			first := serve(t, dataDir, dbURL, "", clock)
			eventually(t, "the catch-up run", dayDone(first.DB, "2030-03-10"))
			if p := outbox(t, first.DB, store.OutboxPending); len(p) != 1 {
				t.Fatalf("%d pending mails after the catch-up, want 1", len(p))
			}
			first.stop()
			second := serve(t, dataDir, dbURL, rcv.URL(), clock)
			got := rcv.Wait(1)
			eventually(t, "the mail marked sent", func() bool { return len(outbox(t, second.DB, store.OutboxSent)) == 1 })
			if all := outbox(t, second.DB, ""); len(all) != 1 || len(rcv.Messages()) != 1 {
				t.Fatalf("%d mails queued and %d received, want one each", len(all), len(rcv.Messages()))
			}
			if p := smtptest.Parse(t, got[0].Data); p.Header.Get("Message-Id") != "<"+outbox(t, second.DB, "")[0].MessageID+">" {
				t.Errorf("the mail sent after the restart is not the one queued before it")
			}
		})
	}
}

func TestThreeServersOnOnePostgresDatabaseMailEachOwnerOnceAtOneAM(t *testing.T) {
	dbURL := testdb.URL(t, store.Postgres)
	clock := smtptest.NewClock(runAt.Add(-30 * time.Second))
	rcv := smtptest.Start(t, smtptest.Options{})
	var servers []*gitgate
	for range 3 {
		servers = append(servers, serve(t, t.TempDir(), dbURL, rcv.URL(), clock))
	}
	db := servers[0].DB
	eventually(t, "the start-up catch-up", dayDone(db, "2030-03-09"))
	w := &world{t: t, db: db, auth: servers[1].Auth, clock: clock}
	const owners = 6
	for i := range owners {
		u := w.user(fmt.Sprintf("owner%d", i), false, false)
		w.token(u, "first", day(2), false, false)
		w.token(u, "second", day(5), false, false)
	}
	clock.Set(runAt)
	rcv.Wait(owners)
	eventually(t, "the day's run to finish", dayDone(db, "2030-03-10"))
	eventually(t, "every mail sent", func() bool { return len(outbox(t, db, store.OutboxSent)) == owners })
	if all := outbox(t, db, ""); len(all) != owners {
		t.Fatalf("%d mails queued, want %d", len(all), owners)
	}
	got := rcv.Messages()
	seen := map[string]int{}
	for _, m := range got {
		seen[m.To[0]]++
	}
	if len(got) != owners || len(seen) != owners {
		t.Fatalf("received %d mails for %d owners: %v", len(got), len(seen), seen)
	}
	runs, _ := db.JobRuns(context.Background(), notify.JobExpiryCheck)
	if len(runs) != 2 {
		t.Fatalf("job runs: %+v", runs)
	}
}

func TestReceiverDownAtOneAMKeepsMailPendingUntilItReturns(t *testing.T) {
	clock := smtptest.NewClock(today.Add(-time.Hour))
	rcv := smtptest.Start(t, smtptest.Options{})
	g := serve(t, t.TempDir(), "", rcv.URL(), clock)
	eventually(t, "the start-up catch-up", dayDone(g.DB, "2030-03-09"))
	w := &world{t: t, db: g.DB, auth: g.Auth, clock: clock}
	w.token(w.user("alice", false, false), "laptop", day(3), false, false)
	rcv.Stop()
	clock.Set(runAt)
	eventually(t, "a failed attempt", func() bool {
		p := outbox(t, g.DB, store.OutboxPending)
		return len(p) == 1 && p[0].Attempts >= 1 && p[0].LastError != ""
	})
	rcv.Restart()
	clock.Add(time.Minute)
	rcv.Wait(1)
	eventually(t, "the mail marked sent", func() bool { return len(outbox(t, g.DB, store.OutboxSent)) == 1 })
	if n := len(rcv.Messages()); n != 1 {
		t.Fatalf("received %d", n)
	}
}
