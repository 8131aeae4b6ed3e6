package gitproc

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// MaxPktPayload is the largest payload one pkt-line may carry (65520
// bytes in total, minus the four-byte length header).
const MaxPktPayload = 65516

// ErrFlush is returned by ReadPkt for a flush-pkt ("0000").
var ErrFlush = errors.New("flush-pkt")

// WritePkt writes one pkt-line holding payload.
func WritePkt(w io.Writer, payload string) error {
	if len(payload) > MaxPktPayload {
		return fmt.Errorf("pkt-line payload of %d bytes is too long", len(payload))
	}
	if _, err := fmt.Fprintf(w, "%04x%s", len(payload)+4, payload); err != nil {
		return fmt.Errorf("write pkt-line: %w", err)
	}
	return nil
}

// WriteFlush writes a flush-pkt.
func WriteFlush(w io.Writer) error {
	if _, err := io.WriteString(w, "0000"); err != nil {
		return fmt.Errorf("write flush-pkt: %w", err)
	}
	return nil
}

// ReadPkt reads one pkt-line and returns its payload, or ErrFlush for a
// flush-pkt. Delimiter and response-end packets (0001, 0002) are returned
// as errors too: the places gitgate reads pkt-lines never expect them.
func ReadPkt(r io.Reader) ([]byte, error) {
	var head [4]byte
	if _, err := io.ReadFull(r, head[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("read pkt-line length: %w", err)
		}
		return nil, err
	}
	n, err := strconv.ParseUint(string(head[:]), 16, 16)
	if err != nil {
		return nil, fmt.Errorf("bad pkt-line length %q", head[:])
	}
	switch {
	case n == 0:
		return nil, ErrFlush
	case n < 4:
		return nil, fmt.Errorf("unexpected special pkt-line %04x", n)
	case n-4 > MaxPktPayload:
		return nil, fmt.Errorf("pkt-line of %d bytes is too long", n)
	}
	buf := make([]byte, n-4)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, fmt.Errorf("read pkt-line payload: %w", err)
	}
	return buf, nil
}
