package loadtest

import (
	"math"
	"slices"
	"time"
)

// Percentile is the nearest-rank p-th percentile (0 < p ≤ 100) of xs: the
// smallest value with at least p % of the values at or below it. xs need
// not be sorted; it is not modified. NaN for no values.
func Percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 || p <= 0 || p > 100 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[max(rank, 1)-1]
}

// Median is the median of xs (the mean of the middle two for an even
// count); NaN for no values.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

// FlatLimit is how much the last window's median RSS may exceed the
// second window's for the curve to count as flat.
const FlatLimit = 1.1

// Flatness compares the server's memory late in the run with just after
// warm-up: the median RSS of the last window against that of the second
// (the first is warm-up). The window is a minute, or a fifth of the run
// when the run is shorter than five minutes, so that a short load test
// gets the same check as a soak run.
type Flatness struct {
	Window       time.Duration
	SecondMedian float64 // bytes
	LastMedian   float64 // bytes
	Ratio        float64 // LastMedian / SecondMedian
	Flat         bool    // Ratio ≤ FlatLimit
	// Known is false when there were too few samples to tell.
	Known bool
}

// FlatnessOf computes the check over RSS samples of a run of length total.
func FlatnessOf(samples []RSSSample, total time.Duration) Flatness {
	w := min(time.Minute, total/5)
	if w > time.Second {
		w = w.Truncate(time.Second)
	}
	f := Flatness{Window: w}
	if w <= 0 {
		return f
	}
	var second, last []float64
	for _, s := range samples {
		if s.At >= w && s.At < 2*w {
			second = append(second, float64(s.RSS))
		}
		if s.At >= total-w && s.At <= total {
			last = append(last, float64(s.RSS))
		}
	}
	if len(second) == 0 || len(last) == 0 {
		return f
	}
	f.SecondMedian, f.LastMedian = Median(second), Median(last)
	if f.SecondMedian <= 0 {
		return f
	}
	f.Ratio = f.LastMedian / f.SecondMedian
	f.Flat = f.Ratio <= FlatLimit
	f.Known = true
	return f
}

// Point is one step of the time series: the server's memory at At, and
// the operations that ended in the trailing window before it.
type Point struct {
	At        time.Duration
	RSS       int64
	Server    int64
	Processes int
	Done      int     // operations ended in (At-window, At]
	Errors    int     // of which failed
	P99       float64 // seconds; NaN when none ended
}

// Series joins the RSS samples with the operations: for each sample, the
// p99 duration of the operations that ended in the window before it.
func Series(samples []RSSSample, ops []Op, window time.Duration) []Point {
	out := make([]Point, 0, len(samples))
	for _, s := range samples {
		var durs []float64
		p := Point{At: s.At, RSS: s.RSS, Server: s.Server, Processes: s.Processes}
		for _, o := range ops {
			if end := o.Start + o.Duration; end > s.At-window && end <= s.At {
				durs = append(durs, o.Duration.Seconds())
				p.Done++
				if o.Err != "" {
					p.Errors++
				}
			}
		}
		p.P99 = Percentile(durs, 99)
		out = append(out, p)
	}
	return out
}
