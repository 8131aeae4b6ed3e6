// Package metrics defines every Prometheus collector gitgate exports, on
// a registry of its own so several servers can live in one process (tests).
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds the collectors. Labels are bounded: never a repository,
// user or token.
type Metrics struct {
	Registry *prometheus.Registry

	// HTTPRequests counts HTTP requests by handler group and status code.
	HTTPRequests *prometheus.CounterVec
	// GitOperations counts finished Git operations by transport
	// (http|ssh), service (git-upload-pack|git-receive-pack|
	// git-upload-archive) and result (ok|denied|error|client_gone).
	GitOperations *prometheus.CounterVec
	// GitDuration observes Git operation durations by transport and service.
	GitDuration *prometheus.HistogramVec
	// GitBytes counts bytes by transport and direction (in|out).
	GitBytes *prometheus.CounterVec
	// GitProcesses is the number of running git processes;
	// GitProcessesStarted counts them.
	GitProcesses        prometheus.Gauge
	GitProcessesStarted prometheus.Counter
	// AuthAttempts counts authentications by transport, method and result.
	AuthAttempts *prometheus.CounterVec
	// SSHSessions is the number of open SSH sessions; SSHSessionsTotal counts them.
	SSHSessions      prometheus.Gauge
	SSHSessionsTotal *prometheus.CounterVec
	// ThrottledRequests counts requests refused by the failed-auth lockout.
	ThrottledRequests *prometheus.CounterVec
	// HousekeepingJobs counts repository maintenance jobs by result (ok|error).
	HousekeepingJobs *prometheus.CounterVec
	// PackCacheRequests counts pack-objects requests by result
	// (hit|shared|miss|bypass).
	PackCacheRequests *prometheus.CounterVec
	// PackCacheBytes is the size of the packs the cache holds on disk;
	// PackCacheEvictions counts the packs it deleted, by reason
	// (age|size|too_big).
	PackCacheBytes     prometheus.Gauge
	PackCacheEvictions *prometheus.CounterVec
	// ExpiryMails counts token and SSH key expiry mails by kind
	// (token_expiring|token_expired|ssh_key_expiring|ssh_key_expired) and
	// result (queued|sent|retry|failed); OutboxPending is the number of
	// messages waiting in the outbox (docs/mail.md).
	ExpiryMails   *prometheus.CounterVec
	OutboxPending prometheus.Gauge
}

// New creates and registers every collector.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		HTTPRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_http_requests_total", Help: "HTTP requests by handler group and status code.",
		}, []string{"handler", "code"}),
		GitOperations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_git_operations_total", Help: "Git operations by transport, service and result.",
		}, []string{"transport", "service", "result"}),
		GitDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "gitgate_git_operation_duration_seconds", Help: "Duration of Git operations.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300},
		}, []string{"transport", "service"}),
		GitBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_git_bytes_total", Help: "Bytes moved by Git operations, by transport and direction.",
		}, []string{"transport", "direction"}),
		GitProcesses: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gitgate_git_processes", Help: "Git processes running now.",
		}),
		GitProcessesStarted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "gitgate_git_processes_started_total", Help: "Git service processes started.",
		}),
		AuthAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_auth_attempts_total", Help: "Authentication attempts by transport, method and result.",
		}, []string{"transport", "method", "result"}),
		SSHSessions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gitgate_ssh_sessions", Help: "Open SSH sessions.",
		}),
		SSHSessionsTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_ssh_sessions_total", Help: "SSH sessions by result.",
		}, []string{"result"}),
		ThrottledRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_throttled_requests_total", Help: "Requests refused because their address failed authentication too often.",
		}, []string{"transport"}),
		HousekeepingJobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_housekeeping_jobs_total", Help: "Repository maintenance jobs by result.",
		}, []string{"result"}),
		PackCacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_pack_cache_requests_total", Help: "Packs asked of the shared pack cache, by result (hit, shared, miss, bypass).",
		}, []string{"result"}),
		PackCacheBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gitgate_pack_cache_bytes", Help: "Bytes of the packs the shared pack cache holds on disk, those being produced included.",
		}),
		PackCacheEvictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_pack_cache_evictions_total", Help: "Packs the shared pack cache deleted, by reason (age, size, too_big).",
		}, []string{"reason"}),
		ExpiryMails: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "gitgate_token_expiry_mails_total", Help: "Token and SSH key expiry mails by kind and result (queued, sent, retry, failed).",
		}, []string{"kind", "result"}),
		OutboxPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "gitgate_outbox_pending", Help: "Messages waiting in the outbox to be sent.",
		}),
	}
	r.MustRegister(m.ExpiryMails, m.OutboxPending)
	r.MustRegister(m.PackCacheBytes, m.PackCacheEvictions)
	r.MustRegister(m.HTTPRequests, m.GitOperations, m.GitDuration, m.GitBytes, m.GitProcesses, m.GitProcessesStarted, m.AuthAttempts,
		m.SSHSessions, m.SSHSessionsTotal, m.ThrottledRequests, m.HousekeepingJobs, m.PackCacheRequests)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{Registry: m.Registry})
}
