package throttle

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

var (
	client  = netip.MustParseAddr("203.0.113.7")
	other   = netip.MustParseAddr("203.0.113.8")
	loop    = netip.MustParseAddr("127.0.0.1")
	client6 = netip.MustParseAddr("2001:db8:1:2::10")
	same64  = netip.MustParseAddr("2001:db8:1:2:ffff::1")
	other64 = netip.MustParseAddr("2001:db8:1:3::10")
)

// step is one event in a scenario: a failure or success from addr after
// advancing the clock, and whether addr is banned afterwards.
type step struct {
	advance    time.Duration
	addr       netip.Addr
	fail, succ int // how many failures / successes to record
	wantBanned bool
}

// scenario is a lockout story: a configuration and its steps.
type scenario struct {
	name  string
	cfg   Config
	steps []step
}

// scenarios are the lockout's rules as stories, told to one Limiter here
// and to three replicas sharing PostgreSQL in shared_test.go.
func scenarios() []scenario {
	allowLoopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	return []scenario{
		{"29 failures in the window do not ban", Config{}, []step{
			{addr: client, fail: 29, wantBanned: false},
		}},
		{"the 30th failure within 60 s bans", Config{}, []step{
			{addr: client, fail: 29},
			{advance: 59 * time.Second, addr: client, fail: 1, wantBanned: true},
		}},
		{"a ban refuses even after a later success attempt", Config{}, []step{
			{addr: client, fail: 30, wantBanned: true},
			{advance: 59 * time.Minute, addr: client, succ: 1, wantBanned: true},
		}},
		{"the ban ends after one hour", Config{}, []step{
			{addr: client, fail: 30, wantBanned: true},
			{advance: time.Hour, addr: client, wantBanned: false},
		}},
		{"failures older than the window no longer count", Config{}, []step{
			{addr: client, fail: 29},
			{advance: 61 * time.Second, addr: client, fail: 29, wantBanned: false},
		}},
		{"a success resets the count", Config{}, []step{
			{addr: client, fail: 29},
			{addr: client, succ: 1},
			{addr: client, fail: 29, wantBanned: false},
		}},
		{"addresses are counted apart", Config{}, []step{
			{addr: client, fail: 30, wantBanned: true},
			{addr: other, wantBanned: false},
		}},
		{"loopback is not exempt by default", Config{}, []step{
			{addr: loop, fail: 30, wantBanned: true},
		}},
		{"allow-listed loopback is never banned", Config{AllowList: allowLoopback}, []step{
			{addr: loop, fail: 1000, wantBanned: false},
		}},
		{"IPv6 addresses of one /64 share a count", Config{}, []step{
			{addr: client6, fail: 15},
			{addr: same64, fail: 15, wantBanned: true},
			{addr: client6, wantBanned: true},
			{addr: other64, wantBanned: false},
		}},
		{"configured thresholds", Config{MaxFailures: 3, Window: 10 * time.Second, BanDuration: time.Minute}, []step{
			{addr: client, fail: 2},
			{advance: 11 * time.Second, addr: client, fail: 2, wantBanned: false},
			{addr: client, fail: 1, wantBanned: true},
			{advance: 59 * time.Second, addr: client, wantBanned: true},
			{advance: time.Second, addr: client, wantBanned: false},
		}},
		{"negative MaxFailures disables the lockout", Config{MaxFailures: -1}, []step{
			{addr: client, fail: 1000, wantBanned: false},
		}},
	}
}

func TestLockout(t *testing.T) {
	for _, tt := range scenarios() {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
			tt.cfg.Now = c.now
			l := New(tt.cfg)
			for i, s := range tt.steps {
				c.advance(s.advance)
				for range s.fail {
					l.Failure(s.addr)
				}
				for range s.succ {
					l.Success(s.addr)
				}
				if got := l.Banned(s.addr); got != s.wantBanned {
					t.Fatalf("step %d (%s): banned = %v, want %v", i, s.addr, got, s.wantBanned)
				}
			}
		})
	}
}

func TestMemoryIsBounded(t *testing.T) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(Config{MaxEntries: 100, Now: c.now})
	for i := range 10_000 {
		l.Failure(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := l.Len(); n > 100 {
		t.Fatalf("remembers %d addresses, want at most 100", n)
	}
}

func TestStaleEntriesAreSweptAway(t *testing.T) {
	c := &clock{t: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := New(Config{Now: c.now})
	for i := range 8 {
		l.Failure(netip.AddrFrom4([4]byte{10, 0, 0, byte(i)}))
	}
	c.advance(2 * time.Minute)
	l.Failure(client)
	if n := l.Len(); n != 1 {
		t.Fatalf("remembers %d addresses after their windows ended, want 1", n)
	}
}

func TestClientAddr(t *testing.T) {
	trusted, err := ParsePrefixes([]string{"10.0.0.0/8", "192.168.1.1"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		remote string
		xff    []string
		want   string
	}{
		{"203.0.113.7:5555", nil, "203.0.113.7"},
		{"203.0.113.7:5555", []string{"1.2.3.4"}, "203.0.113.7"}, // untrusted peer: header ignored
		{"10.1.1.1:5555", []string{"1.2.3.4"}, "1.2.3.4"},
		{"10.1.1.1:5555", []string{"6.6.6.6, 1.2.3.4"}, "1.2.3.4"},                // spoofed left part ignored
		{"10.1.1.1:5555", []string{"6.6.6.6, 1.2.3.4, 10.2.2.2"}, "1.2.3.4"},      // chain of trusted proxies
		{"10.1.1.1:5555", []string{"6.6.6.6", "1.2.3.4, 192.168.1.1"}, "1.2.3.4"}, // several headers
		{"10.1.1.1:5555", []string{"garbage, 1.2.3.4"}, "1.2.3.4"},
		{"10.1.1.1:5555", []string{"1.2.3.4, garbage"}, "10.1.1.1"},
		{"10.1.1.1:5555", []string{"10.3.3.3"}, "10.3.3.3"},
		{"[::1]:22", nil, "::1"},
		{"[::ffff:10.1.1.1]:80", []string{"1.2.3.4"}, "1.2.3.4"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.remote, tt.xff), func(t *testing.T) {
			if got := ClientAddr(tt.remote, tt.xff, trusted); got.String() != tt.want {
				t.Fatalf("ClientAddr = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestParsePrefixesRejectsGarbage(t *testing.T) {
	for _, s := range []string{"10.0.0.0/33", "nonsense", "1.2.3"} {
		if _, err := ParsePrefixes([]string{s}); err == nil {
			t.Errorf("ParsePrefixes(%q) succeeded", s)
		}
	}
}

// TestAttempt covers reservations: an attempt counts towards the limit
// from the moment it is reserved, so a burst cannot start more checks
// than the limit allows.
func TestAttempt(t *testing.T) {
	type op struct {
		reserve            int   // reservations to take (all must succeed)
		fail, succ, cancel int   // reservations to end, oldest first
		wantErr            error // of one more reservation, then released
	}
	tests := []struct {
		name string
		ops  []op
	}{
		{"reservations up to the limit are granted", []op{
			{reserve: 3, wantErr: ErrAttemptsPending},
		}},
		{"failed attempts ban at the limit", []op{
			{reserve: 3, fail: 3, wantErr: ErrBanned},
		}},
		{"failures and pending attempts share the limit", []op{
			{reserve: 2, fail: 2},
			{reserve: 1, wantErr: ErrAttemptsPending},
		}},
		{"a success forgets failures but keeps other reservations", []op{
			{reserve: 3, fail: 1, wantErr: ErrAttemptsPending},
			{succ: 1},
			{reserve: 2, wantErr: ErrAttemptsPending},
		}},
		{"cancelled attempts are not counted", []op{
			{reserve: 3, cancel: 3},
			{reserve: 3, cancel: 3, wantErr: nil},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			l := New(Config{MaxFailures: 3, Now: c.now})
			var held []*Attempt
			for i, o := range tt.ops {
				for range o.reserve {
					a, err := l.Attempt(client)
					if err != nil || a == nil {
						t.Fatalf("op %d: reservation refused: %v", i, err)
					}
					held = append(held, a)
				}
				end := func(n int, f func(*Attempt)) {
					for range n {
						f(held[0])
						held = held[1:]
					}
				}
				end(o.fail, func(a *Attempt) { a.Failed() })
				end(o.succ, (*Attempt).Succeeded)
				end(o.cancel, (*Attempt).Cancel)
				a, err := l.Attempt(client)
				if err != o.wantErr {
					t.Fatalf("op %d: one more reservation: %v, want %v", i, err, o.wantErr)
				}
				a.Cancel()
			}
		})
	}
}

func TestAttemptEndsOnce(t *testing.T) {
	l := New(Config{MaxFailures: 2})
	a, _ := l.Attempt(client)
	if a.Failed() {
		t.Fatal("one failure banned")
	}
	// A second end is ignored, not a second failure.
	if a.Failed() || l.Banned(client) {
		t.Fatal("ending an attempt twice counted twice")
	}
}

func TestAttemptOfExemptAddressesIsNil(t *testing.T) {
	l := New(Config{MaxFailures: 1, AllowList: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	for range 5 {
		a, err := l.Attempt(loop)
		if a != nil || err != nil {
			t.Fatalf("exempt address: %v, %v", a, err)
		}
		a.Failed()
	}
	if l.Banned(loop) {
		t.Fatal("exempt address banned")
	}
}

// However many arrive at once, no more reservations are granted than the
// limit, and the ban check and the count are one step.
func TestConcurrentAttemptsNeverExceedTheLimit(t *testing.T) {
	l := New(Config{MaxFailures: 30})
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := l.Attempt(client)
			if err != nil {
				return
			}
			mu.Lock()
			granted++
			mu.Unlock()
			a.Failed()
		}()
	}
	wg.Wait()
	if granted > 30 || !l.Banned(client) {
		t.Fatalf("%d reservations granted for a limit of 30; banned %v", granted, l.Banned(client))
	}
}

// A Check records its outcome against its reservation when it made one
// and directly otherwise, so a wrong credential counts once either way;
// a nil Limiter's Check records nothing.
func TestACheckCountsAFailureOnceWithOrWithoutAReservation(t *testing.T) {
	c := &clock{t: time.Unix(1_700_000_000, 0)}
	l := New(Config{MaxFailures: 2, Now: c.now})
	reserved := l.Check(client)
	if err := reserved.Reserve(); err != nil {
		t.Fatal(err)
	}
	reserved.Failed()
	if l.Banned(client) {
		t.Fatal("banned after one failure of two")
	}
	l.Check(client).Failed() // the check never came to the costly part
	if !l.Banned(client) {
		t.Fatal("two failures, one reserved and one not, did not ban")
	}
	cancelled := l.Check(other)
	if err := cancelled.Reserve(); err != nil {
		t.Fatal(err)
	}
	cancelled.Cancel()
	l.Check(other).Failed()
	if l.Banned(other) {
		t.Fatal("a cancelled check counted")
	}
	ok := l.Check(other)
	if err := ok.Reserve(); err != nil {
		t.Fatal(err)
	}
	ok.Succeeded()
	l.Check(other).Failed()
	if l.Banned(other) {
		t.Fatal("a success did not clear the earlier failure")
	}
	var none *Limiter
	check := none.Check(client)
	if err := check.Reserve(); err != nil {
		t.Fatal(err)
	}
	check.Failed()
	check.Succeeded()
	check.Cancel()
}
