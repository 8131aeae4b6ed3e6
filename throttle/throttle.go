// Package throttle locks out client addresses that fail authentication
// too often (docs/permissions.md#lockout): by default 30 failures within
// 60 seconds ban the address for an hour, as GitLab's defaults do. Every
// door (HTTP, SSH) shares it. A successful authentication resets the
// address's count, and successful callers never wait on it: a check is one
// map lookup.
//
// Replicas on one PostgreSQL database share their counts (Config.Shared,
// docs/replicas.md): a failure is counted in the database, and every
// process learns the new count and any ban through Observe, so the check
// stays a map lookup.
package throttle

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	DefaultMaxFailures = 30
	DefaultWindow      = 60 * time.Second
	DefaultBanDuration = time.Hour
	DefaultMaxEntries  = 100_000
)

// Message is what a banned address is told (docs/permissions.md#answers).
const Message = "Too many failed authentication attempts from this address. Try again later."

// Config tunes a Limiter. Zero values take the defaults.
type Config struct {
	// MaxFailures within Window ban an address; negative disables the
	// lockout altogether.
	MaxFailures int
	Window      time.Duration
	BanDuration time.Duration
	// AllowList addresses are never counted nor banned. Loopback is not
	// exempt unless listed here.
	AllowList []netip.Prefix
	// MaxEntries bounds memory: beyond it the least recently seen
	// addresses are forgotten.
	MaxEntries int
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
	// Shared, when set, counts failures where every process of the
	// instance sees them (NewShared); a failure it cannot count is
	// counted in this process alone.
	Shared Shared
	// Log reports what Shared could not do; nil is slog.Default().
	Log *slog.Logger
}

// Shared keeps the failure counts of one lockout for every process of an
// instance. Each process hears of the others' changes through
// Limiter.Observe (Follow).
type Shared interface {
	// Update applies fn to addr's state atomically across processes
	// (a zero State when there is none) and returns the state stored.
	Update(ctx context.Context, addr netip.Addr, fn func(*State)) (State, error)
	// Reset forgets the failures of addr unless it is banned at now.
	Reset(ctx context.Context, addr netip.Addr, now time.Time) error
}

// State is an address's standing in a lockout.
type State struct {
	Addr netip.Addr
	// WindowStart is the first failure of the current window; Failures
	// counts the window's failures.
	WindowStart time.Time
	Failures    int
	// BannedUntil is the end of a ban (zero: none).
	BannedUntil time.Time
}

// sharedTimeout bounds a call to Shared: a failed authentication waits
// for it.
const sharedTimeout = 2 * time.Second

// Limiter counts failures per address. It is safe for concurrent use.
type Limiter struct {
	cfg Config

	mu      sync.Mutex
	entries map[netip.Addr]*list.Element // of *entry
	lru     *list.List                   // front: most recently touched
}

type entry struct {
	addr        netip.Addr
	windowStart time.Time
	failures    int
	bannedUntil time.Time
	// pending counts attempts reserved by Attempt whose outcome is not
	// known yet: they count towards the limit until they end.
	pending int
}

// New returns a Limiter.
func New(cfg Config) *Limiter {
	if cfg.MaxFailures == 0 {
		cfg.MaxFailures = DefaultMaxFailures
	}
	if cfg.Window <= 0 {
		cfg.Window = DefaultWindow
	}
	if cfg.BanDuration <= 0 {
		cfg.BanDuration = DefaultBanDuration
	}
	if cfg.MaxEntries <= 0 {
		cfg.MaxEntries = DefaultMaxEntries
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Limiter{cfg: cfg, entries: map[netip.Addr]*list.Element{}, lru: list.New()}
}

// key is what an address is counted under: IPv6 clients usually own a
// whole /64, so counting single addresses would let one client rotate
// through billions of them.
func key(a netip.Addr) netip.Addr {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.Addr()
	}
	return a
}

func (l *Limiter) exempt(a netip.Addr) bool {
	if l.cfg.MaxFailures < 0 || !a.IsValid() {
		return true
	}
	a = a.Unmap()
	for _, p := range l.cfg.AllowList {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Banned reports whether addr is refused now, whatever its credential.
func (l *Limiter) Banned(addr netip.Addr) bool {
	if l.exempt(addr) {
		return false
	}
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	el, ok := l.entries[key(addr)]
	if !ok {
		return false
	}
	return now.Before(el.Value.(*entry).bannedUntil)
}

// Failure records a failed authentication from addr and reports whether
// the address is banned now.
func (l *Limiter) Failure(addr netip.Addr) (banned bool) {
	if l.exempt(addr) {
		return false
	}
	return l.failed(key(addr), false)
}

// failed counts one failure of the address k, in Shared when there is
// one, and, when reserved, ends the Attempt that reserved it in the same
// step as the new count becomes visible here.
func (l *Limiter) failed(k netip.Addr, reserved bool) (banned bool) {
	now := l.cfg.Now()
	if l.cfg.Shared != nil {
		l.mu.Lock()
		el, ok := l.entries[k]
		known := ok && now.Before(el.Value.(*entry).bannedUntil)
		l.mu.Unlock()
		if !known {
			ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
			st, err := l.cfg.Shared.Update(ctx, k, func(st *State) { l.rule(st, now) })
			cancel()
			if err == nil {
				l.mu.Lock()
				defer l.mu.Unlock()
				e := l.touch(k, now)
				if reserved && e.pending > 0 {
					e.pending--
				}
				e.setShared(st)
				return now.Before(e.bannedUntil)
			}
			l.cfg.Log.Warn("could not count a failed authentication for every replica; counting it in this process only", "addr", k.String(), "err", err)
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	e := l.touch(k, now)
	if reserved && e.pending > 0 {
		e.pending--
	}
	return l.fail(e, now)
}

// fail counts one failure on e. The caller holds l.mu.
func (l *Limiter) fail(e *entry, now time.Time) (banned bool) {
	st := e.state()
	l.rule(&st, now)
	e.set(st)
	return now.Before(st.BannedUntil)
}

// rule is the lockout's rule for one failure at now.
func (l *Limiter) rule(st *State, now time.Time) {
	if now.Before(st.BannedUntil) {
		return
	}
	// A window starts at its first failure; failures older than the
	// window no longer count.
	if now.Sub(st.WindowStart) >= l.cfg.Window {
		st.WindowStart, st.Failures = now, 0
	}
	st.Failures++
	if st.Failures >= l.cfg.MaxFailures {
		st.BannedUntil = now.Add(l.cfg.BanDuration)
		st.Failures = 0
	}
}

func (e *entry) state() State {
	return State{Addr: e.addr, WindowStart: e.windowStart, Failures: e.failures, BannedUntil: e.bannedUntil}
}

func (e *entry) set(st State) {
	e.windowStart, e.failures, e.bannedUntil = st.WindowStart, st.Failures, st.BannedUntil
}

// setShared takes in a state read from Shared. Such states reach a
// process in no fixed order: the answer to its own Update races with the
// announcements of other processes' later changes. Nothing but time ends
// a ban in Shared, so a ban already known here is never undone by a
// state that was stored before it.
func (e *entry) setShared(st State) {
	if e.bannedUntil.After(st.BannedUntil) {
		st.BannedUntil = e.bannedUntil
	}
	e.set(st)
}

// Observe takes in a state that another process stored in Shared (Follow
// calls it): the address's count and ban become this process's too. A
// state with no failures and no ban in force is a reset.
func (l *Limiter) Observe(st State) {
	if l.exempt(st.Addr) {
		return
	}
	now := l.cfg.Now()
	k := key(st.Addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	if st.Failures == 0 && !now.Before(st.BannedUntil) {
		if el, ok := l.entries[k]; ok {
			l.succeed(el, now)
		}
		return
	}
	l.touch(k, now).setShared(st)
}

// ErrBanned is Attempt's answer for an address that is banned.
var ErrBanned = errors.New("address banned after repeated authentication failures")

// ErrAttemptsPending is Attempt's answer when the failures of an address
// and its attempts still running reach the limit: whether the address
// gets banned depends on how those end, so the caller should answer
// "try again shortly" rather than check another credential.
var ErrAttemptsPending = errors.New("authentication attempts from this address are still being checked")

// Attempt reserves one authentication attempt for addr before a costly
// check (a password hash) runs, so that no more checks than the limit
// allows can start, however many arrive at once: the ban check and the
// reservation are one step under the lock. It returns ErrBanned when the
// address is banned, ErrAttemptsPending when the attempts under way could
// still ban it, and otherwise a reservation the caller must end with
// Failed, Succeeded or Cancel. Exempt addresses get a nil *Attempt, whose
// methods do nothing.
func (l *Limiter) Attempt(addr netip.Addr) (*Attempt, error) {
	if l.exempt(addr) {
		return nil, nil
	}
	now := l.cfg.Now()
	k := key(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	e := l.touch(k, now)
	if now.Before(e.bannedUntil) {
		return nil, ErrBanned
	}
	if now.Sub(e.windowStart) >= l.cfg.Window {
		e.windowStart, e.failures = now, 0
	}
	if e.failures+e.pending >= l.cfg.MaxFailures {
		return nil, ErrAttemptsPending
	}
	e.pending++
	return &Attempt{l: l, addr: addr}, nil
}

// Attempt is an authentication attempt reserved by Limiter.Attempt.
type Attempt struct {
	l     *Limiter
	addr  netip.Addr
	ended bool
}

// Failed ends the attempt as a failure (counted as Failure counts) and
// reports whether the address is banned now. Releasing the reservation
// and counting the failure are one step, so no other attempt can start
// in between on a count that is one short.
func (a *Attempt) Failed() (banned bool) {
	if a == nil || a.ended {
		return false
	}
	a.ended = true
	return a.l.failed(key(a.addr), true)
}

// Succeeded ends the attempt as a success: the address's failures are
// forgotten, as Success does.
func (a *Attempt) Succeeded() {
	if a == nil || a.ended {
		return
	}
	a.ended = true
	l := a.l
	now := l.cfg.Now()
	l.mu.Lock()
	reset := false
	if el, ok := l.entries[key(a.addr)]; ok {
		e := el.Value.(*entry)
		if e.pending > 0 {
			e.pending--
		}
		reset = l.succeed(el, now)
	}
	l.mu.Unlock()
	if reset {
		l.resetShared(key(a.addr), now)
	}
}

// Cancel ends the attempt without counting it (the check could not be
// made, e.g. the database was down).
func (a *Attempt) Cancel() {
	if a == nil || a.ended {
		return
	}
	a.ended = true
	l := a.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if el, ok := l.entries[key(a.addr)]; ok {
		if e := el.Value.(*entry); e.pending > 0 {
			e.pending--
		}
	}
}

// touch returns k's entry, created if need be, as the most recently seen.
// The caller holds l.mu.
func (l *Limiter) touch(k netip.Addr, now time.Time) *entry {
	if el, ok := l.entries[k]; ok {
		l.lru.MoveToFront(el)
		return el.Value.(*entry)
	}
	for len(l.entries) >= l.cfg.MaxEntries {
		l.remove(l.lru.Back())
	}
	e := &entry{addr: k, windowStart: now}
	l.entries[k] = l.lru.PushFront(e)
	return e
}

// Success records a successful authentication: the address's failures
// are forgotten. A ban in force is not lifted (a banned address never
// gets as far as authenticating).
func (l *Limiter) Success(addr netip.Addr) {
	if l.exempt(addr) {
		return
	}
	now := l.cfg.Now()
	l.mu.Lock()
	reset := false
	if el, ok := l.entries[key(addr)]; ok {
		reset = l.succeed(el, now)
	}
	l.mu.Unlock()
	if reset {
		l.resetShared(key(addr), now)
	}
}

// succeed forgets el's failures, and reports whether there were some
// that Shared must forget too. The caller holds l.mu.
func (l *Limiter) succeed(el *list.Element, now time.Time) (reset bool) {
	e := el.Value.(*entry)
	reset = l.cfg.Shared != nil && e.failures > 0 && now.Sub(e.windowStart) < l.cfg.Window
	switch {
	case now.Before(e.bannedUntil):
		return false
	case e.pending > 0:
		// Attempts still running keep their reservations.
		e.failures, e.windowStart = 0, now
	default:
		l.remove(el)
	}
	return reset
}

// resetShared forgets k's failures in Shared. Only an address this
// process knows to have failures gets here, so a successful request
// costs the database nothing.
func (l *Limiter) resetShared(k netip.Addr, now time.Time) {
	ctx, cancel := context.WithTimeout(context.Background(), sharedTimeout)
	defer cancel()
	if err := l.cfg.Shared.Reset(ctx, k, now); err != nil {
		l.cfg.Log.Warn("could not reset the failed authentications of an address for every replica", "addr", k.String(), "err", err)
	}
}

// Len is the number of addresses remembered (tests, metrics).
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.entries)
}

// sweep drops a few stale entries from the least recently used end, so
// memory follows the recent failure rate without a background goroutine.
func (l *Limiter) sweep(now time.Time) {
	for i := 0; i < 8; i++ {
		el := l.lru.Back()
		if el == nil {
			return
		}
		e := el.Value.(*entry)
		if now.Before(e.bannedUntil) || now.Sub(e.windowStart) < l.cfg.Window || e.pending > 0 {
			return
		}
		l.remove(el)
	}
}

func (l *Limiter) remove(el *list.Element) {
	delete(l.entries, el.Value.(*entry).addr)
	l.lru.Remove(el)
}

// ParsePrefixes reads CIDRs or single addresses ("10.0.0.0/8", "::1").
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if strings.Contains(s, "/") {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return nil, fmt.Errorf("address range %q: %w", s, err)
			}
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("address %q: %w", s, err)
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// ClientAddr is the address a request is counted under: the peer's
// address, or, when the peer is a trusted proxy, the nearest untrusted
// address of its X-Forwarded-For chain (read right to left, since only
// the entries our proxies appended can be believed). forwardedFor holds
// the X-Forwarded-For header values in order; pass nil where there are
// none (SSH).
func ClientAddr(remoteAddr string, forwardedFor []string, trusted []netip.Prefix) netip.Addr {
	peer := parseHostAddr(remoteAddr)
	if !peer.IsValid() || !inAny(peer, trusted) || len(forwardedFor) == 0 {
		return peer
	}
	var hops []string
	for _, v := range forwardedFor {
		hops = append(hops, strings.Split(v, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a := parseHostAddr(strings.TrimSpace(hops[i]))
		if !a.IsValid() {
			// A malformed hop was written by someone we do not trust;
			// stop at the last address a trusted proxy vouched for.
			break
		}
		client = a
		if !inAny(a, trusted) {
			break
		}
	}
	return client
}

func inAny(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseHostAddr reads "1.2.3.4", "1.2.3.4:5", "[::1]:5" or "::1".
func parseHostAddr(s string) netip.Addr {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		return a.Unmap()
	}
	if h, _, err := net.SplitHostPort(s); err == nil {
		if a, err := netip.ParseAddr(h); err == nil {
			return a.Unmap()
		}
	}
	return netip.Addr{}
}

// Check is one credential check of an address, seen by the lockout: the
// costly part reserves an attempt through Reserve (auth's count callback)
// if the check comes that far, and the outcome is recorded whichever way
// it went — against the reservation when there is one, directly
// otherwise. A nil Limiter gives a Check that records nothing. Every door
// that checks passwords uses it, so they count alike
// (docs/authentication.md).
type Check struct {
	l        *Limiter
	addr     netip.Addr
	attempt  *Attempt
	reserved bool
}

// Check starts a credential check of addr.
func (l *Limiter) Check(addr netip.Addr) *Check { return &Check{l: l, addr: addr} }

// Reserve reserves the attempt before the costly part (Limiter.Attempt).
func (c *Check) Reserve() error {
	if c.l == nil {
		return nil
	}
	a, err := c.l.Attempt(c.addr)
	c.attempt, c.reserved = a, err == nil
	return err
}

// Failed records a wrong credential.
func (c *Check) Failed() {
	switch {
	case c.l == nil:
	case c.reserved:
		c.attempt.Failed()
	default:
		c.l.Failure(c.addr)
	}
}

// Succeeded records a right credential.
func (c *Check) Succeeded() {
	switch {
	case c.l == nil:
	case c.reserved:
		c.attempt.Succeeded()
	default:
		c.l.Success(c.addr)
	}
}

// Cancel ends the check without counting it (it could not be made).
func (c *Check) Cancel() { c.attempt.Cancel() }
