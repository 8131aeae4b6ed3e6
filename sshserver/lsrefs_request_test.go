package sshserver_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/store"
)

// TestHTTPLsRefsWithAMalformedPktLineLengthIsNotAnswered: an ls-refs
// request whose flush is not four hex digits ("000X") is one git refuses;
// the HTTP door used to read it as a flush and answer it from the ref
// snapshot. The same request with a real flush is answered, so the refs
// are there to be listed. Found by FuzzParseLsRefs.
func TestHTTPLsRefsWithAMalformedPktLineLengthIsNotAnswered(t *testing.T) {
	r := newRefsEnv(t, store.SQLite)
	post := func(body string) (int, string) {
		return sendHTTP(t, http.MethodPost, r.httpURL+"/git-upload-pack", body,
			"Content-Type", "application/x-git-upload-pack-request", "Git-Protocol", "version=2")
	}
	const request = "0014command=ls-refs\n0014agent=git/2.39.50016object-format=sha10001000csymrefs\n"
	if code, body := post(request + "0000"); code != http.StatusOK || !strings.Contains(body, " refs/heads/feature/a\n") {
		t.Fatalf("well-formed ls-refs: %d %q", code, body)
	}
	for _, end := range []string{"000X", "0x00", "+000"} {
		if _, body := post(request + end); strings.Contains(body, "refs/heads/") {
			t.Errorf("ls-refs ending in %q answered: %q", end, body)
		}
	}
}
