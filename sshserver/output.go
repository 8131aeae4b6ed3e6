package sshserver

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// outputChunk is how much of git's output the door reads at once, and
// the size it asks for git's stdout pipe (docs/benchmarks.md#ssh-data-path).
// os/exec would copy through a pipe of 64 KiB in reads of 32 KiB, one
// channel write each; a 256 KiB pipe read 256 KiB at a time lets git run
// ahead while the door encrypts, with fewer wake-ups of either.
const outputChunk = 256 << 10

var outputBufs = sync.Pool{New: func() any { b := make([]byte, outputChunk); return &b }}

// output carries git's standard output to the channel through a pipe of
// the door's own, rather than os/exec's copier. Besides the buffer sizes,
// that takes the copy out of exec's WaitDelay, which cuts a copy still
// running 5 s after git exited: a slow client still receiving the end of
// its pack would lose it.
type output struct {
	// File is git's end of the pipe (its stdout).
	File *os.File
	done chan error
}

// startOutput starts copying what git writes to File into dst.
func startOutput(dst io.Writer) (*output, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("stdout pipe: %w", err)
	}
	growPipe(w, outputChunk)
	o := &output{File: w, done: make(chan error, 1)}
	go func() {
		err := copyOutput(dst, r)
		// On a failed write git must not block on a full pipe: closing
		// the reading end gets it EPIPE, as os/exec's copier would.
		r.Close()
		o.done <- err
	}()
	return o, nil
}

func copyOutput(dst io.Writer, src *os.File) error {
	bufp := outputBufs.Get().(*[]byte)
	defer outputBufs.Put(bufp)
	buf := *bufp
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// finish closes the door's copy of git's end, once git has exited, and
// waits until everything git wrote has been written to the channel (or
// the channel failed).
func (o *output) finish() error {
	o.File.Close()
	return <-o.done
}
