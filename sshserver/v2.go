package sshserver

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"

	"github.com/gliderlabs/ssh"

	"github.com/gitgate/gitgate/gitop"
	"github.com/gitgate/gitgate/gitproc"
	"github.com/gitgate/gitgate/refsnap"
)

// maxLsRefsRequest bounds an ls-refs request answered from the snapshot;
// a longer one goes to git.
const maxLsRefsRequest = 64 << 10

// serveV2 speaks protocol v2 of upload-pack itself, as `git upload-pack`
// does over SSH: the capability advertisement (what git said for the
// repository before), then one request after another until the client
// sends a flush or hangs up. An ls-refs request is answered from the
// repository's ref snapshot; every other request (fetch) runs `git
// upload-pack --stateless-rpc` with that request as its input, as the
// HTTP door does. An ls-remote or a fetch with nothing to fetch thus
// starts no git at all (docs/ssh.md#protocol-v2).
//
// in and out are the client's streams as serveGit counts and watches
// them (idle timeout, upload-pack input limit); ctx ends when either cuts.
func (s *Server) serveV2(ctx context.Context, sess ssh.Session, op *gitop.Op, run gitproc.Command, stdin io.Reader, out io.Writer, log *slog.Logger) (gitop.Result, int) {
	git, refs := s.deps.Git, s.deps.Git.Refs
	run.Stderr = sess.Stderr()

	caps, ok := refs.V2Capabilities(op.Dir, run.Protocol, run.Config)
	if !ok {
		var b bytes.Buffer
		adv := run
		adv.StatelessRPC, adv.AdvertiseRefs, adv.Stdout = true, true, &b
		if err := git.Run(ctx, op, adv); err != nil {
			return s.gitEnded(ctx, sess, op, err, log)
		}
		caps = b.Bytes()
		refs.LearnV2Capabilities(op.Dir, run.Protocol, run.Config, caps)
	}
	if _, err := out.Write(caps); err != nil {
		return gitop.ClientGone, 255
	}

	in := bufio.NewReader(stdin)
	for {
		first, err := readRawPkt(in)
		switch {
		case errors.Is(err, io.EOF):
			return gitop.OK, 0
		case err != nil:
			if ctx.Err() != nil {
				return gitop.ClientGone, 255
			}
			log.Info("ssh git: bad protocol v2 request", "path", op.Path, "err", err)
			return gitop.Error, s.refuse(sess, "protocol error: "+err.Error())
		case string(first) == "0000":
			// The client is done.
			return gitop.OK, 0
		}
		var stdin io.Reader
		if isLsRefs(first) {
			req, complete, err := readRequest(in, first, maxLsRefsRequest)
			if err != nil {
				if ctx.Err() != nil {
					return gitop.ClientGone, 255
				}
				log.Info("ssh git: bad protocol v2 request", "path", op.Path, "err", err)
				return gitop.Error, s.refuse(sess, "protocol error: "+err.Error())
			}
			if complete {
				resp, ok, err := refs.LsRefs(ctx, op.Dir, run.Protocol, run.Config, req)
				if err != nil {
					log.Warn("ref snapshot", "path", op.Path, "err", err)
				}
				if ok {
					refs.Served(refsnap.SourceSnapshot)
					if _, err := out.Write(resp); err != nil {
						return gitop.ClientGone, 255
					}
					continue
				}
			}
			refs.Served(refsnap.SourceGit)
			stdin = bytes.NewReader(req)
			if !complete {
				stdin = io.MultiReader(stdin, &requestReader{r: in})
			}
		} else {
			stdin = io.MultiReader(bytes.NewReader(first), &requestReader{r: in})
		}
		o, err := startOutput(out)
		if err != nil {
			log.Error("ssh git: stdout pipe", "err", err)
			return gitop.Error, s.refuse(sess, msgInternal)
		}
		cmd := run
		cmd.StatelessRPC, cmd.Stdin, cmd.Stdout = true, stdin, o.File
		if result, exit := s.outputEnded(ctx, sess, op, git.Run(ctx, op, cmd), o, log); result != gitop.OK {
			return result, exit
		}
	}
}

// outputEnded waits until git's output (o) has reached the client, then
// turns the end of the run into the session's result and exit status. A
// copy fails only when the channel does: the client is gone, or has closed
// its side before the end of git's output.
func (s *Server) outputEnded(ctx context.Context, sess ssh.Session, op *gitop.Op, err error, o *output, log *slog.Logger) (gitop.Result, int) {
	if copyErr := o.finish(); copyErr != nil && err == nil {
		return gitop.ClientGone, 255
	}
	return s.gitEnded(ctx, sess, op, err, log)
}

// gitEnded turns the end of a git run into the session's result and
// exit status.
func (s *Server) gitEnded(ctx context.Context, sess ssh.Session, op *gitop.Op, err error, log *slog.Logger) (gitop.Result, int) {
	var ee *gitproc.ExitError
	switch {
	case err == nil:
		return gitop.OK, 0
	case ctx.Err() != nil:
		return gitop.ClientGone, 255
	case errors.As(err, &ee):
		// git has told the client why on stderr already.
		return gitop.Error, ee.Code
	}
	log.Error("ssh git: run", "service", string(op.Service), "path", op.Path, "err", err)
	return gitop.Error, s.refuse(sess, msgInternal)
}

func isLsRefs(pkt []byte) bool {
	return len(pkt) > 4 && bytes.Equal(bytes.TrimSuffix(pkt[4:], []byte("\n")), []byte("command=ls-refs"))
}

// readRawPkt reads one pkt-line and returns it whole, length included
// ("0000" for a flush, "0001" for a delimiter). io.EOF: the stream ended
// cleanly before it.
func readRawPkt(r *bufio.Reader) ([]byte, error) {
	head, err := r.Peek(4)
	if err != nil {
		if len(head) == 0 && errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read pkt-line length: %w", io.ErrUnexpectedEOF)
	}
	n, err := strconv.ParseUint(string(head), 16, 16)
	if err != nil {
		return nil, fmt.Errorf("bad pkt-line length %q", head)
	}
	if n < 4 {
		n = 4
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read pkt-line: %w", io.ErrUnexpectedEOF)
	}
	return buf, nil
}

// readRequest reads the rest of a request that began with first, up to
// and including its flush; complete is false when it outgrew max (the
// rest is still to be read).
func readRequest(r *bufio.Reader, first []byte, max int) (req []byte, complete bool, err error) {
	req = append([]byte(nil), first...)
	for len(req) <= max {
		p, err := readRawPkt(r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = fmt.Errorf("request ended without a flush: %w", io.ErrUnexpectedEOF)
			}
			return nil, false, err
		}
		req = append(req, p...)
		if string(p) == "0000" {
			return req, true, nil
		}
	}
	return req, false, nil
}

// requestReader passes on the pkt-lines of one request up to and
// including its flush, then reports the end: git then sees exactly one
// request, and nothing of the next is read.
type requestReader struct {
	r    *bufio.Reader
	pend []byte
	done bool
}

func (q *requestReader) Read(p []byte) (int, error) {
	if len(q.pend) == 0 {
		if q.done {
			return 0, io.EOF
		}
		pkt, err := readRawPkt(q.r)
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		q.pend, q.done = pkt, string(pkt) == "0000"
	}
	n := copy(p, q.pend)
	q.pend = q.pend[n:]
	return n, nil
}
