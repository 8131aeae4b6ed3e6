package gitproc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
)

// FuzzReadPkt reads a stream of pkt-lines as gitgate's readers do: every
// packet consumes exactly its length header's bytes, re-encodes to the
// bytes it was read from, carries at most MaxPktPayload, and a stream
// that breaks off ends in an error, not a short packet. The same bytes as
// a payload survive WritePkt and ReadPkt unchanged.
func FuzzReadPkt(f *testing.F) {
	for _, s := range []string{
		"0000", "0001", "0002", "0004", "000ahello\n", "0009done\n0000", "ffff", "fff0", "fff1", "FFFF",
		"00zz", "+00a", "0x0a", "00", "0006a", "0000000e", "0032have " + strings.Repeat("0", 40) + "\n",
		fmt.Sprintf("%04x", MaxPktPayload+4) + strings.Repeat("x", 10),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := bytes.NewReader(data)
		consumed := 0
		for i := 0; ; i++ {
			if i > len(data) {
				t.Fatalf("more packets than bytes in %q", data)
			}
			payload, err := ReadPkt(r)
			now := len(data) - r.Len()
			head := data[consumed:min(consumed+4, len(data))]
			switch {
			case errors.Is(err, ErrFlush):
				if now-consumed != 4 || string(head) != "0000" {
					t.Fatalf("flush-pkt from %q consumed %d bytes", head, now-consumed)
				}
			case err == io.EOF:
				if consumed != len(data) || now != len(data) {
					t.Fatalf("io.EOF with %d of %d bytes read", consumed, len(data))
				}
				checkRoundTrip(t, data)
				return
			case err != nil:
				if payload != nil {
					t.Fatalf("error %v with payload %q", err, payload)
				}
				if msg := err.Error(); strings.ContainsAny(msg, "\r\n") {
					t.Fatalf("error %q is not one line", msg)
				}
				if now > len(data) || now-consumed > 4+MaxPktPayload {
					t.Fatalf("failed read consumed %d bytes", now-consumed)
				}
				checkRoundTrip(t, data)
				return
			default:
				if len(payload) > MaxPktPayload {
					t.Fatalf("payload of %d bytes", len(payload))
				}
				if now-consumed != len(payload)+4 {
					t.Fatalf("packet %q with %d payload bytes consumed %d bytes", head, len(payload), now-consumed)
				}
				var again bytes.Buffer
				if err := WritePkt(&again, string(payload)); err != nil {
					t.Fatalf("WritePkt of a read payload: %v", err)
				}
				if !bytes.EqualFold(again.Bytes(), data[consumed:now]) {
					t.Fatalf("packet %q re-encodes as %q", data[consumed:now], again.Bytes())
				}
			}
			consumed = now
		}
	})
}

// checkRoundTrip writes data as one payload (when it fits) and reads it
// back.
func checkRoundTrip(t *testing.T, data []byte) {
	t.Helper()
	var buf bytes.Buffer
	err := WritePkt(&buf, string(data))
	if len(data) > MaxPktPayload {
		if err == nil {
			t.Fatalf("WritePkt accepted %d bytes", len(data))
		}
		return
	}
	if err != nil {
		t.Fatalf("WritePkt: %v", err)
	}
	if buf.Len() != len(data)+4 {
		t.Fatalf("WritePkt wrote %d bytes for %d", buf.Len(), len(data))
	}
	got, err := ReadPkt(&buf)
	if err != nil || !bytes.Equal(got, data) || buf.Len() != 0 {
		t.Fatalf("round trip of %q gave %q, %v, %d bytes left", data, got, err, buf.Len())
	}
}
