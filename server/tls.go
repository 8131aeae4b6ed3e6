package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
)

// Native TLS for installs without a reverse proxy (docs/operations.md#tls):
// the HTTP listener serves the certificate and key files of
// GITGATE_TLS_CERT and GITGATE_TLS_KEY, read again on SIGHUP so a renewed
// certificate is served without a restart.

// HTTPS reports whether clients reach the server over https: its external
// URL (given, or the default, which is https with native TLS) says so.
// Cookies are marked Secure and clone URLs start with https:// then, also
// behind a proxy that terminates TLS.
func (c Config) HTTPS() bool {
	u, err := url.Parse(c.ExternalURL)
	return err == nil && u.Scheme == "https"
}

// NativeTLS reports whether the server itself terminates TLS.
func (c Config) NativeTLS() bool { return c.TLSCert != "" }

// checkTLSPair refuses one of the certificate and the key without the
// other.
func (c Config) checkTLSPair() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("GITGATE_TLS_CERT (--tls-cert) and GITGATE_TLS_KEY (--tls-key) must be set together")
	}
	return nil
}

// certificate holds the certificate being served; a reload swaps it
// while connections are accepted.
type certificate struct {
	certFile, keyFile string
	current           atomic.Pointer[tls.Certificate]
}

func loadCertificate(certFile, keyFile string) (*certificate, error) {
	c := &certificate{certFile: certFile, keyFile: keyFile}
	if err := c.reload(); err != nil {
		return nil, err
	}
	return c, nil
}

// reload reads the files again; on failure the certificate served so far
// stays.
func (c *certificate) reload() error {
	pair, err := tls.LoadX509KeyPair(c.certFile, c.keyFile)
	if err != nil {
		return fmt.Errorf("TLS certificate %s and key %s: %w", c.certFile, c.keyFile, err)
	}
	c.current.Store(&pair)
	return nil
}

// tlsConfig serves whatever certificate is current at each handshake.
func (c *certificate) tlsConfig() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.current.Load(), nil
		},
	}
}

// ReloadTLS reads the TLS certificate and key files again (`gitgate serve`
// does on SIGHUP). Without native TLS it does nothing; on failure the
// certificate served so far stays and the error says why.
func (s *Server) ReloadTLS() error {
	if s.cert == nil {
		return nil
	}
	if err := s.cert.reload(); err != nil {
		return err
	}
	s.log.Info("reloaded the TLS certificate", "cert", s.cert.certFile)
	return nil
}

// scheme is the scheme of the HTTP listener.
func (s *Server) scheme() string {
	if s.cert != nil {
		return "https"
	}
	return "http"
}
