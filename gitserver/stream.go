package gitserver

import (
	"context"
	"io"
	"net/http"
	"sync/atomic"
)

// responseStream is git's stdout: the response headers go out with the
// first byte (so a git that fails before saying anything can still be
// answered with an error status), and every write is flushed at once, so
// progress and pack data reach the client as git produces them.
type responseStream struct {
	// ctx is the run's: once it ends (a refused request body), git's last
	// words are not passed on, so the refusal can still be the answer.
	ctx         context.Context
	w           http.ResponseWriter
	rc          *http.ResponseController
	n           *atomic.Int64
	contentType string
	started     bool
}

func (s *responseStream) start() {
	s.started = true
	h := s.w.Header()
	h.Set("Content-Type", s.contentType)
	noCache(h)
	s.w.WriteHeader(http.StatusOK)
}

func (s *responseStream) Write(p []byte) (int, error) {
	if s.ctx != nil && s.ctx.Err() != nil {
		return 0, s.ctx.Err()
	}
	if !s.started {
		s.start()
	}
	n, err := s.w.Write(p)
	s.n.Add(int64(n))
	if err != nil {
		return n, err
	}
	if err := s.rc.Flush(); err != nil {
		return n, err
	}
	return n, nil
}

// limitedWriter keeps at most n bytes of git's stderr for the log and
// discards the rest, so a chatty git cannot grow memory.
type limitedWriter struct {
	w io.Writer
	n int
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if l.n > 0 {
		k := min(len(p), l.n)
		_, _ = l.w.Write(p[:k])
		l.n -= k
	}
	return len(p), nil
}

// statusRecorder remembers the status code for metrics and logs;
// Unwrap lets http.ResponseController reach the real writer's Flush.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		return http.StatusOK
	}
	return s.code
}
