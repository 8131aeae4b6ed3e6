package logging_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/logging"
)

func TestSecretsNeverReachTheLog(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log, err := logging.New(&buf, format, "debug")
		if err != nil {
			t.Fatal(err)
		}
		log.Info("request",
			"password", "hunter2-password",
			"private_token", "token-string-here123",
			"Authorization", "Basic dXNlcjpnbHBhdC1zZWNyZXQ=",
			"url", "http://alice:glpat-AbCdEfGhIjKlMnOpQrStUv@host/x.git",
			"err", errors.New("lookup glpat-ZyXwVuTsRqPoNmLkJiHgFe failed"),
			"header", "Bearer abcdefghijklmnopqrstuvwxyz",
			"token_id", 42,
			"token_count", 4711,
		)
		out := buf.String()
		for _, secret := range []string{"hunter2-password", "token-string-here123", "dXNlcjpnbHBhdC1zZWNyZXQ=", "glpat-AbCdEfGhIjKlMnOpQrStUv",
			"glpat-ZyXwVuTsRqPoNmLkJiHgFe", "abcdefghijklmnopqrstuvwxyz"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s log holds %q:\n%s", format, secret, out)
			}
		}
		if !strings.Contains(out, "42") || !strings.Contains(out, "4711") {
			t.Errorf("%s log lost the non-secret token_id or token_count:\n%s", format, out)
		}
	}
}

func TestUnknownFormatOrLevelIsAnError(t *testing.T) {
	if _, err := logging.New(&bytes.Buffer{}, "xml", "info"); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := logging.New(&bytes.Buffer{}, "text", "loud"); err == nil {
		t.Error("level loud accepted")
	}
}
