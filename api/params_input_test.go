package api_test

import (
	"strings"
	"testing"

	"github.com/gitgate/gitgate/internal/testenv"
)

// Found by FuzzParseParams: a multipart body the reader refuses for
// anything but a missing boundary (a part header without a colon) was a
// 500 "Internal Server Error". It is bad input: GitLab's 400, and nothing
// is created.
func TestMalformedMultipartBodyIsBadRequest(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	for _, tc := range []struct{ name, contentType, body string }{
		{"part header without a colon", "multipart/form-data; boundary=xx", "--xx\n0"},
		{"Content-Disposition without a colon", "multipart/form-data; boundary=xx", "--xx\r\nContent-Disposition form-data; name=\"title\"\r\n\r\nk\r\n--xx--\r\n"},
		{"no boundary parameter", "multipart/form-data", "--xx\r\n"},
		{"body without the boundary", "multipart/form-data; boundary=xx", "title=laptop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(req{method: "POST", path: "/user/keys", token: f.aliceToken, contentType: tc.contentType, body: tc.body})
			expect(t, tc.name, r, 400, `{"error":"message body does not match declared format"}`)
		})
	}
	if r := f.do(req{path: "/user/keys", token: f.aliceToken}); r.status != 200 || strings.TrimSpace(r.body) != "[]" {
		t.Fatalf("keys after the refused bodies: %d %s", r.status, r.body)
	}
}
