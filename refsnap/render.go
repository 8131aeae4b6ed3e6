package refsnap

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// errTooLong: a line that does not fit a pkt-line; git would die, so git
// answers.
var errTooLong = errors.New("pkt-line too long")

const maxPktPayload = 65516

func writePkt(b *bytes.Buffer, parts ...string) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	if n > maxPktPayload {
		return errTooLong
	}
	n += 4
	const hexDigits = "0123456789abcdef"
	b.Write([]byte{hexDigits[n>>12&0xf], hexDigits[n>>8&0xf], hexDigits[n>>4&0xf], hexDigits[n&0xf]})
	for _, p := range parts {
		b.WriteString(p)
	}
	return nil
}

// pktLen reads the length of the pkt-line b starts with as git does:
// exactly four hex digits. (fmt's %04x would also take a sign, spaces, or
// stop at the first non-digit, reading "000X" as a flush that git refuses.)
func pktLen(b []byte) (int, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 16)
	return int(n), err == nil
}

// Capabilities are the capabilities `git upload-pack` puts on the first
// line of a v0/v1 advertisement, learnt from one real advertisement, with
// the symref capability taken out (it depends on HEAD, which the snapshot
// knows).
type Capabilities struct {
	// before and after the place of the symref capability.
	before, after []string
}

// parseCapabilities learns the capabilities from git's v0/v1
// advertisement; ok is false when it has none (an empty repository) or
// they cannot be reproduced (a per-process session id).
func parseCapabilities(adv []byte) (caps Capabilities, ok bool) {
	b := adv
	if bytes.HasPrefix(b, []byte("000eversion 1\n")) {
		b = b[14:]
	}
	if len(b) < 4 {
		return caps, false
	}
	n, ok := pktLen(b)
	if !ok || n < 4 || n > len(b) {
		return caps, false
	}
	_, list, found := strings.Cut(string(b[4:n]), "\x00")
	if !found {
		return caps, false
	}
	list = strings.TrimSuffix(list, "\n")
	inserted := false
	for _, c := range strings.Split(list, " ") {
		switch {
		case strings.HasPrefix(c, "session-id="):
			return caps, false
		case strings.HasPrefix(c, "symref="):
			continue
		case !inserted && (c == "filter" || strings.HasPrefix(c, "object-format=")):
			// git writes symref=… right before these (upload-pack.c,
			// send_ref).
			inserted = true
		}
		if inserted {
			caps.after = append(caps.after, c)
		} else {
			caps.before = append(caps.before, c)
		}
	}
	return caps, inserted
}

func (c Capabilities) line(symref string) string {
	all := make([]string, 0, len(c.before)+len(c.after)+1)
	all = append(all, c.before...)
	if symref != "" {
		all = append(all, "symref=HEAD:"+symref)
	}
	all = append(all, c.after...)
	return strings.Join(all, " ")
}

// Empty reports whether git advertises no ref at all for the snapshot (an
// empty repository): such an advertisement carries no capabilities.
func (s *Snapshot) Empty() bool { return s.HeadOID == "" && len(s.Refs) == 0 }

// Advertisement renders what `git upload-pack --advertise-refs` writes
// for protocol v0 (version 0) or v1 (version 1), given the capabilities
// git advertises for the repository.
func (s *Snapshot) Advertisement(version int, caps Capabilities) ([]byte, error) {
	if s.Unusual != "" {
		return nil, fmt.Errorf("snapshot not usable: %s", s.Unusual)
	}
	var b bytes.Buffer
	b.Grow(64 + len(s.Refs)*64)
	if version == 1 {
		_ = writePkt(&b, "version 1\n")
	}
	first := true
	send := func(name, oid, peeled string) error {
		var err error
		if first {
			symref := ""
			if s.HeadTarget != "" && s.HeadOID != "" {
				symref = s.HeadTarget
			}
			err = writePkt(&b, oid, " ", name, "\x00", caps.line(symref), "\n")
			first = false
		} else {
			err = writePkt(&b, oid, " ", name, "\n")
		}
		if err == nil && peeled != "" {
			err = writePkt(&b, peeled, " ", name, "^{}\n")
		}
		return err
	}
	if s.HeadOID != "" {
		if err := send("HEAD", s.HeadOID, s.HeadPeeled); err != nil {
			return nil, err
		}
	}
	for _, r := range s.Refs {
		if err := send(r.Name, r.OID, r.Peeled); err != nil {
			return nil, err
		}
	}
	b.WriteString("0000")
	return b.Bytes(), nil
}

// LsRefs is a protocol v2 ls-refs request.
type LsRefs struct {
	Symrefs, Peel, Unborn bool
	// Prefixes are the ref-prefix arguments; none means every ref.
	Prefixes []string
}

// maxPrefixes: git ignores the prefixes altogether from 65536 on; far
// fewer are left to git rather than reproduced.
const maxPrefixes = 1024

// ParseLsRefs reads a whole protocol v2 request (as a stateless client
// sends it: command, capabilities, delimiter, arguments, flush, nothing
// after) and reports whether it is an ls-refs request the snapshot can
// answer. Anything else — another command, an argument or capability
// this does not know, a malformed packet — is not, and goes to git, which
// answers or refuses it itself.
func ParseLsRefs(req []byte) (LsRefs, bool) {
	var q LsRefs
	p := req
	next := func() (line string, special int, ok bool) {
		if len(p) < 4 {
			return "", 0, false
		}
		n, ok := pktLen(p)
		if !ok {
			return "", 0, false
		}
		if n < 4 {
			p = p[4:]
			return "", n, true
		}
		if n == 4 || n > len(p) || n-4 > maxPktPayload {
			return "", 0, false
		}
		line = strings.TrimSuffix(string(p[4:n]), "\n")
		p = p[n:]
		return line, -1, !strings.ContainsAny(line, "\x00\n")
	}
	line, special, ok := next()
	if !ok || special != -1 || line != "command=ls-refs" {
		return q, false
	}
	// Capabilities until the delimiter (or a flush: no arguments).
	args := false
	for !args {
		line, special, ok = next()
		switch {
		case !ok:
			return q, false
		case special == 1:
			args = true
		case special == 0:
			return q, len(p) == 0
		case special != -1:
			return q, false
		case strings.HasPrefix(line, "agent="), line == "object-format=sha1":
		default:
			return q, false
		}
	}
	for {
		line, special, ok = next()
		switch {
		case !ok:
			return q, false
		case special == 0:
			return q, len(p) == 0
		case special != -1:
			return q, false
		case line == "peel":
			q.Peel = true
		case line == "symrefs":
			q.Symrefs = true
		case line == "unborn":
			q.Unborn = true
		case strings.HasPrefix(line, "ref-prefix "):
			if len(q.Prefixes) >= maxPrefixes {
				return q, false
			}
			q.Prefixes = append(q.Prefixes, strings.TrimPrefix(line, "ref-prefix "))
		default:
			return q, false
		}
	}
}

func (q LsRefs) match(name string) bool {
	if len(q.Prefixes) == 0 {
		return true
	}
	for _, p := range q.Prefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// LsRefs renders git's answer to an ls-refs request (ls-refs.c): HEAD
// first (unborn only when asked with symrefs and unborn is allowed),
// then every matching ref in name order, then a flush.
func (s *Snapshot) LsRefs(q LsRefs, unbornAllowed bool) ([]byte, error) {
	if s.Unusual != "" {
		return nil, fmt.Errorf("snapshot not usable: %s", s.Unusual)
	}
	var b bytes.Buffer
	b.Grow(64 + len(s.Refs)*64)
	line := make([]string, 0, 8)
	send := func(name, oid, target, peeled string) error {
		if !q.match(name) {
			return nil
		}
		line = line[:0]
		if oid != "" {
			line = append(line, oid, " ", name)
		} else {
			line = append(line, "unborn ", name)
		}
		if q.Symrefs && target != "" {
			line = append(line, " symref-target:", target)
		}
		if q.Peel && oid != "" && peeled != "" {
			line = append(line, " peeled:", peeled)
		}
		line = append(line, "\n")
		return writePkt(&b, line...)
	}
	if s.HeadOID != "" || (q.Unborn && unbornAllowed && q.Symrefs && s.HeadTarget != "") {
		if err := send("HEAD", s.HeadOID, s.HeadTarget, s.HeadPeeled); err != nil {
			return nil, err
		}
	}
	for _, r := range s.Refs {
		if err := send(r.Name, r.OID, r.Target, r.Peeled); err != nil {
			return nil, err
		}
	}
	b.WriteString("0000")
	return b.Bytes(), nil
}
