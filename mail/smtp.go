// Package mail delivers gitgate's mail: messages are queued in the
// database's outbox table, in the transaction that decides to send them,
// and a Sender delivers them over SMTP with wneessen/go-mail, retrying
// with backoff (docs/mail.md). Any number of processes may run a Sender
// on one database: each message is claimed by one of them at a time.
package mail

import (
	"errors"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
)

// TLS policies of an smtp:// URL (?tls=…).
const (
	// TLSRequire insists on STARTTLS and fails without it.
	TLSRequire = "require"
	// TLSOpportunistic uses STARTTLS when the server offers it (the
	// default for smtp://).
	TLSOpportunistic = "opportunistic"
	// TLSNone never encrypts.
	TLSNone = "none"
)

// Endpoint is a parsed GITGATE_SMTP_URL: smtp://[user[:pass]@]host[:port]
// (STARTTLS when offered, port 25 by default) or smtps://… (TLS from the
// first byte, port 465), with an optional ?tls=require|opportunistic|none.
type Endpoint struct {
	Host     string
	Port     int
	Username string
	Password string
	// ImplicitTLS is smtps://.
	ImplicitTLS bool
	// TLS is the STARTTLS policy of smtp:// (TLSRequire for smtps://).
	TLS string
	raw *url.URL
}

// ParseURL reads a GITGATE_SMTP_URL. Its errors repeat no part of the
// URL but its scheme: when a password is not percent-encoded, any other
// part may hold a piece of it.
func ParseURL(raw string) (*Endpoint, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's own error quotes the input, password and all.
		return nil, errors.New("not a URL (want smtp://user:pass@host:port or smtps://…)")
	}
	e := &Endpoint{raw: u, Host: u.Hostname()}
	switch u.Scheme {
	case "smtp":
		e.Port, e.TLS = 25, TLSOpportunistic
	case "smtps":
		e.Port, e.TLS, e.ImplicitTLS = 465, TLSRequire, true
	default:
		return nil, fmt.Errorf("unsupported scheme %q (want smtp:// or smtps://)", safeScheme(u.Scheme))
	}
	// A password holding an unencoded /, ? or # ends the URL's authority
	// early: the rest of it, password included, would be read as a path,
	// a query or a fragment, and shown back in errors and logs. Such a
	// URL is refused without repeating any of it.
	if u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, errors.New(unencodedHint)
	}
	if e.Host == "" {
		return nil, fmt.Errorf("no host (want %s://host:port)", u.Scheme)
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return nil, errors.New("invalid port (want 1 to 65535)")
		}
		e.Port = n
	}
	if u.User != nil {
		e.Username = u.User.Username()
		e.Password, _ = u.User.Password()
	}
	// The "parameter" may be the end of a password with a "?".
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || len(q["tls"]) > 1 {
		return nil, errors.New("unknown parameter (only tls=require|opportunistic|none); " + unencodedHint)
	}
	for k := range q {
		if k != "tls" {
			return nil, errors.New("unknown parameter (only tls=require|opportunistic|none); " + unencodedHint)
		}
	}
	if v := q.Get("tls"); v != "" {
		switch v {
		case TLSRequire, TLSOpportunistic, TLSNone:
		default:
			return nil, errors.New("invalid tls value (want require, opportunistic or none)")
		}
		if e.ImplicitTLS && v != TLSRequire {
			return nil, errors.New("smtps:// is always encrypted; only tls=require goes with it")
		}
		e.TLS = v
	}
	return e, nil
}

// unencodedHint explains the usual cause of a URL with a path, a fragment
// or an unknown parameter.
const unencodedHint = "a password holding /, ? or # must be percent-encoded (%2F, %3F, %23)"

func safeScheme(s string) string {
	if len(s) > 20 || strings.ContainsAny(s, "/@:") {
		return "?"
	}
	return s
}

// String is the URL with its password replaced by "xxxxx": the only form
// in which it is ever logged or printed.
func (e *Endpoint) String() string {
	if e == nil || e.raw == nil {
		return ""
	}
	return e.raw.Redacted()
}

// Addr is host:port.
func (e *Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// scrub removes the endpoint's password from a text (an SMTP server's
// error may echo what it was sent).
func (e *Endpoint) scrub(s string) string {
	if e == nil || len(e.Password) < 3 {
		return s
	}
	return strings.ReplaceAll(s, e.Password, "xxxxx")
}

// ParseFrom checks a GITGATE_MAIL_FROM address ("gitgate@example.com"
// or "GitGate <gitgate@example.com>").
func ParseFrom(s string) (*mail.Address, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return nil, fmt.Errorf("invalid mail address %q (want e.g. gitgate@example.com or \"GitGate <gitgate@example.com>\")", s)
	}
	return a, nil
}

// DefaultFrom is the sender address when none is configured:
// gitgate@<host of the external URL>, as GitLab uses gitlab@<host>.
func DefaultFrom(externalURL string) string {
	host := "localhost"
	if u, err := url.Parse(externalURL); err == nil && u.Hostname() != "" {
		host = u.Hostname()
	}
	if net.ParseIP(host) != nil {
		// An address literal is legal but refused by many servers.
		host = "localhost"
	}
	return "GitGate <gitgate@" + host + ">"
}
