package sshserver

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// progress watches the data of one running Git command for a stalled
// client (docs/ssh.md#limits): no data has moved either way for idle, or
// one write to the client has been blocked for idle — the client no
// longer takes data, so the channel's window stays shut. Progress in
// either direction is enough: a client thinking (computing its pack) or
// git thinking (counting objects) is not stalled for as long as git's own
// keepalives, or the other side, keep data moving.
type progress struct {
	idle time.Duration
	// last is when data last moved, writing when the write to the client
	// now blocked began (0: none); both in Unix nanoseconds.
	last    atomic.Int64
	writing atomic.Int64
}

func newProgress(idle time.Duration) *progress {
	p := &progress{idle: idle}
	p.moved()
	return p
}

func (p *progress) moved() { p.last.Store(time.Now().UnixNano()) }

// watch calls stalled once the client stalls, unless ctx ends first.
func (p *progress) watch(ctx context.Context, stalled func()) {
	t := time.NewTimer(p.idle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		deadline := p.last.Load() + int64(p.idle)
		if w := p.writing.Load(); w != 0 {
			deadline = min(deadline, w+int64(p.idle))
		}
		left := time.Duration(deadline - time.Now().UnixNano())
		if left <= 0 {
			stalled()
			return
		}
		t.Reset(left)
	}
}

// progressReader notes data read from the client.
type progressReader struct {
	r io.Reader
	p *progress
}

func (r progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.p.moved()
	}
	return n, err
}

// progressWriter notes data written to the client, and how long a write
// has been blocked. git's standard output is written by one goroutine.
type progressWriter struct {
	w io.Writer
	p *progress
}

func (w progressWriter) Write(b []byte) (int, error) {
	w.p.writing.Store(time.Now().UnixNano())
	n, err := w.w.Write(b)
	w.p.writing.Store(0)
	if n > 0 {
		w.p.moved()
	}
	return n, err
}

// errInputTooLarge ends the input of an upload-pack whose client sent
// more than the limit.
var errInputTooLarge = errors.New("upload-pack input over the limit")

// cappedReader fails once more than left bytes have been read, calling
// over first (which kills git).
type cappedReader struct {
	r    io.Reader
	left int64
	over func()
}

func (c *cappedReader) Read(b []byte) (int, error) {
	// One byte beyond the limit tells "exactly the limit" from "more".
	if int64(len(b)) > c.left+1 {
		b = b[:c.left+1]
	}
	n, err := c.r.Read(b)
	if c.left -= int64(n); c.left < 0 {
		c.over()
		return 0, errInputTooLarge
	}
	return n, err
}
