package server

import (
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/metrics"
)

// observe gives every request an id (X-Request-Id), counts it, and logs
// one line when it ends. Only the path is logged: query strings may carry
// private_token.
func observe(next http.Handler, log *slog.Logger, m *metrics.Metrics) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		// A Git response leaves its last write deadline on the connection
		// (gitserver's responseStream): a request that follows on the
		// same connection starts without it.
		_ = http.NewResponseController(w).SetWriteDeadline(time.Time{})
		id := newRequestID()
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(logging.WithRequestID(r.Context(), id)))
		group := handlerGroup(r.URL.Path)
		m.HTTPRequests.WithLabelValues(group, strconv.Itoa(rec.status)).Inc()
		if group == "health" || group == "metrics" {
			return
		}
		log.Info("request", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", rec.status,
			"bytes", rec.bytes, "duration_ms", time.Since(start).Milliseconds(), "remote", r.RemoteAddr)
	})
}

func newRequestID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// handlerGroup is a bounded metrics label for a path.
func handlerGroup(path string) string {
	switch {
	case strings.HasPrefix(path, "/api/"):
		return "api"
	case path == "/-/metrics":
		return "metrics"
	case path == "/-/health", path == "/-/readiness":
		return "health"
	case strings.HasSuffix(path, "/info/refs"), strings.HasSuffix(path, "/git-upload-pack"), strings.HasSuffix(path, "/git-receive-pack"):
		return "git"
	}
	return "other"
}

// statusRecorder remembers the status and size of a response. It keeps
// streaming working: Flush passes through, and Unwrap lets
// http.ResponseController reach the real writer.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
}

func (s *statusRecorder) WriteHeader(code int) {
	if !s.wroteHeader {
		s.status, s.wroteHeader = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	s.wroteHeader = true
	n, err := s.ResponseWriter.Write(b)
	s.bytes += int64(n)
	return n, err
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }
