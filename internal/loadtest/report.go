package loadtest

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// SeriesWindow is the trailing window of the time series' p99.
const SeriesWindow = 10 * time.Second

// MaxErrorLines is how many failed operations the report lists.
const MaxErrorLines = 10

// Row is one line of the latency table.
type Row struct {
	Kind, Door string // Door "both" for the doors together; Kind "all"
	Runs       int
	Failed     int
	P50, P99   float64 // seconds of the successful runs; NaN without any
	Max        float64
}

// Table is the latency table: per operation and door, per operation over
// both doors, and everything.
func (r *Result) Table() []Row {
	type key struct{ kind, door string }
	groups := map[key][]Op{}
	for _, o := range r.Ops {
		for _, k := range []key{{o.Kind, o.Door}, {o.Kind, "both"}, {"all", "both"}} {
			groups[k] = append(groups[k], o)
		}
	}
	var rows []Row
	for _, kind := range []string{OpClone, OpFetch, OpPush, "all"} {
		for _, door := range []string{DoorHTTP, DoorSSH, "both"} {
			ops, ok := groups[key{kind, door}]
			if !ok || (kind == "all" && door != "both") {
				continue
			}
			row := Row{Kind: kind, Door: door, Runs: len(ops), Max: math.NaN()}
			var durs []float64
			for _, o := range ops {
				if o.Err != "" {
					row.Failed++
					continue
				}
				durs = append(durs, o.Duration.Seconds())
			}
			row.P50, row.P99 = Percentile(durs, 50), Percentile(durs, 99)
			if len(durs) > 0 {
				row.Max = Percentile(durs, 100)
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// Flatness is the memory check of the run.
func (r *Result) Flatness() Flatness { return FlatnessOf(r.RSS, r.Elapsed) }

// ServerFlatness is the memory check of the server process alone.
func (r *Result) ServerFlatness() Flatness {
	own := make([]RSSSample, len(r.RSS))
	for i, s := range r.RSS {
		own[i] = RSSSample{At: s.At, RSS: s.Server}
	}
	return FlatnessOf(own, r.Elapsed)
}

// PeakRSS is the highest sample.
func (r *Result) PeakRSS() int64 {
	var peak int64
	for _, s := range r.RSS {
		peak = max(peak, s.RSS)
	}
	return peak
}

func secs(v float64) string {
	if math.IsNaN(v) {
		return "–"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

func mib(v float64) string { return fmt.Sprintf("%.0f MB", v/1e6) }

// WriteMarkdown writes the report.
func (r *Result) WriteMarkdown(w io.Writer, title string) error {
	c := r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", title)
	var targets []string
	if c.HTTPBase != "" {
		targets = append(targets, "`"+Mask(c.HTTPBase)+"`")
	}
	if c.SSHBase != "" {
		targets = append(targets, "`"+c.SSHBase+"`")
	}
	mix := fmt.Sprintf("clone=%d, fetch=%d, push=%d", c.Mix[OpClone], c.Mix[OpFetch], c.Mix[OpPush])
	fmt.Fprintf(&b, "%d clients for %s (the last operations ended after %.0f s), started %s, against %s; repositories %s; operations weighed %s.\n\n",
		c.Clients, c.Duration, r.Elapsed.Seconds(), r.Started.UTC().Format("2006-01-02 15:04 UTC"), strings.Join(targets, " and "),
		strings.Join(c.Repos, ", "), mix)

	errs := r.Errors()
	flat := r.Flatness()
	b.WriteString("## Verdict\n\n")
	fmt.Fprintf(&b, "- errors: **%d** of %d operations (target 0): %s\n", len(errs), len(r.Ops), pass(len(errs) == 0 && len(r.Ops) > 0))
	switch {
	case c.ServerPID == 0:
		b.WriteString("- memory: not sampled (no server pid)\n")
	case !flat.Known:
		fmt.Fprintf(&b, "- memory flat after warm-up: unknown (too few samples%s)\n", suffix(r.RSSError))
	default:
		fmt.Fprintf(&b, "- memory flat after warm-up: last %s median %s ≤ %.1f × second %s median %s: ratio %.2f, %s\n",
			flat.Window, mib(flat.LastMedian), FlatLimit, flat.Window, mib(flat.SecondMedian), flat.Ratio, pass(flat.Flat))
	}
	if c.ServerPID != 0 && len(r.RSS) > 0 {
		fmt.Fprintf(&b, "- server process tree (pid %d and descendants): %s at the start, %s at peak, %d samples every %s\n",
			c.ServerPID, mib(float64(r.RSS[0].RSS)), mib(float64(r.PeakRSS())), len(r.RSS), c.SampleEvery)
		var peak int64
		for _, s := range r.RSS {
			peak = max(peak, s.Server)
		}
		fmt.Fprintf(&b, "- the server process alone (without its git processes): %s at the start, %s at peak", mib(float64(r.RSS[0].Server)), mib(float64(peak)))
		if sf := r.ServerFlatness(); sf.Known {
			fmt.Fprintf(&b, "; last %s median %s against second %s median %s: ratio %.2f", sf.Window, mib(sf.LastMedian), sf.Window, mib(sf.SecondMedian), sf.Ratio)
		}
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "- throughput: %.1f operations/s\n\n", float64(len(r.Ops))/r.Elapsed.Seconds())

	b.WriteString("## Latency (seconds, successful operations)\n\n| operation | door | runs | failed | p50 | p99 | max |\n|---|---|---|---|---|---|---|\n")
	for _, row := range r.Table() {
		fmt.Fprintf(&b, "| %s | %s | %d | %d | %s | %s | %s |\n", row.Kind, row.Door, row.Runs, row.Failed, secs(row.P50), secs(row.P99), secs(row.Max))
	}
	if changes := r.MetricChanges(); len(changes) > 0 || r.MetricsError != "" {
		b.WriteString("\n## Server metrics before and after\n\n")
		if r.MetricsError != "" {
			fmt.Fprintf(&b, "Not read: %s\n", r.MetricsError)
		} else {
			b.WriteString("| sample | before | after | change |\n|---|---|---|---|\n")
			for _, m := range changes {
				fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", m.Sample, num(m.Before), num(m.After), num(m.After-m.Before))
			}
		}
	}
	if len(errs) > 0 {
		fmt.Fprintf(&b, "\n## Errors (the first %d of %d)\n\n", min(len(errs), MaxErrorLines), len(errs))
		for _, o := range errs[:min(len(errs), MaxErrorLines)] {
			fmt.Fprintf(&b, "- %.1f s, client %d, %s %s over %s: `%s`\n", o.Start.Seconds(), o.Client, o.Kind, o.Repo, o.Door, strings.ReplaceAll(o.Err, "`", "'"))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func pass(ok bool) string {
	if ok {
		return "**pass**"
	}
	return "**FAIL**"
}

func suffix(s string) string {
	if s == "" {
		return ""
	}
	return ": " + s
}

// WriteCSV writes the time series: one line per memory sample.
func (r *Result) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"t_s", "rss_bytes", "server_rss_bytes", "processes", "ops_ended_10s", "errors_10s", "p99_10s_s"})
	for _, p := range Series(r.RSS, r.Ops, SeriesWindow) {
		p99 := ""
		if !math.IsNaN(p.P99) {
			p99 = strconv.FormatFloat(p.P99, 'f', 3, 64)
		}
		_ = cw.Write([]string{strconv.FormatFloat(p.At.Seconds(), 'f', 1, 64), strconv.FormatInt(p.RSS, 10), strconv.FormatInt(p.Server, 10),
			strconv.Itoa(p.Processes), strconv.Itoa(p.Done), strconv.Itoa(p.Errors), p99})
	}
	cw.Flush()
	return cw.Error()
}

// WritePNG draws the server's memory and the operations' p99 over time,
// one above the other.
func (r *Result) WritePNG(path, title string) error {
	points := Series(r.RSS, r.Ops, SeriesWindow)
	if len(points) == 0 {
		return fmt.Errorf("no memory samples to plot")
	}
	rss, own, p99 := make(plotter.XYs, 0, len(points)), make(plotter.XYs, 0, len(points)), make(plotter.XYs, 0, len(points))
	for _, p := range points {
		rss = append(rss, plotter.XY{X: p.At.Seconds(), Y: float64(p.RSS) / 1e6})
		own = append(own, plotter.XY{X: p.At.Seconds(), Y: float64(p.Server) / 1e6})
		if !math.IsNaN(p.P99) {
			p99 = append(p99, plotter.XY{X: p.At.Seconds(), Y: p.P99})
		}
	}
	top := plot.New()
	top.Title.Text = title
	top.Y.Label.Text = "RSS (MB)"
	top.Y.Min = 0
	for _, line := range []struct {
		xys   plotter.XYs
		c     color.Color
		label string
	}{
		{rss, color.RGBA{R: 31, G: 119, B: 180, A: 255}, "server and its git processes"},
		{own, color.RGBA{G: 140, B: 60, A: 255}, "server process alone"},
	} {
		l, err := addLine(top, line.xys, line.c)
		if err != nil {
			return err
		}
		if l != nil {
			top.Legend.Add(line.label, l)
		}
	}
	if f := r.Flatness(); f.Known {
		limit := plotter.XYs{{X: (r.Elapsed - f.Window).Seconds(), Y: f.SecondMedian * FlatLimit / 1e6}, {X: r.Elapsed.Seconds(), Y: f.SecondMedian * FlatLimit / 1e6}}
		l, err := plotter.NewLine(limit)
		if err != nil {
			return err
		}
		l.Color = color.RGBA{R: 200, A: 255}
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
		top.Add(l)
		top.Legend.Add(fmt.Sprintf("%.1f× second-window median", FlatLimit), l)
		top.Legend.Top = false
	}
	bottom := plot.New()
	bottom.X.Label.Text = "seconds since start"
	bottom.Y.Label.Text = "p99 of ops ended in last 10 s (s)"
	bottom.Y.Min = 0
	if _, err := addLine(bottom, p99, color.RGBA{R: 214, G: 39, B: 40, A: 255}); err != nil {
		return err
	}
	for _, p := range []*plot.Plot{top, bottom} {
		p.X.Min, p.X.Max = 0, r.Elapsed.Seconds()
		p.Add(plotter.NewGrid())
	}
	const w, h = 8 * vg.Inch, 6 * vg.Inch
	img := vgimg.New(w, h)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 2, Cols: 1, PadTop: vg.Points(4), PadBottom: vg.Points(4), PadLeft: vg.Points(4), PadRight: vg.Points(8), PadY: vg.Points(6)}
	canvases := plot.Align([][]*plot.Plot{{top}, {bottom}}, tiles, dc)
	top.Draw(canvases[0][0])
	bottom.Draw(canvases[1][0])
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func addLine(p *plot.Plot, xys plotter.XYs, c color.Color) (*plotter.Line, error) {
	if len(xys) == 0 {
		return nil, nil
	}
	sort.Slice(xys, func(a, b int) bool { return xys[a].X < xys[b].X })
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, err
	}
	l.Color = c
	l.Width = vg.Points(1.5)
	p.Add(l)
	return l, nil
}
