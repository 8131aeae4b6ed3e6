package gitserver

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"
)

// responseStream is git's stdout: the response headers go out with the
// first byte (so a git that fails before saying anything can still be
// answered with an error status), and every write is flushed at once, so
// progress and pack data reach the client as git produces them.
//
// Each write gets a deadline of idle from its start: a client that stops
// reading (a stalled download) makes it fail, and fail kills git. The
// last deadline stays on the connection, so that net/http's own final
// write after the handler is bounded too; the server clears it when the
// next request on the connection starts (server/middleware.go).
type responseStream struct {
	// ctx is the run's: once it ends (a refused request body), git's last
	// words are not passed on, so the refusal can still be the answer.
	ctx         context.Context
	w           http.ResponseWriter
	rc          *http.ResponseController
	n           *atomic.Int64
	contentType string
	started     bool
	idle        time.Duration // <= 0: no deadline
	// fail, when set, ends the run on a failed write, so that git does
	// not stay blocked writing output no one reads.
	fail func(error)
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
	if s.idle > 0 {
		_ = s.rc.SetWriteDeadline(time.Now().Add(s.idle))
	}
	if !s.started {
		s.start()
	}
	n, err := s.w.Write(p)
	s.n.Add(int64(n))
	if err == nil {
		err = s.rc.Flush()
	}
	if err != nil {
		var ne net.Error
		if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			err = errResponseIdle
		}
		if s.fail != nil {
			s.fail(err)
		}
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
