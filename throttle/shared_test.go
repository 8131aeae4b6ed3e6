package throttle

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/store"
)

// syncClock is a test clock the followers read from their goroutines.
type syncClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *syncClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *syncClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// pools opens one migrated PostgreSQL database n times: n processes.
func pools(t *testing.T, n int) []*store.DB {
	t.Helper()
	url := testdb.URL(t, store.Postgres)
	var out []*store.DB
	for i := range n {
		db, err := store.Open(context.Background(), t.TempDir(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		if i == 0 {
			if err := db.Migrate(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		out = append(out, db)
	}
	return out
}

// replicas are Limiters of the lockout scope, one per pool, each
// following the others, as gitgate processes sharing a database do.
func replicas(t *testing.T, dbs []*store.DB, scope string, cfg Config) []*Limiter {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var out []*Limiter
	for _, db := range dbs {
		c := cfg
		c.Shared = NewShared(db, scope)
		l := New(c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			Follow(ctx, db, map[string]*Limiter{scope: l}, l.cfg.Window, l.cfg.Now, logging.Discard())
		}()
		out = append(out, l)
	}
	// Every replica follows once a change reaches all: by announcement,
	// or by the read that follows each LISTEN.
	probe := netip.MustParseAddr("198.51.100.99")
	out[0].Failure(probe)
	converge(t, out, probe)
	out[0].Success(probe)
	converge(t, out, probe)
	return out
}

// standing is what one Limiter knows of an address.
func (l *Limiter) standing(addr netip.Addr) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.entries[key(addr)]
	if !ok {
		return "nothing"
	}
	e := el.Value.(*entry)
	return fmt.Sprintf("%d failures since %s, banned until %s", e.failures, e.windowStart.UTC().Format(time.RFC3339Nano), e.bannedUntil.UTC().Format(time.RFC3339Nano))
}

// converge waits until every replica knows the same of addr.
func converge(t *testing.T, ls []*Limiter, addr netip.Addr) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		first, same := ls[0].standing(addr), true
		for _, l := range ls[1:] {
			same = same && l.standing(addr) == first
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			for i, l := range ls {
				t.Logf("replica %d: %s", i, l.standing(addr))
			}
			t.Fatalf("the replicas never agreed on %s", addr)
		}
	}
}

// Every lockout rule holds for three replicas that share PostgreSQL,
// with the failures and successes spread over them.
func TestLockoutRulesHoldAcrossReplicasSharingPostgreSQL(t *testing.T) {
	dbs := pools(t, 3)
	for i, tt := range scenarios() {
		t.Run(tt.name, func(t *testing.T) {
			c := &syncClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			tt.cfg.Now = c.now
			// A scope of its own: the scenarios share the database.
			ls := replicas(t, dbs, fmt.Sprintf("scenario-%d", i), tt.cfg)
			next := 0
			turn := func() *Limiter { next++; return ls[next%len(ls)] }
			for i, s := range tt.steps {
				c.advance(s.advance)
				for range s.fail {
					turn().Failure(s.addr)
				}
				for range s.succ {
					turn().Success(s.addr)
				}
				converge(t, ls, s.addr)
				for r, l := range ls {
					if got := l.Banned(s.addr); got != s.wantBanned {
						t.Fatalf("step %d (%s): replica %d: banned = %v, want %v", i, s.addr, r, got, s.wantBanned)
					}
				}
			}
		})
	}
}

// A replica that starts after the ban knows it from its first request.
func TestAReplicaStartingLaterKnowsTheBansInForce(t *testing.T) {
	c := &syncClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	dbs := pools(t, 2)
	first := New(Config{Now: c.now, Shared: NewShared(dbs[0], ScopeGit)})
	for range DefaultMaxFailures {
		first.Failure(client)
	}
	if !first.Banned(client) {
		t.Fatal("30 failures did not ban")
	}
	db := dbs[1]
	late := New(Config{Now: c.now, Shared: NewShared(db, ScopeGit)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		Follow(ctx, db, map[string]*Limiter{ScopeGit: late}, DefaultWindow, c.now, logging.Discard())
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(30 * time.Second); !late.Banned(client); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("a replica started after the ban never learnt it")
		}
	}
	// The API's lockout is another scope: not banned there.
	api := New(Config{Now: c.now, Shared: NewShared(db, ScopeAPI)})
	rows, err := db.ActiveLockouts(context.Background(), c.now(), DefaultWindow)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.Scope == ScopeAPI {
			t.Fatalf("a Git ban is stored for the API too: %+v", r)
		}
	}
	if api.Banned(client) {
		t.Fatal("the API's lockout bans an address the Git lockout banned")
	}
}

// Notification channels belong to the database, not to a schema: an
// instance in another schema of the same database (or another test)
// announces on the same channel, and its bans must stay its own.
func TestBansOfAnotherSchemaInTheSameDatabaseStayThere(t *testing.T) {
	c := &syncClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	other := New(Config{Now: c.now, Shared: NewShared(pools(t, 1)[0], ScopeGit)})
	here := replicas(t, pools(t, 2), ScopeGit, Config{Now: c.now})
	mine := here[0]
	for range DefaultMaxFailures {
		other.Failure(client)
	}
	if !other.Banned(client) {
		t.Fatal("30 failures did not ban in the other schema")
	}
	// An announcement of this schema, made after the other schema's ban:
	// once it has arrived, so has the ban's, in commit order.
	probe := netip.MustParseAddr("198.51.100.98")
	here[1].Failure(probe)
	for deadline := time.Now().Add(30 * time.Second); mine.standing(probe) == "nothing"; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("this schema's own announcement never arrived")
		}
	}
	if mine.Banned(client) {
		t.Fatal("a ban stored in another schema banned the address here")
	}
}

// lateAnswer is a replica's Shared whose answer to Update comes back only
// after hook ran: what a replica's goroutine meets when the scheduler
// runs its Follow first.
type lateAnswer struct {
	Shared
	hook func()
}

func (s lateAnswer) Update(ctx context.Context, addr netip.Addr, fn func(*State)) (State, error) {
	st, err := s.Shared.Update(ctx, addr, fn)
	if err == nil && s.hook != nil {
		s.hook()
	}
	return st, err
}

// A replica's own count and another replica's announcement race: the
// count it stored before the other's ban may reach its memory after the
// ban's announcement did. The ban must stay: else the banned address
// goes on authenticating on that replica until the next re-read.
func TestABanAnnouncedBeforeTheReplicasOwnOlderCountStays(t *testing.T) {
	c := &syncClock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	ls := replicas(t, pools(t, 2), ScopeGit, Config{Now: c.now, MaxFailures: 3})
	a, b := ls[0], ls[1]
	a.Failure(client)
	converge(t, ls, client)
	var once sync.Once
	// Under the lock: A's Follow reads the config.
	a.mu.Lock()
	a.cfg.Shared = lateAnswer{Shared: a.cfg.Shared, hook: func() {
		once.Do(func() {
			// A's second failure is stored (2 of 3); B's failure, the
			// third, bans, and A hears of it before its own answer lands.
			if !b.Failure(client) {
				t.Error("the third failure did not ban on the replica that counted it")
			}
			for deadline := time.Now().Add(30 * time.Second); !a.Banned(client); time.Sleep(5 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Error("the ban was never announced to the other replica")
					return
				}
			}
		})
	}}
	a.mu.Unlock()
	a.Failure(client)
	if !a.Banned(client) {
		t.Fatalf("the ban announced by another replica was undone by this replica's older count: %s", a.standing(client))
	}
}
