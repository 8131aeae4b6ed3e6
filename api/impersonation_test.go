package api_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// impersonate has the admin make an impersonation token for alice through
// the API, expiring in days days, and returns its id and secret.
func (f *fixture) impersonate(t *testing.T, days int) (id, secret, expires string) {
	t.Helper()
	expires = auth.AddDays(auth.Today(f.env.Server.Auth.Now()), days).Format(auth.DateLayout)
	r := f.do(req{method: "POST", path: "/users/" + strconv.FormatInt(f.alice.ID, 10) + "/impersonation_tokens", token: f.adminToken,
		body: `{"name":"support","scopes":["api"],"expires_at":"` + expires + `"}`})
	expect(t, "create impersonation token", r, 201, "")
	m := r.obj(t)
	return strconv.FormatInt(int64(m["id"].(float64)), 10), m["token"].(string), expires
}

func (f *fixture) setting(t *testing.T, key, value string) {
	t.Helper()
	if _, err := f.env.Server.Auth.UpdateSettings(f.ctx(), map[string]string{key: value}); err != nil {
		t.Fatal(err)
	}
}

// To the user it acts as, an impersonation token is someone else's token:
// the same answers as for another user's token, on every token route,
// whether the user calls directly or an admin calls as the user with Sudo.
func TestImpersonatedUserCannotSeeRotateOrRevokeTheImpersonationToken(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	id, secret, _ := f.impersonate(t, 5)
	asAlice := map[string]string{"Sudo": "alice"}
	cases := []struct {
		name   string
		q      req
		status int
		body   string
	}{
		{"user reads it", req{path: "/personal_access_tokens/" + id, token: f.aliceToken}, 401, bodyUnauthorized},
		{"user rotates it far into the future", req{method: "POST", path: "/personal_access_tokens/" + id + "/rotate?expires_at=2099-12-31", token: f.aliceToken}, 401, bodyUnauthorized},
		{"user rotates it", req{method: "POST", path: "/personal_access_tokens/" + id + "/rotate", token: f.aliceToken}, 401, bodyUnauthorized},
		{"user revokes it", req{method: "DELETE", path: "/personal_access_tokens/" + id, token: f.aliceToken}, 400, `{"message":"400 Bad request"}`},
		{"admin as the user reads it", req{path: "/personal_access_tokens/" + id, token: f.adminToken, header: asAlice}, 401, bodyUnauthorized},
		{"admin as the user rotates it", req{method: "POST", path: "/personal_access_tokens/" + id + "/rotate", token: f.adminToken, header: asAlice}, 401, bodyUnauthorized},
		{"admin as the user revokes it", req{method: "DELETE", path: "/personal_access_tokens/" + id, token: f.adminToken, header: asAlice}, 400, `{"message":"400 Bad request"}`},
		{"the token still works", req{path: "/user", token: secret}, 200, ""},
		{"admin reads it", req{path: "/personal_access_tokens/" + id, token: f.adminToken}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expect(t, tc.name, f.do(tc.q), tc.status, tc.body) })
	}
	r := f.do(req{path: "/personal_access_tokens?per_page=100", token: f.aliceToken})
	expect(t, "own list", r, 200, "")
	for _, tk := range r.json(t).([]any) {
		if strconv.FormatInt(int64(tk.(map[string]any)["id"].(float64)), 10) == id {
			t.Fatalf("impersonation token %s in the user's own list: %s", id, r.body)
		}
	}
	if n := len(r.json(t).([]any)); n != 1 {
		t.Fatalf("user's own list has %d tokens, want only alice's own: %s", n, r.body)
	}
	expect(t, "admin revokes it", f.do(req{method: "DELETE", path: "/personal_access_tokens/" + id, token: f.adminToken}), 204, "")
	expect(t, "revoked", f.do(req{path: "/user", token: secret}), 401, bodyRevoked)
}

// Rotating an impersonation token never stretches the admin's grant: the
// successor expires no later than the original, whoever rotates it (the
// admin, or the token itself through /self), even where tokens need no
// expiry at all; and nothing is rotated while impersonation is disabled.
func TestRotatedImpersonationTokenNeverOutlivesTheOriginal(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	// Without required expiry, rotation without a date would otherwise
	// mint a token that never expires.
	f.setting(t, auth.SettingRequireExpiry, "false")
	id, secret, expires := f.impersonate(t, 3)
	later := auth.AddDays(auth.Today(f.env.Server.Auth.Now()), 4).Format(auth.DateLayout)
	earlier := auth.AddDays(auth.Today(f.env.Server.Auth.Now()), 2).Format(auth.DateLayout)

	for _, q := range []req{
		{method: "POST", path: "/personal_access_tokens/" + id + "/rotate?expires_at=2099-12-31", token: f.adminToken},
		{method: "POST", path: "/personal_access_tokens/" + id + "/rotate?expires_at=" + later, token: f.adminToken},
		{method: "POST", path: "/personal_access_tokens/self/rotate?expires_at=" + later, token: secret},
	} {
		r := f.do(q)
		expect(t, q.path, r, 400, "")
		if msg, _ := r.obj(t)["message"].(string); !strings.Contains(msg, "cannot outlive the original") {
			t.Fatalf("%s: body %s", q.path, r.body)
		}
	}
	expect(t, "refused rotations leave the token working", f.do(req{path: "/user", token: secret}), 200, "")

	// Through /self with no date: the default (+7 days) cut to the original's expiry.
	r := f.do(req{method: "POST", path: "/personal_access_tokens/self/rotate", token: secret})
	expect(t, "self rotate", r, 200, "")
	m := r.obj(t)
	if m["expires_at"] != expires || m["impersonation"] != true {
		t.Fatalf("self-rotated impersonation token %s, want impersonation expiring %s", r.body, expires)
	}
	second, secondID := m["token"].(string), strconv.FormatInt(int64(m["id"].(float64)), 10)

	// The admin may rotate to an earlier date.
	r = f.do(req{method: "POST", path: "/personal_access_tokens/" + secondID + "/rotate?expires_at=" + earlier, token: f.adminToken})
	expect(t, "admin rotates earlier", r, 200, "")
	if r.obj(t)["expires_at"] != earlier {
		t.Fatalf("admin rotation %s, want expiry %s", r.body, earlier)
	}
	third, thirdID := r.obj(t)["token"].(string), strconv.FormatInt(int64(r.obj(t)["id"].(float64)), 10)
	expect(t, "second generation revoked", f.do(req{path: "/user", token: second}), 401, bodyRevoked)

	// Disabled: refused with the reason, nothing minted, the token
	// unchanged once impersonation is back.
	f.setting(t, auth.SettingImpersonationEnabled, "false")
	r = f.do(req{method: "POST", path: "/personal_access_tokens/" + thirdID + "/rotate", token: f.adminToken})
	expect(t, "rotate while disabled", r, 400, "")
	if msg, _ := r.obj(t)["message"].(string); !strings.Contains(msg, "impersonation_enabled=false") {
		t.Fatalf("rotate while disabled: body %s", r.body)
	}
	f.setting(t, auth.SettingImpersonationEnabled, "true")
	expect(t, "token after re-enabling", f.do(req{path: "/user", token: third}), 200, "")
	r = f.do(req{path: "/users/" + strconv.FormatInt(f.alice.ID, 10) + "/impersonation_tokens?state=active", token: f.adminToken})
	expect(t, "active impersonation tokens", r, 200, "")
	if list := r.json(t).([]any); len(list) != 1 || strconv.FormatInt(int64(list[0].(map[string]any)["id"].(float64)), 10) != thirdID {
		t.Fatalf("active impersonation tokens %s, want only %s", r.body, thirdID)
	}
}
