package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gitgate/gitgate/api"
	"github.com/gitgate/gitgate/auth"
)

// The token object is the one docs/api.md#endpoints lists, field for
// field, with GitLab's formats: the CLI's --json prints it too.
func TestTokenJSONHasGitLabFieldsAndFormats(t *testing.T) {
	now := time.Date(2026, 11, 25, 13, 14, 15, 0, time.UTC)
	created := time.Date(2026, 11, 20, 8, 9, 10, 123456789, time.UTC)
	used := time.Date(2026, 11, 24, 1, 2, 3, 4000000, time.UTC)
	expires := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		tok  auth.Token
		sec  string
		want string
	}{
		{"expired today, used", auth.Token{ID: 7, UserID: 3, Name: "ci", Description: "d", Scopes: []string{"api", "read_user"},
			CreatedAt: created, LastUsedAt: &used, ExpiresAt: &expires},
			"", `{"id":7,"name":"ci","description":"d","revoked":false,"expired":true,"created_at":"2026-11-20T08:09:10.123Z","scopes":["api","read_user"],"user_id":3,"last_used_at":"2026-11-24T01:02:03.004Z","active":false,"expires_at":"2026-11-25"}`},
		{"never expires, never used", auth.Token{ID: 8, UserID: 3, Name: "n", Scopes: []string{"read_api"}, CreatedAt: created},
			"", `{"id":8,"name":"n","description":"","revoked":false,"expired":false,"created_at":"2026-11-20T08:09:10.123Z","scopes":["read_api"],"user_id":3,"last_used_at":null,"active":true,"expires_at":null}`},
		{"revoked impersonation", auth.Token{ID: 9, UserID: 4, Name: "i", Scopes: []string{"api"}, CreatedAt: created, Revoked: true, Impersonation: true},
			"", `{"id":9,"name":"i","description":"","revoked":true,"expired":false,"created_at":"2026-11-20T08:09:10.123Z","scopes":["api"],"user_id":4,"last_used_at":null,"active":false,"expires_at":null,"impersonation":true}`},
		{"just created", auth.Token{ID: 10, UserID: 4, Name: "c", Scopes: []string{"api"}, CreatedAt: created},
			"glpat-abcdefghijklmnopqrstuv", `{"id":10,"name":"c","description":"","revoked":false,"expired":false,"created_at":"2026-11-20T08:09:10.123Z","scopes":["api"],"user_id":4,"last_used_at":null,"active":true,"expires_at":null,"token":"glpat-abcdefghijklmnopqrstuv"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v any = api.TokenJSON(&tc.tok, now)
			if tc.sec != "" {
				v = api.CreatedTokenJSON(&auth.CreatedToken{Token: &tc.tok, Secret: tc.sec}, now)
			}
			b, err := json.Marshal(v)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tc.want {
				t.Fatalf("got  %s\nwant %s", b, tc.want)
			}
		})
	}
}
