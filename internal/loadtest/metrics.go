package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// metricPrefixes are the server metrics the report shows the change of:
// what the pack cache did and how many git processes the load cost.
var metricPrefixes = []string{"gitgate_pack_cache_", "gitgate_git_processes_started_total", "gitgate_git_operations_total"}

// scrapeMetrics reads the samples of metricPrefixes from a Prometheus
// text endpoint (e.g. http://127.0.0.1:8080/-/metrics).
func scrapeMetrics(ctx context.Context, url string) (map[string]float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("metrics: %s answered %s", url, resp.Status)
	}
	return parseMetrics(bufio.NewScanner(resp.Body))
}

func parseMetrics(sc *bufio.Scanner) (map[string]float64, error) {
	out := map[string]float64{}
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		name := line[:i]
		wanted := false
		for _, p := range metricPrefixes {
			wanted = wanted || strings.HasPrefix(name, p)
		}
		if !wanted {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[name] = v
	}
	return out, sc.Err()
}

// MetricChange is one server sample before and after the run.
type MetricChange struct {
	Sample        string
	Before, After float64
}

// MetricChanges lists the samples that changed during the run, or that
// are gauges (gitgate_pack_cache_bytes), by name.
func (r *Result) MetricChanges() []MetricChange {
	var out []MetricChange
	for name, after := range r.MetricsAfter {
		before := r.MetricsBefore[name]
		if after != before || !strings.HasSuffix(name, "_total") && !strings.Contains(name, "_total{") {
			out = append(out, MetricChange{Sample: name, Before: before, After: after})
		}
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Sample < out[b].Sample })
	return out
}
