package notify_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/smtptest"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/notify"
	"github.com/gitgate/gitgate/store"
)

// runAt is 01:00 UTC on the test's "today".
var (
	today = time.Date(2030, 3, 10, 0, 0, 0, 0, time.UTC)
	runAt = today.Add(time.Hour)
)

func day(offset int) *time.Time { d := today.AddDate(0, 0, offset); return &d }

type world struct {
	t     *testing.T
	db    *store.DB
	auth  *auth.Service
	clock *smtptest.Clock
}

func newWorld(t *testing.T, db *store.DB) *world {
	clock := smtptest.NewClock(runAt)
	a := auth.New(db, auth.WithClock(clock.Now))
	t.Cleanup(func() { a.Close(context.Background()) })
	return &world{t: t, db: db, auth: a, clock: clock}
}

func (w *world) user(name string, blocked, bot bool) *auth.User {
	w.t.Helper()
	u, err := w.auth.CreateUser(context.Background(), auth.NewUser{Username: name, Email: name + "@example.com", Name: strings.ToUpper(name[:1]) + name[1:], Bot: bot})
	if err != nil {
		w.t.Fatal(err)
	}
	if blocked {
		if _, err := w.auth.SetBlocked(context.Background(), u.ID, true); err != nil {
			w.t.Fatal(err)
		}
	}
	return u
}

func (w *world) token(u *auth.User, name string, expires *time.Time, revoked, impersonation bool) string {
	w.t.Helper()
	c, err := w.auth.CreateToken(context.Background(), auth.NewToken{UserID: u.ID, Name: name, Scopes: []string{"api", "read_repository"},
		ExpiresAt: expires, AllowPastExpiry: true, Impersonation: impersonation})
	if err != nil {
		w.t.Fatalf("token %s: %v", name, err)
	}
	if revoked {
		if _, err := w.auth.RevokeToken(context.Background(), c.Token.ID); err != nil {
			w.t.Fatal(err)
		}
	}
	return c.Secret
}

func (w *world) check() *notify.ExpiryWarnings {
	return notify.NewExpiryWarnings(w.db, w.auth, notify.Config{ExternalURL: "https://git.example.com/", Now: w.clock.Now})
}

func (w *world) run() notify.Report {
	w.t.Helper()
	rep, err := w.check().Run(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return rep
}

// mails maps "recipient kind" to the names of the tokens or keys the
// outbox's mails list.
func (w *world) mails() map[string][]string {
	w.t.Helper()
	rows, err := w.db.ListOutbox(context.Background(), "", 0)
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[string][]string{}
	for _, r := range rows {
		k := r.Recipient + " " + r.Kind
		if _, dup := out[k]; dup && r.Kind != notify.KindTokenExpiring {
			w.t.Errorf("two %s mails to %s", r.Kind, r.Recipient)
		}
		for _, m := range listed.FindAllStringSubmatch(r.BodyText, -1) {
			out[k] = append(out[k], m[1])
		}
		slices.Sort(out[k])
	}
	return out
}

var listed = regexp.MustCompile(`(?m)^- (\S+) \(`)

func TestExpiryCheckMailsExactlyTheTokensAtTheirBoundaries(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		alice, bob, robot := w.user("alice", false, false), w.user("bob", true, false), w.user("robot", false, true)
		cases := []struct {
			owner        *auth.User
			name         string
			expires      *time.Time
			revoked, imp bool
			want         string // the kind of mail that lists it, or ""
		}{
			{alice, "in-1-day", day(1), false, false, notify.KindTokenExpiring},
			{alice, "in-7-days", day(7), false, false, notify.KindTokenExpiring},
			{alice, "in-8-days", day(8), false, false, ""},
			{alice, "expires-today", day(0), false, false, notify.KindTokenExpired},
			{alice, "expired-yesterday", day(-1), false, false, notify.KindTokenExpired},
			{alice, "expired-a-week-ago", day(-7), false, false, notify.KindTokenExpired},
			{alice, "expired-8-days-ago", day(-8), false, false, ""},
			{alice, "revoked", day(3), true, false, ""},
			{alice, "impersonation", day(3), false, true, ""},
			{alice, "never-expires", nil, false, false, ""},
			{bob, "blocked-owner", day(3), false, false, ""},
			{robot, "bot-owner", day(3), false, false, ""},
		}
		want := map[string][]string{}
		var secrets []string
		for _, c := range cases {
			secrets = append(secrets, w.token(c.owner, c.name, c.expires, c.revoked, c.imp))
			if c.want != "" {
				k := c.owner.Email + " " + c.want
				want[k] = append(want[k], c.name)
				slices.Sort(want[k])
			}
		}
		rep := w.run()
		if rep.TokensFound != 5 || len(rep.Queued) != 2 {
			t.Errorf("report: %d tokens found, %d mails queued; want 5 and 2", rep.TokensFound, len(rep.Queued))
		}
		got := w.mails()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("mails list\n%v\nwant\n%v", got, want)
		}
		rows, _ := db.ListOutbox(context.Background(), "", 0)
		for _, r := range rows {
			for _, s := range secrets {
				if strings.Contains(r.BodyText+r.BodyHTML+r.Subject, s) {
					t.Errorf("mail %d contains a token value", r.ID)
				}
			}
		}
		if again := w.run(); len(again.Queued) != 0 || again.TokensFound != 0 {
			t.Errorf("a second run the same day queued %d mails for %d tokens", len(again.Queued), again.TokensFound)
		}
	})
}

func TestEachWarningThresholdIsMailedOnceAndTheNearestWins(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		if _, err := w.auth.UpdateSettings(context.Background(), map[string]string{auth.SettingExpiryWarningDays: "7,60,30"}); err != nil {
			t.Fatal(err)
		}
		alice := w.user("alice", false, false)
		w.token(alice, "in-45-days", day(45), false, false)
		w.token(alice, "in-20-days", day(20), false, false)
		w.token(alice, "in-5-days", day(5), false, false)
		var subjects []string
		for _, q := range w.run().Queued {
			subjects = append(subjects, fmt.Sprintf("%s (%d)", q.Subject, q.Items))
		}
		wantFirst := []string{"Your personal access token will expire in 7 days or less (1)",
			"Your personal access token will expire in 30 days or less (1)",
			"Your personal access token will expire in 60 days or less (1)"}
		if fmt.Sprint(subjects) != fmt.Sprint(wantFirst) {
			t.Errorf("first run queued %q, want %q", subjects, wantFirst)
		}
		// 15 days on: 45 → 30 days left, 20 → 5, and 5 expired ten days ago.
		w.clock.Add(15 * 24 * time.Hour)
		subjects = nil
		for _, q := range w.run().Queued {
			subjects = append(subjects, q.Subject)
		}
		wantLater := []string{"Your personal access token will expire in 7 days or less",
			"Your personal access token will expire in 30 days or less"}
		if fmt.Sprint(subjects) != fmt.Sprint(wantLater) {
			t.Errorf("15 days later the run queued %q, want %q", subjects, wantLater)
		}
	})
}

func TestTokenCutByALoweredLifetimeLimitIsWarnedInTheNextRun(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		alice := w.user("alice", false, false)
		w.token(alice, "long-lived", day(100), false, false)
		if rep := w.run(); len(rep.Queued) != 0 {
			t.Fatalf("a token 100 days from expiry was mailed: %+v", rep.Queued)
		}
		if _, err := w.auth.UpdateSettings(context.Background(), map[string]string{auth.SettingMaxLifetime: "5"}); err != nil {
			t.Fatal(err)
		}
		rep := w.run()
		if len(rep.Queued) != 1 || rep.Queued[0].Kind != notify.KindTokenExpiring {
			t.Fatalf("after the limit cut it to 5 days: %+v", rep.Queued)
		}
	})
}

func TestSSHKeysAreWarnedAWeekBeforeAndOnTheDayTheyExpire(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		alice := w.user("alice", false, false)
		w.clock.Set(today.AddDate(0, -1, 0)) // keys must expire in the future when added
		for i, c := range []struct {
			title   string
			expires *time.Time
		}{{"in-7-days", day(7)}, {"in-8-days", day(8)}, {"expires-today", day(0)}, {"no-expiry", nil}} {
			k := fmt.Sprintf("ssh-ed25519 %s %s", sshKeys[i], c.title)
			if _, err := w.auth.AddKey(context.Background(), auth.NewKey{UserID: alice.ID, Title: c.title, Key: k, ExpiresAt: c.expires}); err != nil {
				t.Fatal(err)
			}
		}
		w.clock.Set(runAt)
		got := w.mails()
		if len(got) != 0 {
			t.Fatalf("mail before any run: %v", got)
		}
		rep := w.run()
		got = w.mails()
		want := map[string][]string{
			"alice@example.com " + notify.KindKeyExpiring: {"in-7-days"},
			"alice@example.com " + notify.KindKeyExpired:  {"expires-today"},
		}
		if fmt.Sprint(got) != fmt.Sprint(want) || rep.KeysFound != 2 {
			t.Fatalf("mails %v (keys found %d), want %v", got, rep.KeysFound, want)
		}
		rows, _ := db.ListOutbox(context.Background(), "", 0)
		for _, r := range rows {
			if !strings.Contains(r.BodyText, "https://git.example.com/-/user_settings/ssh_keys") {
				t.Errorf("%s mail has no link to the SSH keys page:\n%s", r.Kind, r.BodyText)
			}
			if r.Kind == notify.KindKeyExpiring && r.Subject != notify.SubjectKeyExpiring ||
				r.Kind == notify.KindKeyExpired && r.Subject != notify.SubjectKeyExpired {
				t.Errorf("%s mail has subject %q", r.Kind, r.Subject)
			}
		}
		if again := w.run(); len(again.Queued) != 0 {
			t.Errorf("second run queued %v", again.Queued)
		}
	})
}

// sshKeys are valid ed25519 public keys (base64 of the wire format).
var sshKeys = []string{
	"AAAAC3NzaC1lZDI1NTE5AAAAIGFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFh",
	"AAAAC3NzaC1lZDI1NTE5AAAAIGJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJi",
	"AAAAC3NzaC1lZDI1NTE5AAAAIGNjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj",
	"AAAAC3NzaC1lZDI1NTE5AAAAIGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRkZGRk",
}

// shared opens n handles (n pools, as n processes would have) on one
// fresh database of engine d.
func shared(t *testing.T, d store.Dialect, n int) []*store.DB {
	t.Helper()
	url, dir := testdb.URL(t, d), t.TempDir()
	var out []*store.DB
	for range n {
		db, err := store.Open(context.Background(), dir, url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			t.Fatal(err)
		}
		out = append(out, db)
	}
	return out
}

func TestConcurrentChecksQueueEachOwnersMailOnce(t *testing.T) {
	for _, d := range testdb.Engines {
		t.Run(string(d), func(t *testing.T) {
			dbs := shared(t, d, 3)
			w := newWorld(t, dbs[0])
			const owners = 15
			for i := range owners {
				u := w.user(fmt.Sprintf("user%d", i), false, false)
				w.token(u, "a", day(2), false, false)
				w.token(u, "b", day(6), false, false)
			}
			var wg sync.WaitGroup
			for _, db := range dbs {
				check := notify.NewExpiryWarnings(db, auth.New(db, auth.WithClock(w.clock.Now)), notify.Config{ExternalURL: "https://git.example.com", Now: w.clock.Now})
				wg.Add(1)
				go func() {
					defer wg.Done()
					if _, err := check.Run(context.Background()); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			got := w.mails()
			if len(got) != owners {
				t.Fatalf("%d owners got mail, want %d", len(got), owners)
			}
			for k, names := range got {
				if fmt.Sprint(names) != "[a b]" {
					t.Errorf("%s: %v, want one mail listing a and b", k, names)
				}
			}
			rows, _ := dbs[0].ListOutbox(context.Background(), "", 0)
			if len(rows) != owners {
				t.Fatalf("%d mails queued for %d owners", len(rows), owners)
			}
		})
	}
}

func TestSchedulersOnOneDatabaseRunTheDayOnceAndResumeAnUnfinishedRun(t *testing.T) {
	for _, d := range testdb.Engines {
		t.Run(string(d), func(t *testing.T) {
			dbs := shared(t, d, 3)
			w := newWorld(t, dbs[0])
			alice := w.user("alice", false, false)
			w.token(alice, "a", day(3), false, false)
			var scheds []*notify.Scheduler
			for _, db := range dbs {
				check := notify.NewExpiryWarnings(db, auth.New(db, auth.WithClock(w.clock.Now)), notify.Config{ExternalURL: "https://git.example.com", Now: w.clock.Now})
				scheds = append(scheds, notify.NewScheduler(db, check, w.clock.Now, nil))
			}
			// 00:59: the day's run is not due; yesterday's is (catch-up),
			// and exactly one of three schedulers runs it.
			w.clock.Set(runAt.Add(-time.Minute))
			if ran := runAll(t, scheds); ran != 1 {
				t.Fatalf("%d schedulers ran the catch-up of the day before, want 1", ran)
			}
			if ran := runAll(t, scheds); ran != 0 {
				t.Fatalf("%d ran it again", ran)
			}
			w.clock.Set(runAt)
			if ran := runAll(t, scheds); ran != 1 {
				t.Fatalf("%d schedulers ran at 01:00, want 1", ran)
			}
			runs, err := dbs[0].JobRuns(context.Background(), notify.JobExpiryCheck)
			if err != nil || len(runs) != 2 || runs[0].Day != "2030-03-10" || runs[0].FinishedAt == nil {
				t.Fatalf("job runs: %+v, %v", runs, err)
			}
			if got := w.mails(); len(got) != 1 {
				t.Fatalf("mails: %v, want alice's one warning", got)
			}
			// A process that claimed the next day and died: the others
			// wait for its lease, then one resumes the run.
			w.clock.Add(24 * time.Hour)
			bob := w.user("bob", false, false)
			w.token(bob, "b", day(5), false, false)
			if ok, _, err := dbs[0].ClaimJobRun(context.Background(), notify.JobExpiryCheck, "2030-03-11", "crashed", w.clock.Now(), w.clock.Now().Add(15*time.Minute)); err != nil || !ok {
				t.Fatalf("claim as a crashed process: %v %v", ok, err)
			}
			if ran := runAll(t, scheds); ran != 0 {
				t.Fatalf("%d schedulers ran a day held by a live lease", ran)
			}
			w.clock.Add(16 * time.Minute)
			if ran := runAll(t, scheds); ran != 1 {
				t.Fatalf("%d schedulers took over the abandoned run, want 1", ran)
			}
			got := w.mails()
			if len(got) != 2 || fmt.Sprint(got["bob@example.com "+notify.KindTokenExpiring]) != "[b]" {
				t.Fatalf("mails after the resumed run: %v", got)
			}
		})
	}
}

// runAll runs every scheduler's RunDue at once and counts those that ran.
func runAll(t *testing.T, scheds []*notify.Scheduler) int {
	t.Helper()
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		ran  int
		gate = make(chan struct{})
	)
	for _, s := range scheds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			ok, err := s.RunDue(context.Background())
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				ran++
				mu.Unlock()
			}
		}()
	}
	close(gate)
	wg.Wait()
	return ran
}

func TestDueDayIsYesterdayBeforeOneAMUTC(t *testing.T) {
	for at, want := range map[time.Time]string{
		time.Date(2030, 3, 10, 0, 59, 59, 0, time.UTC):                      "2030-03-09",
		time.Date(2030, 3, 10, 1, 0, 0, 0, time.UTC):                        "2030-03-10",
		time.Date(2030, 3, 10, 23, 59, 0, 0, time.UTC):                      "2030-03-10",
		time.Date(2030, 3, 10, 2, 30, 0, 0, time.FixedZone("CEST", 3600*2)): "2030-03-09", // 00:30 UTC
		time.Date(2030, 1, 1, 0, 30, 0, 0, time.UTC):                        "2029-12-31",
	} {
		if got := notify.DueDay(at); got != want {
			t.Errorf("DueDay(%v) = %s, want %s", at, got, want)
		}
	}
}
