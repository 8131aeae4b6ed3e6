package throttle

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/gitgate/gitgate/store"
)

// Scopes of the lockouts a server keeps: the Git doors share one, the
// API has its own (docs/api.md).
const (
	ScopeGit = "git"
	ScopeAPI = "api"
)

// NewShared keeps the counts of the lockout scope in db's auth_lockouts
// table, announcing every change (PostgreSQL's NOTIFY) to the processes
// that Follow it.
func NewShared(db *store.DB, scope string) Shared { return pgShared{db: db, scope: scope} }

type pgShared struct {
	db    *store.DB
	scope string
}

func (p pgShared) Update(ctx context.Context, addr netip.Addr, fn func(*State)) (State, error) {
	row, err := p.db.UpdateLockout(ctx, p.scope, addr.String(), func(r *store.LockoutRow) {
		st := stateOf(addr, r)
		fn(&st)
		r.WindowStart, r.Failures, r.BannedUntil = st.WindowStart, st.Failures, nil
		if !st.BannedUntil.IsZero() {
			b := st.BannedUntil
			r.BannedUntil = &b
		}
	})
	if err != nil {
		return State{}, err
	}
	return stateOf(addr, &row), nil
}

func (p pgShared) Reset(ctx context.Context, addr netip.Addr, now time.Time) error {
	return p.db.ResetLockout(ctx, p.scope, addr.String(), now)
}

func stateOf(addr netip.Addr, r *store.LockoutRow) State {
	st := State{Addr: addr, WindowStart: r.WindowStart.UTC(), Failures: r.Failures}
	if r.BannedUntil != nil {
		st.BannedUntil = r.BannedUntil.UTC()
	}
	return st
}

// followReload is how often Follow re-reads every count in force, the
// safety net under the announcements: one lost while the connection was
// being re-established is made up for within this time.
const followReload = 10 * time.Second

// Follow keeps limiters (by scope) up to date with the counts every
// process stores in db, until ctx ends: each announced change at once,
// and everything in force when the connection to PostgreSQL is
// (re)established and every followReload. window is the longest window
// of the limiters; counts older than it are deleted on the way.
func Follow(ctx context.Context, db *store.DB, limiters map[string]*Limiter, window time.Duration, now func() time.Time, log *slog.Logger) {
	f := &follower{limiters: limiters, announced: map[string]uint64{}}
	reload := func() {
		rctx, cancel := context.WithTimeout(ctx, sharedTimeout)
		defer cancel()
		since := f.mark()
		rows, err := db.ActiveLockouts(rctx, now(), window)
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("could not read the failed authentications of the other replicas", "err", err)
			}
			return
		}
		f.reloaded(rows, since)
	}
	go func() {
		t := time.NewTicker(followReload)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				reload()
			}
		}
	}()
	for backoff := 100 * time.Millisecond; ctx.Err() == nil; backoff = min(2*backoff, 5*time.Second) {
		err := db.ListenLockouts(ctx, f.announcedRow, reload)
		if err == nil || ctx.Err() != nil {
			return
		}
		log.Warn("could not follow the failed authentications of the other replicas; retrying", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(backoff):
		}
	}
}

// follower applies announcements and reloads in the order they happened:
// a reload reads rows that an announcement may have changed since, so a
// row announced after the reload began is left as announced.
type follower struct {
	limiters map[string]*Limiter

	mu        sync.Mutex
	seq       uint64
	announced map[string]uint64 // scope/addr → seq of its last announcement
}

func (f *follower) announcedRow(r store.LockoutRow) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.announced[r.Scope+"/"+r.Addr] = f.seq
	f.observe(&r)
}

// mark is where a reload begins.
func (f *follower) mark() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq
}

func (f *follower) reloaded(rows []store.LockoutRow, since uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range rows {
		if f.announced[rows[i].Scope+"/"+rows[i].Addr] <= since {
			f.observe(&rows[i])
		}
	}
	for k, seq := range f.announced {
		if seq <= since {
			delete(f.announced, k)
		}
	}
}

func (f *follower) observe(r *store.LockoutRow) {
	l := f.limiters[r.Scope]
	if l == nil {
		return
	}
	addr, err := netip.ParseAddr(r.Addr)
	if err != nil {
		return
	}
	l.Observe(stateOf(addr, r))
}
