// Package smtptest runs a real SMTP server (emersion/go-smtp) on a
// loopback port for tests: it keeps what it receives, can demand
// STARTTLS, implicit TLS or a password, can refuse messages with any
// reply code, and can be stopped and started again on the same port.
package smtptest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Options choose how the server behaves.
type Options struct {
	// STARTTLS offers STARTTLS; ImplicitTLS speaks TLS from the first
	// byte (smtps). Both use a certificate for 127.0.0.1 that only
	// ClientTLS trusts.
	STARTTLS    bool
	ImplicitTLS bool
	// Username and Password, when set, are required (AUTH PLAIN).
	Username, Password string
	// Accepting, when set, is called with each message before the server
	// answers its DATA (outside the server's lock): a test's stand-in
	// for a slow server, or a moment to act while a send is in flight.
	Accepting func(Message)
}

// Message is one received mail.
type Message struct {
	From string
	To   []string
	Data []byte
}

// Server is a running SMTP receiver.
type Server struct {
	t    testing.TB
	opts Options
	addr string
	tls  *tls.Config
	pool *x509.CertPool

	mu       sync.Mutex
	srv      *smtp.Server
	ln       net.Listener
	received []Message
	reject   *smtp.SMTPError
	notify   chan struct{}
}

// Start runs a server on a free loopback port until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	s := &Server{t: t, opts: o, notify: make(chan struct{}, 1)}
	if o.STARTTLS || o.ImplicitTLS {
		s.tls, s.pool = certificate(t)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	s.serve(ln)
	t.Cleanup(func() { s.Stop() })
	return s
}

// Addr is host:port.
func (s *Server) Addr() string { return s.addr }

// URL is the GITGATE_SMTP_URL that reaches the server: smtps:// for
// implicit TLS, smtp:// otherwise, with ?tls=none when it offers no
// STARTTLS, and the password when one is required.
func (s *Server) URL() string {
	scheme, query := "smtp", ""
	switch {
	case s.opts.ImplicitTLS:
		scheme = "smtps"
	case s.opts.STARTTLS:
		query = "?tls=require"
	default:
		query = "?tls=none"
	}
	user := ""
	if s.opts.Username != "" {
		user = s.opts.Username + ":" + s.opts.Password + "@"
	}
	return scheme + "://" + user + s.addr + query
}

// ClientTLS is a client configuration that trusts the server's
// certificate (nil without TLS).
func (s *Server) ClientTLS() *tls.Config {
	if s.pool == nil {
		return nil
	}
	return &tls.Config{RootCAs: s.pool, MinVersion: tls.VersionTLS12}
}

func (s *Server) serve(ln net.Listener) {
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &session{s: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout = 10 * time.Second
	srv.WriteTimeout = 10 * time.Second
	srv.MaxMessageBytes = 1 << 20
	srv.EnableSMTPUTF8 = true
	srv.AllowInsecureAuth = s.tls == nil
	if s.tls != nil {
		srv.TLSConfig = s.tls
	}
	if s.opts.ImplicitTLS {
		ln = tls.NewListener(ln, s.tls)
	}
	s.mu.Lock()
	s.srv, s.ln = srv, ln
	s.mu.Unlock()
	go func() { _ = srv.Serve(ln) }()
}

// Stop closes the server: connections are refused until Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	srv, ln := s.srv, s.ln
	s.srv, s.ln = nil, nil
	s.mu.Unlock()
	if srv != nil {
		// Closed here too: Serve may not have registered it yet.
		_ = ln.Close()
		_ = srv.Close()
	}
}

// Restart listens again on the same port.
func (s *Server) Restart() {
	s.t.Helper()
	var ln net.Listener
	var err error
	// The old socket may linger a moment in the kernel.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", s.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		s.t.Fatalf("restart smtp server on %s: %v", s.addr, err)
	}
	s.serve(ln)
}

// Reject makes the server answer every DATA with code and text (0:
// accept again).
func (s *Server) Reject(code int, text string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		s.reject = nil
		return
	}
	s.reject = &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCodeNotSet, Message: text}
}

// Messages returns what arrived so far.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.received...)
}

// Wait waits until at least n messages arrived (failing the test after
// a generous deadline) and returns them.
func (s *Server) Wait(n int) []Message {
	s.t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		if m := s.Messages(); len(m) >= n {
			return m
		}
		select {
		case <-s.notify:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			s.t.Fatalf("smtp server got %d messages, want %d", len(s.Messages()), n)
		}
	}
}

type session struct {
	s      *Server
	authed bool
	from   string
	to     []string
}

func (x *session) AuthMechanisms() []string {
	if x.s.opts.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (x *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, username, password string) error {
		if username != x.s.opts.Username || password != x.s.opts.Password {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Invalid credentials"}
		}
		x.authed = true
		return nil
	}), nil
}

func (x *session) Mail(from string, _ *smtp.MailOptions) error {
	if x.s.opts.Username != "" && !x.authed {
		return smtp.ErrAuthRequired
	}
	x.from = from
	return nil
}

func (x *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	x.to = append(x.to, to)
	return nil
}

func (x *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if x.s.opts.Accepting != nil {
		x.s.opts.Accepting(Message{From: x.from, To: x.to, Data: b})
	}
	x.s.mu.Lock()
	defer x.s.mu.Unlock()
	if x.s.reject != nil {
		return x.s.reject
	}
	x.s.received = append(x.s.received, Message{From: x.from, To: x.to, Data: b})
	select {
	case x.s.notify <- struct{}{}:
	default:
	}
	return nil
}

func (x *session) Reset()        { x.from, x.to = "", nil }
func (x *session) Logout() error { return nil }

// Parsed is a received message taken apart.
type Parsed struct {
	Header mail.Header
	Text   string
	HTML   string
	// ContentType is the top-level media type.
	ContentType string
}

// Parse reads a message: its headers, and the text/plain and text/html
// parts of a multipart/alternative body.
func Parse(t testing.TB, raw []byte) Parsed {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("parse message: %v\n%s", err, raw)
	}
	out := Parsed{Header: m.Header}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("content type %q: %v", m.Header.Get("Content-Type"), err)
	}
	out.ContentType = mt
	if !strings.HasPrefix(mt, "multipart/") {
		t.Fatalf("message is %s, want multipart/alternative", mt)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		body, err := io.ReadAll(decode(p))
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		pt, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch pt {
		case "text/plain":
			out.Text = string(body)
		case "text/html":
			out.HTML = string(body)
		}
	}
	return out
}

// decode undoes a part's Content-Transfer-Encoding (multipart.Reader
// only undoes quoted-printable itself).
func decode(p *multipart.Part) io.Reader {
	if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
		return newBase64Reader(p)
	}
	return p
}

func certificate(t testing.TB) (*tls.Config, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "smtptest"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}},
		MinVersion: tls.VersionTLS12}, pool
}

// String describes the server in failures.
func (s *Server) String() string { return fmt.Sprintf("smtp server at %s", s.addr) }
