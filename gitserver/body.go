package gitserver

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// Defaults of the request-body and response limits (Handler.BodyIdleTimeout,
// Handler.UploadPackMaxBody and Handler.ResponseIdleTimeout).
const (
	// DefaultBodyIdleTimeout is nginx's client_body_timeout: how long a
	// single read of a Git request body may wait for data.
	DefaultBodyIdleTimeout = 60 * time.Second
	// DefaultUploadPackMaxBody bounds an upload-pack request after gzip
	// decoding: a want or have line is 50 bytes, so 10 MiB is some
	// 200,000 of them, far more than git's negotiation sends.
	DefaultUploadPackMaxBody = 10 << 20
	// DefaultResponseIdleTimeout is nginx's send_timeout: how long a
	// single write of a Git response may wait for the client to read.
	DefaultResponseIdleTimeout = 60 * time.Second
)

// errBodyIdle and errBodyTooLarge end a run whose request body stalled or
// grew past the limit; rpc tells them apart from a client hanging up.
var (
	errBodyIdle     = errors.New("request body idle timeout")
	errBodyTooLarge = errors.New("request body too large")
	errResponseIdle = errors.New("response idle timeout: the client stopped reading")
)

// idleBody is the request body as git's stdin, with a read deadline
// renewed before every read: a body that makes progress at all is never
// cut, however long it takes in total (a big push on a slow line), while
// one that sends nothing for the idle time (a stalled or malicious
// client) fails. Any read error other than the end of the body ends the
// run through fail, which kills git at once rather than leaving it
// waiting for input that will not come.
type idleBody struct {
	r    io.Reader
	rc   *http.ResponseController
	idle time.Duration // <= 0: no deadline
	fail func(error)
	done bool
}

func (b *idleBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.idle > 0 {
		_ = b.rc.SetReadDeadline(time.Now().Add(b.idle))
	}
	n, err := b.r.Read(p)
	switch {
	case err == io.EOF:
		b.done = true
		if b.idle > 0 {
			// Once the body is read, net/http watches the connection for
			// the client going away; a deadline left behind would look
			// like that and cancel the rest of a long clone.
			_ = b.rc.SetReadDeadline(time.Time{})
		}
	case err != nil:
		var ne net.Error
		if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
			err = errBodyIdle
		}
		b.fail(err)
	}
	return n, err
}

// limitedBody fails a body (after gzip decoding) longer than max bytes.
type limitedBody struct {
	r    io.Reader
	max  int64
	left int64
	fail func(error)
}

func newLimitedBody(r io.Reader, max int64, fail func(error)) *limitedBody {
	return &limitedBody{r: r, max: max, left: max, fail: fail}
}

func (l *limitedBody) Read(p []byte) (int, error) {
	// One byte beyond the limit tells "exactly max" from "more".
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		err := fmt.Errorf("%w: more than %d bytes", errBodyTooLarge, l.max)
		l.fail(err)
		return 0, err
	}
	return n, err
}
