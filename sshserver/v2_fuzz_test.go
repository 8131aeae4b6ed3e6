package sshserver

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/refsnap"
)

// refPackets splits a stream into pkt-lines as git reads their lengths,
// apart from the code under test: four hex digits; 0000-0003 are the
// four-byte special packets, anything else the whole packet. ok is false
// when the stream breaks off or a length is not four hex digits (the
// packets before that point are returned).
func refPackets(data []byte) (pkts [][]byte, ok bool) {
	for p := 0; p < len(data); {
		if len(data)-p < 4 {
			return pkts, false
		}
		n := 0
		for _, c := range data[p : p+4] {
			switch {
			case c >= '0' && c <= '9':
				n = n<<4 | int(c-'0')
			case c >= 'a' && c <= 'f':
				n = n<<4 | int(c-'a'+10)
			case c >= 'A' && c <= 'F':
				n = n<<4 | int(c-'A'+10)
			default:
				return pkts, false
			}
		}
		n = max(n, 4)
		if len(data)-p < n {
			return pkts, false
		}
		pkts = append(pkts, data[p:p+n])
		p += n
	}
	return pkts, true
}

// FuzzV2Requests reads any SSH input stream as the protocol v2 door does
// (serveV2): packet by packet, each request up to its flush, ls-refs
// requests through readRequest with a size limit and the rest through
// requestReader. Every packet is exactly the bytes its length announces;
// a length that is not four hex digits, or a stream that breaks off, is an
// error, never a short packet; requestReader passes exactly the packets
// up to and including the first flush and reads nothing beyond it;
// readRequest reports a complete request only when its flush came within
// the limit, and otherwise leaves the rest, unread, to requestReader; an
// ls-refs request the snapshot would answer is one the door routes to it.
func FuzzV2Requests(f *testing.F) {
	for _, s := range []string{
		"", "0000", "0014command=ls-refs\n0000", "0014command=ls-refs\n0001000apeel\n00000000",
		"0012command=fetch\n00010009done\n00000000", "0014command=ls-refs\n000X", "0014command=ls-refs\n0001ffff",
		"0014command=ls-refs\n0002000300040000", "0014command=ls-refs", "0014command=ls-refs\n00", "+014command=ls-refs\n0000",
	} {
		f.Add([]byte(s), uint16(64))
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxReq := int(limit)
		want, wellFormed := refPackets(data)

		// Packet by packet.
		br := bufio.NewReader(bytes.NewReader(data))
		for i := 0; ; i++ {
			p, err := readRawPkt(br)
			if err != nil {
				if errors.Is(err, io.EOF) != (i == len(want) && wellFormed) {
					t.Fatalf("packet %d of %q: %v; the stream has %d packets, well formed: %v", i, data, err, len(want), wellFormed)
				}
				if strings.ContainsAny(err.Error(), "\r\n") {
					t.Fatalf("error %q is not one line", err)
				}
				break
			}
			if i >= len(want) || !bytes.Equal(p, want[i]) {
				t.Fatalf("packet %d of %q read as %q", i, data, p)
			}
			if payload := string(p[4:]); isLsRefs(p) != (payload == "command=ls-refs" || payload == "command=ls-refs\n") {
				t.Fatalf("isLsRefs(%q) = %v", p, isLsRefs(p))
			}
		}

		// Request by request, as serveV2 reads them.
		src := bytes.NewReader(data)
		in := bufio.NewReader(src)
		consumed := func() int { return len(data) - src.Len() - in.Buffered() }
		next := 0 // index in want of the next packet
		for {
			first, err := readRawPkt(in)
			if err != nil || string(first) == "0000" {
				return
			}
			start := consumed() - len(first)
			next++
			// The packets of this request: up to the first flush.
			end := next
			for end < len(want) && string(want[end]) != "0000" {
				end++
			}
			complete := end < len(want) // a flush ends it
			wantReq := data[start:start]
			if complete {
				wantReq = data[start : start+len(bytes.Join(want[next-1:end+1], nil))]
			}

			var stdin io.Reader = io.MultiReader(bytes.NewReader(first), &requestReader{r: in})
			if isLsRefs(first) {
				req, done, err := readRequest(in, first, maxReq)
				switch {
				case err != nil:
					if complete {
						t.Fatalf("readRequest of %q: %v, but it ends with a flush", data[start:], err)
					}
					return
				case done:
					if !complete || !bytes.Equal(req, wantReq) || len(req)-4 > maxReq {
						t.Fatalf("readRequest of %q (max %d) gave the complete request %q", data[start:], maxReq, req)
					}
					if consumed() != start+len(req) {
						t.Fatalf("readRequest consumed %d bytes for a request of %d", consumed()-start, len(req))
					}
					if _, ok := refsnap.ParseLsRefs(req); ok && !isLsRefs(first) {
						t.Fatalf("ls-refs request %q not routed to the snapshot", req)
					}
				default:
					pkts, ok := refPackets(req)
					if !ok || len(req) <= maxReq || len(req)-len(pkts[len(pkts)-1]) > maxReq ||
						!bytes.HasPrefix(data[start:], req) || pktsContainFlush(pkts) {
						t.Fatalf("readRequest of %q (max %d) stopped at %q", data[start:], maxReq, req)
					}
					if consumed() != start+len(req) {
						t.Fatalf("readRequest consumed %d bytes for %d", consumed()-start, len(req))
					}
				}
				if done {
					next = end + 1
					continue
				}
				stdin = io.MultiReader(bytes.NewReader(req), &requestReader{r: in})
			}
			// Read in small pieces, as a pipe to git would.
			buf := make([]byte, 1+maxReq%7)
			var got []byte
			for {
				n, err := stdin.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					if complete {
						t.Fatalf("request %q read with error %v", wantReq, err)
					}
					if !bytes.HasPrefix(data[start:], got) {
						t.Fatalf("request read as %q, not the stream's bytes", got)
					}
					return
				}
			}
			if !complete || !bytes.Equal(got, wantReq) {
				t.Fatalf("request of %q read as %q, want %q", data[start:], got, wantReq)
			}
			if consumed() != start+len(wantReq) {
				t.Fatalf("request of %d bytes consumed %d of the stream", len(wantReq), consumed()-start)
			}
			next = end + 1
		}
	})
}

func pktsContainFlush(pkts [][]byte) bool {
	for _, p := range pkts {
		if string(p) == "0000" {
			return true
		}
	}
	return false
}

// TestIsLsRefs: only the command=ls-refs packet, with or without its
// newline, starts an ls-refs request.
func TestIsLsRefs(t *testing.T) {
	for pkt, want := range map[string]bool{
		"0014command=ls-refs\n": true, "0013command=ls-refs": true, "0015command=ls-refs\n\n": false,
		"0012command=fetch\n": false, "0000": false, "0004": false, "0014command=ls-refs ": false,
	} {
		if got := isLsRefs([]byte(pkt)); got != want {
			t.Errorf("isLsRefs(%q) = %v", pkt, got)
		}
	}
}
