package gitop

import (
	"context"
	"errors"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	timers []*fakeTimer
}

type fakeTimer struct {
	at      time.Time
	f       func()
	stopped bool
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) AfterFunc(d time.Duration, f func()) func() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &fakeTimer{at: c.now.Add(d), f: f}
	c.timers = append(c.timers, t)
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		was := !t.stopped
		t.stopped = true
		return was
	}
}

// Advance moves the clock and runs the timers that are due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	var due []*fakeTimer
	keep := c.timers[:0]
	for _, t := range c.timers {
		switch {
		case t.stopped:
		case !t.at.After(c.now):
			t.stopped = true
			due = append(due, t)
		default:
			keep = append(keep, t)
		}
	}
	c.timers = keep
	c.mu.Unlock()
	for _, t := range due {
		t.f()
	}
}

func newTestLimiter(t *testing.T, cfg LimiterConfig) (*Limiter, *fakeClock) {
	t.Helper()
	clock := &fakeClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	cfg.Clock = clock
	if cfg.QueueTimeout == 0 {
		cfg.QueueTimeout = time.Minute
	}
	if cfg.QueueLength == 0 {
		cfg.QueueLength = 64
	}
	if cfg.MaxPerRepo == 0 {
		cfg.MaxPerRepo = cfg.MaxConcurrent
	}
	l, err := NewLimiter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l, clock
}

func (l *Limiter) queueLen() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.queue.Len()
}

// pending is an Acquire running in its own goroutine.
type pending struct {
	done    chan struct{}
	release func()
	err     error
}

func acquire(ctx context.Context, l *Limiter, k LimitKey) *pending {
	p := &pending{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.release, p.err = l.Acquire(ctx, k)
	}()
	return p
}

func (p *pending) finished() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// settle waits until cond holds (a liveness bound, not a timing check).
func settle(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// step of a limiter scenario: "run" and "wait" acquire a slot for
// operation id of client on repo and expect it to start at once or to
// queue; "end" releases id's slot and expects exactly the operation
// named by next to start (none when next is empty).
type step struct {
	do, id, client, repo, next string
}

func run(id, client, repo string) step  { return step{do: "run", id: id, client: client, repo: repo} }
func wait(id, client, repo string) step { return step{do: "wait", id: id, client: client, repo: repo} }
func end(id, next string) step          { return step{do: "end", id: id, next: next} }

func TestLimiterGivesFreedSlotsFairlyAndInOrder(t *testing.T) {
	rows := []struct {
		name         string
		max, perRepo int
		steps        []step
	}{
		{"waiters of different clients go first come, first served", 2, 2, []step{
			run("a1", "A", "r"), run("b1", "B", "r"), wait("c1", "C", "r"), wait("d1", "D", "r"),
			end("a1", "c1"), end("b1", "d1")}},
		{"a client alone may use every slot", 2, 2, []step{
			run("a1", "A", "r"), run("a2", "A", "r"), wait("a3", "A", "r"), end("a1", "a3")}},
		{"a waiter whose client is below its share passes older waiters of a client above it", 4, 4, []step{
			run("a1", "A", "r"), run("a2", "A", "r"), run("a3", "A", "r"), run("a4", "A", "r"),
			wait("a5", "A", "r"), wait("a6", "A", "r"), wait("b1", "B", "r"),
			end("a1", "b1"), end("a2", "a5")}},
		{"a client gives slots up until it holds half while another waits", 4, 4, []step{
			run("a1", "A", "r"), run("a2", "A", "r"), run("a3", "A", "r"), run("a4", "A", "r"),
			wait("a5", "A", "r"), wait("b1", "B", "r"), wait("b2", "B", "r"), wait("b3", "B", "r"),
			// A 3 B 1, then A 2 B 2: from here on A never holds more than half.
			end("a1", "b1"), end("a2", "b2"),
			// A at 1 is below its share again and its waiter is the oldest.
			end("a3", "a5"),
			end("b1", "b3")}},
		{"of an odd number of slots a client may hold the larger half", 3, 3, []step{
			run("a1", "A", "r"), run("a2", "A", "r"), run("a3", "A", "r"),
			wait("a4", "A", "r"), wait("b1", "B", "r"), wait("b2", "B", "r"),
			// A 2 B 1, then both below their share of 2: the oldest goes.
			end("a1", "b1"), end("a2", "a4"), end("a3", "b2")}},
		{"the per-repository limit queues operations of a busy repository only", 4, 1, []step{
			run("a1", "A", "r1"), wait("b1", "B", "r1"), run("c1", "C", "r2"), end("a1", "b1")}},
		{"a waiter for a busy repository lets the ones behind it pass", 2, 1, []step{
			run("a1", "A", "r1"), run("b1", "B", "r2"), wait("c1", "C", "r1"), wait("d1", "D", "r3"),
			end("b1", "d1"), end("a1", "c1")}},
		{"a client above its share gets a slot no one else can use", 4, 2, []step{
			run("a1", "A", "r1"), run("a2", "A", "r1"), run("a3", "A", "r2"), run("a4", "A", "r2"),
			wait("b1", "B", "r1"), wait("a5", "A", "r3"),
			end("a3", "a5"), end("a1", "b1")}},
		{"a freed slot nobody waits for stays free", 2, 2, []step{
			run("a1", "A", "r"), end("a1", ""), run("b1", "B", "r"), run("c1", "C", "r"), wait("d1", "D", "r")}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			l, _ := newTestLimiter(t, LimiterConfig{MaxConcurrent: row.max, MaxPerRepo: row.perRepo})
			ops := map[string]*pending{}
			waiting := map[string]bool{}
			for i, s := range row.steps {
				switch s.do {
				case "run", "wait":
					before := l.queueLen()
					p := acquire(context.Background(), l, LimitKey{Repo: s.repo, Client: s.client})
					ops[s.id] = p
					settle(t, s.id+" to start or queue", func() bool { return p.finished() || l.queueLen() == before+1 })
					if started := p.finished(); started != (s.do == "run") {
						t.Fatalf("step %d: %s started=%v, want %s", i, s.id, started, s.do)
					}
					if s.do == "wait" {
						waiting[s.id] = true
					}
				case "end":
					before := l.queueLen()
					ops[s.id].release()
					if s.next == "" {
						if l.queueLen() != before {
							t.Fatalf("step %d: ending %s changed the queue", i, s.id)
						}
						continue
					}
					// One slot came free, so at most one waiter starts.
					var started []string
					settle(t, "a waiter to start after "+s.id+" ended", func() bool {
						started = started[:0]
						for id := range waiting {
							if ops[id].finished() {
								started = append(started, id)
							}
						}
						return len(started) > 0
					})
					sort.Strings(started)
					if len(started) != 1 || started[0] != s.next {
						t.Fatalf("step %d: ending %s started %v, want %s", i, s.id, started, s.next)
					}
					if err := ops[s.next].err; err != nil {
						t.Fatalf("step %d: %s: %v", i, s.next, err)
					}
					delete(waiting, s.next)
				}
			}
			for id := range waiting {
				if ops[id].finished() {
					t.Errorf("%s started though no slot came free for it", id)
				}
			}
		})
	}
}

func TestLimiterRefusesAtOnceWhenTheQueueIsFull(t *testing.T) {
	l, _ := newTestLimiter(t, LimiterConfig{MaxConcurrent: 2, QueueLength: 1})
	k := LimitKey{Repo: "r", Client: "A"}
	first, err := l.Acquire(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Acquire(context.Background(), k); err != nil {
		t.Fatal(err)
	}
	queued := acquire(context.Background(), l, k)
	settle(t, "the third operation to queue", func() bool { return l.queueLen() == 1 })
	// No goroutine: the refusal returns before any waiting.
	if _, err := l.Acquire(context.Background(), LimitKey{Repo: "other", Client: "B"}); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("fourth operation: %v, want ErrQueueFull", err)
	}
	if !l.WouldRefuse(k) {
		t.Error("WouldRefuse is false with every slot taken and the queue full")
	}
	if got := counter(t, l.refused.WithLabelValues("queue_full")); got != 1 {
		t.Errorf("refused{queue_full} = %v, want 1", got)
	}
	first()
	first() // a second call frees nothing more
	<-queued.done
	if queued.err != nil {
		t.Fatalf("queued operation: %v", queued.err)
	}
	if l.WouldRefuse(k) {
		t.Error("WouldRefuse is true with the queue empty")
	}
	l.mu.Lock()
	running := l.running
	l.mu.Unlock()
	if running != 2 {
		t.Errorf("%d operations running, want 2 (a release called twice freed two slots?)", running)
	}
}

func TestLimiterRefusesAWaiterAtTheQueueTimeout(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{MaxConcurrent: 1, QueueTimeout: 30 * time.Second})
	k := LimitKey{Repo: "r", Client: "A"}
	release, err := l.Acquire(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	p := acquire(context.Background(), l, LimitKey{Repo: "r", Client: "B"})
	settle(t, "the second operation to queue", func() bool { return l.queueLen() == 1 })
	clock.Advance(30*time.Second - time.Nanosecond)
	if p.finished() {
		t.Fatalf("the waiter gave up before the queue timeout: %v", p.err)
	}
	clock.Advance(time.Nanosecond)
	<-p.done
	if !errors.Is(p.err, ErrQueueTimeout) {
		t.Fatalf("waiter at the timeout: %v, want ErrQueueTimeout", p.err)
	}
	if l.queueLen() != 0 || gauge(t, l.queued) != 0 {
		t.Errorf("the expired waiter is still counted in the queue")
	}
	if got := counter(t, l.refused.WithLabelValues("timeout")); got != 1 {
		t.Errorf("refused{timeout} = %v, want 1", got)
	}
	release()
	if _, err := l.Acquire(context.Background(), k); err != nil {
		t.Fatalf("the slot was not freed: %v", err)
	}
}

func TestLimiterForgetsAWaiterWhoseClientLeft(t *testing.T) {
	l, _ := newTestLimiter(t, LimiterConfig{MaxConcurrent: 1})
	release, err := l.Acquire(context.Background(), LimitKey{Repo: "r", Client: "A"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := acquire(ctx, l, LimitKey{Repo: "r", Client: "B"})
	settle(t, "the second operation to queue", func() bool { return l.queueLen() == 1 })
	cancel()
	<-p.done
	if !errors.Is(p.err, context.Canceled) {
		t.Fatalf("cancelled waiter: %v, want context.Canceled", p.err)
	}
	if l.queueLen() != 0 {
		t.Fatal("the cancelled waiter is still queued")
	}
	release()
	if _, err := l.Acquire(context.Background(), LimitKey{Repo: "r", Client: "C"}); err != nil {
		t.Fatalf("the slot went to the client that left: %v", err)
	}
}

func TestLimiterObservesHowLongOperationsWaited(t *testing.T) {
	l, clock := newTestLimiter(t, LimiterConfig{MaxConcurrent: 1})
	release, err := l.Acquire(context.Background(), LimitKey{Repo: "r", Client: "A"})
	if err != nil {
		t.Fatal(err)
	}
	p := acquire(context.Background(), l, LimitKey{Repo: "r", Client: "B"})
	settle(t, "the second operation to queue", func() bool { return l.queueLen() == 1 })
	clock.Advance(3 * time.Second)
	release()
	<-p.done
	if p.err != nil {
		t.Fatal(p.err)
	}
	var m dto.Metric
	if err := l.waited.Write(&m); err != nil {
		t.Fatal(err)
	}
	if h := m.GetHistogram(); h.GetSampleCount() != 2 || h.GetSampleSum() != 3 {
		t.Errorf("wait histogram: %d samples summing to %vs, want 2 summing to 3s (0 and 3)", h.GetSampleCount(), h.GetSampleSum())
	}
}

func TestLimiterRejectsAConfigurationWithoutLimits(t *testing.T) {
	for _, cfg := range []LimiterConfig{
		{MaxConcurrent: 0, MaxPerRepo: 1, QueueTimeout: time.Second},
		{MaxConcurrent: 1, MaxPerRepo: 0, QueueTimeout: time.Second},
		{MaxConcurrent: 1, MaxPerRepo: 1},
	} {
		if _, err := NewLimiter(cfg); err == nil {
			t.Errorf("NewLimiter(%+v) accepted", cfg)
		}
	}
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func gauge(t *testing.T, g prometheus.Gauge) float64 {
	t.Helper()
	var m dto.Metric
	if err := g.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetGauge().GetValue()
}
