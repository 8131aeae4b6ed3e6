package server_test

import (
	"testing"

	"github.com/gitgate/gitgate/server"
)

func TestHTTPSFollowsTheExternalURLWhichNativeTLSMakesHTTPSByDefault(t *testing.T) {
	rows := []struct {
		name        string
		cfg         server.Config
		externalURL string
		https       bool
	}{
		{"plain defaults", server.Config{HTTPAddr: "127.0.0.1:8080"}, "http://127.0.0.1:8080", false},
		{"native TLS", server.Config{HTTPAddr: "0.0.0.0:8443", TLSCert: "c.pem", TLSKey: "k.pem"}, "https://0.0.0.0:8443", true},
		{"native TLS with a given URL", server.Config{TLSCert: "c.pem", TLSKey: "k.pem", ExternalURL: "https://git.example.com"}, "https://git.example.com", true},
		{"proxy terminating TLS", server.Config{ExternalURL: "https://git.example.com"}, "https://git.example.com", true},
		{"plain proxy", server.Config{ExternalURL: "http://git.example.com"}, "http://git.example.com", false},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			c := r.cfg.Defaults()
			if c.ExternalURL != r.externalURL || c.HTTPS() != r.https {
				t.Fatalf("external URL %q, HTTPS %v; want %q, %v", c.ExternalURL, c.HTTPS(), r.externalURL, r.https)
			}
			if err := c.Validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
		})
	}
}

func TestACertificateWithoutItsKeyIsRefused(t *testing.T) {
	for _, c := range []server.Config{{TLSCert: "c.pem"}, {TLSKey: "k.pem"}} {
		err := c.Defaults().Validate()
		if err == nil || err.Error() != "GITGATE_TLS_CERT (--tls-cert) and GITGATE_TLS_KEY (--tls-key) must be set together" {
			t.Fatalf("%+v: %v", c, err)
		}
	}
}
