// Package replay is a benchmark instrument: an HTTP proxy that forwards
// each distinct request to a Git server once, records the answer and
// replays it from memory from then on. Measured side by side with
// gitgate and git http-backend, it is the floor of a smart-HTTP server on
// the machine: the time the git client itself spends on ls-remote or a
// no-op fetch when the server costs nothing (docs/benchmarks.md).
package replay

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
)

// MaxRecorded is the largest answer kept; larger ones (a clone's pack) are
// streamed through every time.
const MaxRecorded = 1 << 20

// MaxRequest is the largest request body read for the key; larger
// requests are refused.
const MaxRequest = 1 << 20

// Proxy records and replays answers of Upstream. Use New.
type Proxy struct {
	upstream *url.URL
	forward  *httputil.ReverseProxy

	mu       sync.RWMutex
	answers  map[[32]byte]*answer
	replayed atomic.Int64
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

// New returns a Proxy of upstream (scheme and host; the request's path is
// kept).
func New(upstream *url.URL) *Proxy {
	return &Proxy{upstream: upstream, forward: httputil.NewSingleHostReverseProxy(upstream), answers: map[[32]byte]*answer{}}
}

// Replayed is how many requests were answered from memory.
func (p *Proxy) Replayed() int { return int(p.replayed.Load()) }

// key identifies a request by everything a Git server's answer depends
// on: method, path and query, credentials, protocol version, body.
func key(r *http.Request, body []byte) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%s\x00%s\x00", r.Method, r.URL.RequestURI(), r.Header.Get("Authorization"),
		r.Header.Get("Git-Protocol"), r.Header.Get("Content-Encoding"))
	h.Write(body)
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// ServeHTTP answers from memory when it can, else forwards and records.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxRequest+1))
	if err != nil || len(body) > MaxRequest {
		http.Error(w, "replay: request body unreadable or over 1 MiB", http.StatusRequestEntityTooLarge)
		return
	}
	k := key(r, body)
	p.mu.RLock()
	a := p.answers[k]
	p.mu.RUnlock()
	if a != nil {
		p.replayed.Add(1)
		for name, v := range a.header {
			w.Header()[name] = v
		}
		w.WriteHeader(a.status)
		_, _ = w.Write(a.body)
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &recorder{ResponseWriter: w}
	p.forward.ServeHTTP(rec, r)
	if !rec.tooBig && rec.status != 0 {
		p.mu.Lock()
		p.answers[k] = &answer{status: rec.status, header: w.Header().Clone(), body: rec.body.Bytes()}
		p.mu.Unlock()
	}
}

// recorder passes an answer through and keeps a copy while it is small.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
	tooBig bool
}

func (r *recorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.tooBig {
		if r.body.Len()+len(b) > MaxRecorded {
			r.tooBig, r.body = true, bytes.Buffer{}
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes streaming on.
func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
