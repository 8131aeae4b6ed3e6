package gitop

import (
	"container/list"
	"context"
	"errors"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The limiter's refusals (docs/operations.md#back-pressure).
var (
	// ErrQueueFull: every slot is taken and the wait queue is full; the
	// refusal is immediate.
	ErrQueueFull = errors.New("git operation queue full")
	// ErrQueueTimeout: the operation waited the whole queue timeout
	// without getting a slot.
	ErrQueueTimeout = errors.New("git operation waited too long for a slot")
)

// LimitKey is what the limiter counts an operation against: the
// repository (its directory) for the per-repository limit, and the
// client for fairness (the user for a signed-in caller, the address for
// an anonymous one).
type LimitKey struct {
	Repo   string
	Client string
}

// LimiterConfig tunes a Limiter. Zero values are not defaults: the
// server fills them from its settings table.
type LimiterConfig struct {
	// MaxConcurrent bounds the operations running at once; MaxPerRepo
	// those of one repository. Both must be positive.
	MaxConcurrent int
	MaxPerRepo    int
	// QueueLength bounds the operations waiting for a slot; zero or
	// negative: none wait, an operation finding no slot is refused.
	QueueLength int
	// QueueTimeout is the longest an operation waits; it must be positive.
	QueueTimeout time.Duration
	// Clock is the time source (tests); nil is the real clock.
	Clock Clock
}

// Clock is the limiter's time source.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d, unless stop is
	// called first (time.AfterFunc).
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// Limiter bounds the Git operations (a service run of upload-pack,
// receive-pack or upload-archive, whichever door it comes through) that
// run at once, in total and per repository, with a bounded FIFO queue for
// the others. Processes are not what it counts: the pack cache's
// pack-objects, on which waiting upload-packs depend, must never wait
// behind them.
//
// Fairness: a client's share is half of the slots (rounded up: of three
// slots, someone holds two). When a slot frees up,
// the oldest waiter whose client holds less than its share goes first;
// only when no such waiter can run does the oldest runnable waiter go,
// whoever its client is. So a client alone may use every slot, and once
// others wait it gives slots up as its operations end until it holds no
// more than half. A waiter whose repository is at its limit lets those
// behind it pass. No slot is ever left idle while a waiter could use it.
type Limiter struct {
	cfg   LimiterConfig
	share int
	clock Clock

	mu        sync.Mutex
	running   int
	perRepo   map[string]int
	perClient map[string]int
	queue     list.List // of *waiter, oldest first

	queued  prometheus.Gauge
	waited  prometheus.Histogram
	refused *prometheus.CounterVec
}

type waiter struct {
	key   LimitKey
	since time.Time
	ready chan struct{} // closed once granted or expired
	// elem is the waiter's place in the queue, nil once it left it;
	// granted says whether it left with a slot.
	elem    *list.Element
	granted bool
}

// NewLimiter returns a limiter; register its Collectors to export its
// metrics.
func NewLimiter(cfg LimiterConfig) (*Limiter, error) {
	if cfg.MaxConcurrent <= 0 || cfg.MaxPerRepo <= 0 || cfg.QueueTimeout <= 0 {
		return nil, errors.New("gitop: the limiter needs positive MaxConcurrent, MaxPerRepo and QueueTimeout")
	}
	l := &Limiter{cfg: cfg, share: (cfg.MaxConcurrent + 1) / 2, clock: cfg.Clock,
		perRepo: map[string]int{}, perClient: map[string]int{}}
	if l.clock == nil {
		l.clock = realClock{}
	}
	l.queued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitgate_git_queue_length", Help: "Git operations waiting for a slot of the operation limiter.",
	})
	l.waited = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "gitgate_git_queue_wait_seconds", Help: "How long Git operations waited for a slot before they ran (0 for those that found one free).",
		Buckets: []float64{.001, .01, .1, .5, 1, 2.5, 5, 10, 30, 60, 120, 300},
	})
	l.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitgate_git_operations_refused_total", Help: "Git operations refused by the operation limiter, by reason (queue_full, timeout).",
	}, []string{"reason"})
	// Both label values exist from the start, so a rate() sees the first.
	l.refused.WithLabelValues("queue_full")
	l.refused.WithLabelValues("timeout")
	return l, nil
}

// Collectors are the limiter's metrics.
func (l *Limiter) Collectors() []prometheus.Collector {
	return []prometheus.Collector{l.queued, l.waited, l.refused}
}

// Config is the limiter's configuration.
func (l *Limiter) Config() LimiterConfig { return l.cfg }

// Acquire waits for a slot for an operation of key k and returns the
// function that frees it (call it once the operation ends; more calls do
// nothing). It fails at once with ErrQueueFull when no slot is free and
// the queue is full, with ErrQueueTimeout after waiting the queue
// timeout, and with ctx's error when ctx ends first.
func (l *Limiter) Acquire(ctx context.Context, k LimitKey) (release func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.fits(k) {
		// Waiters all wait for a reason (a slot, their repository): one
		// that could run now would have been given the slot already.
		l.take(k)
		l.mu.Unlock()
		l.waited.Observe(0)
		return l.releaser(k), nil
	}
	if l.queue.Len() >= l.cfg.QueueLength {
		l.mu.Unlock()
		l.refused.WithLabelValues("queue_full").Inc()
		return nil, ErrQueueFull
	}
	w := &waiter{key: k, since: l.clock.Now(), ready: make(chan struct{})}
	w.elem = l.queue.PushBack(w)
	l.queued.Set(float64(l.queue.Len()))
	stop := l.clock.AfterFunc(l.cfg.QueueTimeout, func() { l.expire(w) })
	l.mu.Unlock()

	select {
	case <-w.ready:
	case <-ctx.Done():
	}
	stop()
	l.mu.Lock()
	granted := w.granted
	if w.elem != nil {
		// ctx ended while waiting: leave the queue.
		l.queue.Remove(w.elem)
		w.elem = nil
		l.queued.Set(float64(l.queue.Len()))
	}
	l.mu.Unlock()
	switch {
	case granted && ctx.Err() != nil:
		// The slot came as the client left: hand it on.
		l.release(k)
		return nil, ctx.Err()
	case granted:
		l.waited.Observe(l.clock.Now().Sub(w.since).Seconds())
		return l.releaser(k), nil
	case ctx.Err() != nil:
		return nil, ctx.Err()
	}
	l.refused.WithLabelValues("timeout").Inc()
	return nil, ErrQueueTimeout
}

// WouldRefuse reports whether an operation of key k asking now would be
// refused at once (no slot for it and the queue full), without queueing
// it. The HTTP door asks before an advertisement, which runs outside the
// limiter, so that git shows the refusal where it shows messages.
func (l *Limiter) WouldRefuse(k LimitKey) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return !l.fits(k) && l.queue.Len() >= l.cfg.QueueLength
}

// fits reports whether an operation of k may start now. Fairness needs no
// check here: the waiters left in the queue cannot run (see dispatch).
func (l *Limiter) fits(k LimitKey) bool {
	return l.running < l.cfg.MaxConcurrent && l.perRepo[k.Repo] < l.cfg.MaxPerRepo
}

func (l *Limiter) take(k LimitKey) {
	l.running++
	l.perRepo[k.Repo]++
	l.perClient[k.Client]++
}

func (l *Limiter) releaser(k LimitKey) func() {
	var once sync.Once
	return func() { once.Do(func() { l.release(k) }) }
}

func (l *Limiter) release(k LimitKey) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.running--
	if l.perRepo[k.Repo]--; l.perRepo[k.Repo] <= 0 {
		delete(l.perRepo, k.Repo)
	}
	if l.perClient[k.Client]--; l.perClient[k.Client] <= 0 {
		delete(l.perClient, k.Client)
	}
	l.dispatch()
}

// dispatch gives free slots to waiters (under mu).
func (l *Limiter) dispatch() {
	for l.running < l.cfg.MaxConcurrent {
		w := l.next()
		if w == nil {
			break
		}
		l.queue.Remove(w.elem)
		w.elem, w.granted = nil, true
		l.take(w.key)
		close(w.ready)
	}
	l.queued.Set(float64(l.queue.Len()))
}

// next is the waiter to run next: the oldest one whose client is below
// its share, else the oldest one at all, among those whose repository is
// below its limit; nil when none can run.
func (l *Limiter) next() *waiter {
	var first *waiter
	for e := l.queue.Front(); e != nil; e = e.Next() {
		w := e.Value.(*waiter)
		if l.perRepo[w.key.Repo] >= l.cfg.MaxPerRepo {
			continue
		}
		if l.perClient[w.key.Client] < l.share {
			return w
		}
		if first == nil {
			first = w
		}
	}
	return first
}

// expire ends a wait at the queue timeout, unless it already ended.
func (l *Limiter) expire(w *waiter) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if w.elem == nil {
		return
	}
	l.queue.Remove(w.elem)
	w.elem = nil
	l.queued.Set(float64(l.queue.Len()))
	close(w.ready)
}

// The lines a refused client sees (docs/operations.md#back-pressure).
const (
	MsgQueueFull    = "gitgate: server busy: too many Git operations are running and waiting. Try again in a moment."
	MsgQueueTimeout = "gitgate: server busy: no slot for this Git operation came free in time. Try again in a moment."
)

// busyRetryAfter is the Retry-After of a busy refusal.
const busyRetryAfter = 10 * time.Second

// limitKey is what the limiter counts op against.
func (op *Op) limitKey() LimitKey {
	k := LimitKey{Repo: op.Dir}
	if op.Principal.IsAnonymous() {
		k.Client = "addr:" + op.Client.String()
	} else {
		k.Client = "user:" + strconv.FormatInt(op.Principal.User.ID, 10)
	}
	return k
}

// Admit waits for a slot for an authorized operation, before its git
// starts, and returns the function that frees the slot when the
// operation ends. An advertisement (cmd.AdvertiseRefs) is not an
// operation of its own and must not come here. A refusal is Busy (the
// queue is full, or the wait too long) or Gone (ctx ended).
func (e *Engine) Admit(ctx context.Context, op *Op) (release func(), _ *Refusal) {
	if e.Limiter == nil {
		return func() {}, nil
	}
	release, err := e.Limiter.Acquire(ctx, op.limitKey())
	switch {
	case err == nil:
		return release, nil
	case errors.Is(err, ErrQueueFull):
		return nil, &Refusal{Result: Denied, Reason: Busy, Msg: MsgQueueFull, RetryAfter: busyRetryAfter}
	case errors.Is(err, ErrQueueTimeout):
		return nil, &Refusal{Result: Denied, Reason: Busy, Msg: MsgQueueTimeout, RetryAfter: busyRetryAfter}
	}
	return nil, &Refusal{Result: ClientGone, Reason: Gone, Doing: "wait for a slot", Err: err}
}

// Saturated refuses an authorized operation at once, without queueing
// it, when Admit would: the HTTP door asks before the info/refs
// advertisement, where git shows the server's message (it does not for
// a failed RPC).
func (e *Engine) Saturated(op *Op) *Refusal {
	if e.Limiter == nil || !e.Limiter.WouldRefuse(op.limitKey()) {
		return nil
	}
	e.Limiter.refused.WithLabelValues("queue_full").Inc()
	return &Refusal{Result: Denied, Reason: Busy, Msg: MsgQueueFull, RetryAfter: busyRetryAfter}
}
