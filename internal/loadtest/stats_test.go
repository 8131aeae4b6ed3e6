package loadtest

import (
	"math"
	"os"
	"os/exec"
	"testing"
	"time"
)

func TestPercentileIsTheNearestRank(t *testing.T) {
	hundred := make([]float64, 100)
	for i := range hundred {
		hundred[i] = float64(100 - i) // 100 … 1, unsorted
	}
	for _, tc := range []struct {
		name string
		xs   []float64
		p    float64
		want float64
	}{
		{"none", nil, 50, math.NaN()},
		{"one", []float64{7}, 99, 7},
		{"p50 of two is the lower", []float64{2, 1}, 50, 1},
		{"p99 of two is the higher", []float64{1, 2}, 99, 2},
		{"p50 of 1…100", hundred, 50, 50},
		{"p99 of 1…100", hundred, 99, 99},
		{"p100 is the maximum", hundred, 100, 100},
		{"p99 of ten is the maximum", []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 99, 10},
		{"p90 of ten", []float64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}, 90, 9},
		{"out of range", []float64{1}, 0, math.NaN()},
	} {
		got := Percentile(tc.xs, tc.p)
		if got != tc.want && !(math.IsNaN(got) && math.IsNaN(tc.want)) {
			t.Errorf("%s: Percentile(p%v) = %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
	if hundred[0] != 100 {
		t.Fatal("Percentile sorted its argument")
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{5}, 5},
	} {
		if got := Median(tc.xs); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
	if !math.IsNaN(Median(nil)) {
		t.Error("Median of nothing is not NaN")
	}
}

// rssRun makes one sample a second over total, the RSS from f(second).
func rssRun(total time.Duration, f func(s int) int64) []RSSSample {
	var out []RSSSample
	for s := 1; time.Duration(s)*time.Second <= total; s++ {
		out = append(out, RSSSample{At: time.Duration(s) * time.Second, RSS: f(s)})
	}
	return out
}

func TestFlatnessComparesTheLastWindowWithTheSecond(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		name    string
		total   time.Duration
		rss     func(s int) int64
		window  time.Duration
		ratio   float64
		flat    bool
		unknown bool
	}{
		{"a soak whose warm-up grows then stays level is flat", 10 * time.Minute,
			func(s int) int64 { return min(int64(s), 60) * 10 * mb }, time.Minute, 1, true, false},
		{"growth of 10 % is still flat", 10 * time.Minute,
			func(s int) int64 {
				if s >= 540 {
					return 110 * mb
				}
				return 100 * mb
			}, time.Minute, 1.1, true, false},
		{"a leak is not flat", 10 * time.Minute,
			func(s int) int64 { return int64(100+s) * mb }, time.Minute, (100 + 570) / (100 + 89.5), false, false},
		{"one spike in the last minute does not move the median", 10 * time.Minute,
			func(s int) int64 {
				if s == 590 {
					return 900 * mb
				}
				return 100 * mb
			}, time.Minute, 1, true, false},
		{"a 60 s run uses 12 s windows", time.Minute,
			func(s int) int64 {
				if s >= 48 {
					return 150 * mb
				}
				return 100 * mb
			}, 12 * time.Second, 1.5, false, false},
		{"no samples", time.Minute, nil, 12 * time.Second, 0, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var samples []RSSSample
			if tc.rss != nil {
				samples = rssRun(tc.total, tc.rss)
			}
			f := FlatnessOf(samples, tc.total)
			if f.Window != tc.window || f.Known == tc.unknown || f.Flat != tc.flat || math.Abs(f.Ratio-tc.ratio) > 1e-9 {
				t.Fatalf("got %+v; want window %v, ratio %v, flat %v, known %v", f, tc.window, tc.ratio, tc.flat, !tc.unknown)
			}
		})
	}
}

func TestSeriesTakesTheP99OfTheOperationsEndedInTheWindow(t *testing.T) {
	s := time.Second
	ops := []Op{
		{Start: 0, Duration: s},                     // ends at 1 s
		{Start: 0, Duration: 2 * s, Err: "boom"},    // ends at 2 s
		{Start: 2 * s, Duration: 3 * s},             // ends at 5 s
		{Start: 9 * s, Duration: s / 2},             // ends at 9.5 s
		{Start: 8 * s, Duration: 4 * s},             // ends at 12 s: after the last sample
		{Start: 0, Duration: 10 * s, Err: "killed"}, // ends at 10 s
	}
	samples := []RSSSample{{At: 2 * s, RSS: 1}, {At: 5 * s, RSS: 2}, {At: 10 * s, RSS: 3}}
	got := Series(samples, ops, 3*s)
	want := []Point{
		{At: 2 * s, RSS: 1, Done: 2, Errors: 1, P99: 2},
		{At: 5 * s, RSS: 2, Done: 1, P99: 3},
		{At: 10 * s, RSS: 3, Done: 2, Errors: 1, P99: 10},
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("point %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestTreeRSSCountsTheProcessAndItsChildren(t *testing.T) {
	alone, own, n, err := TreeRSS(os.Getpid())
	if err != nil || alone <= 0 || n < 1 || own <= 0 || own > alone {
		t.Fatalf("this process: %d bytes (%d its own) in %d processes, %v", alone, own, n, err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	withChild, ownWithChild, m, err := TreeRSS(os.Getpid())
	if err != nil || m != n+1 {
		t.Fatalf("with a child: %d processes (%v), want %d", m, err, n+1)
	}
	if withChild <= ownWithChild {
		t.Fatalf("with a child: %d bytes, no more than the process's own %d", withChild, ownWithChild)
	}
	if _, _, _, err := TreeRSS(1 << 30); err == nil {
		t.Fatal("a process that does not exist has a memory")
	}
}

func TestAFailedOperationIsReportedWithGitsReasonOnOneLine(t *testing.T) {
	for _, c := range []struct{ stderr, want string }{
		{"Cloning into 'x'...\nfatal: repository 'http://h/r.git/' not found\n", "fatal: repository 'http://h/r.git/' not found"},
		{"To ssh://h/r.git\n ! [remote rejected] abc -> refs/heads/x (cannot lock ref 'refs/heads/x': is at 1 but expected 2)\nerror: failed to push some refs to 'ssh://h/r.git'\n",
			"! [remote rejected] abc -> refs/heads/x (cannot lock ref 'refs/heads/x': is at 1 but expected 2) | error: failed to push some refs to 'ssh://h/r.git'"},
		{"remote: error: gitgate: the queue is full\nfatal: the remote end hung up unexpectedly\n",
			"remote: error: gitgate: the queue is full | fatal: the remote end hung up unexpectedly"},
		{"something odd\nand more\n", "something odd"},
	} {
		if got := firstErrorLine(c.stderr); got != c.want {
			t.Errorf("firstErrorLine(%q) = %q, want %q", c.stderr, got, c.want)
		}
	}
}
