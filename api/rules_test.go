package api_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/store"
)

const (
	bodyUnauthorized = `{"message":"401 Unauthorized"}`
	bodyRevoked      = `{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}`
	bodyExpired      = `{"error":"invalid_token","error_description":"Token is expired. You can either do re-authorization or token refresh."}`
	bodyImpersonate  = `{"error":"invalid_token","error_description":"Token is an impersonation token but impersonation was disabled."}`
	bodySudoAdmin    = `{"message":"403 Forbidden - Must be admin to use sudo"}`
	bodyUserNotFound = `{"message":"404 User Not Found"}`
)

func scopeBody(scope string) string {
	return `{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"` + scope + `"}`
}

// Each scope opens exactly what docs/tokens.md#scopes says: api
// everything, read_api every GET, read_user the user GETs, Git-only scopes
// nothing — except a token looking at itself, which GitLab allows with any
// scope.
func TestScopesOpenExactlyTheirEndpoints(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.env.Project("alice/repo", "private")
		uid := strconv.FormatInt(f.alice.ID, 10)
		type endpoint struct {
			method, path, body string
			okStatus           int
		}
		eps := map[string]endpoint{
			"user":       {http.MethodGet, "/user", "", 200},
			"users":      {http.MethodGet, "/users", "", 200},
			"users/:id":  {http.MethodGet, "/users/" + uid, "", 200},
			"keys":       {http.MethodGet, "/user/keys", "", 200},
			"projects":   {http.MethodGet, "/projects", "", 200},
			"project":    {http.MethodGet, "/projects/alice%2Frepo", "", 200},
			"tokens":     {http.MethodGet, "/personal_access_tokens", "", 200},
			"version":    {http.MethodGet, "/version", "", 200},
			"self":       {http.MethodGet, "/personal_access_tokens/self", "", 200},
			"post keys":  {http.MethodPost, "/user/keys", `{}`, 400},
			"post proj":  {http.MethodPost, "/projects", `{}`, 400},
			"rotateself": {http.MethodPost, "/personal_access_tokens/self/rotate", `{"expires_at":"1999-01-01"}`, 400},
		}
		const (
			readUser = "api read_api read_user"
			readAPI  = "api read_api"
			write    = "api"
		)
		// want: "" means allowed; otherwise the scope list of the 403.
		cases := []struct {
			scopes []string
			want   map[string]string
		}{
			{[]string{auth.ScopeAPI}, map[string]string{}},
			{[]string{auth.ScopeReadAPI}, map[string]string{"post keys": write, "post proj": write, "rotateself": write}},
			{[]string{auth.ScopeReadUser}, map[string]string{"keys": readAPI, "projects": readAPI, "project": readAPI,
				"tokens": readAPI, "version": readAPI, "post keys": write, "post proj": write, "rotateself": write}},
		}
		for _, git := range [][]string{{auth.ScopeReadRepository}, {auth.ScopeWriteRepository}, {auth.ScopeReadRegistry},
			{auth.ScopeReadRepository, auth.ScopeWriteRepository}} {
			cases = append(cases, struct {
				scopes []string
				want   map[string]string
			}{git, map[string]string{"user": readUser, "users": readUser, "users/:id": readUser, "keys": readAPI,
				"projects": readAPI, "project": readAPI, "tokens": readAPI, "version": readAPI, "post keys": write,
				"post proj": write, "rotateself": write}})
		}
		for _, tc := range cases {
			for name, ep := range eps {
				t.Run(strings.Join(tc.scopes, "+")+"/"+name, func(t *testing.T) {
					tok := f.tokenFor(f.alice, auth.NewToken{Scopes: tc.scopes}).Secret
					r := f.do(req{method: ep.method, path: ep.path, token: tok, body: ep.body})
					if scope, denied := tc.want[name]; denied {
						expect(t, name, r, http.StatusForbidden, scopeBody(scope))
						return
					}
					expect(t, name, r, ep.okStatus, "")
				})
			}
		}
	})
}

// A token works only while it is active (or expired with enforcement
// off), its owner unblocked and, for impersonation tokens, impersonation
// enabled; every other state is 401 with GitLab's body.
func TestTokenStatesDecideAuthentication(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		svc := f.env.Server.Auth
		today := auth.Today(svc.Now())
		bob := f.env.User("bob", testenv.UserOpts{})
		bobToken := f.env.Token(bob, auth.ScopeAPI)
		if _, err := svc.SetBlocked(f.ctx(), bob.ID, true); err != nil {
			t.Fatal(err)
		}
		expired := f.tokenFor(f.alice, auth.NewToken{Scopes: []string{auth.ScopeAPI}, ExpiresAt: &today, AllowPastExpiry: true}).Secret
		revoked := f.tokenFor(f.alice, auth.NewToken{Scopes: []string{auth.ScopeAPI}})
		if _, err := svc.RevokeToken(f.ctx(), revoked.Token.ID); err != nil {
			t.Fatal(err)
		}
		imp := f.tokenFor(f.alice, auth.NewToken{Scopes: []string{auth.ScopeAPI}, Impersonation: true}).Secret

		set := func(k, v string) {
			t.Helper()
			if _, err := svc.UpdateSettings(f.ctx(), map[string]string{k: v}); err != nil {
				t.Fatal(err)
			}
		}
		cases := []struct {
			name     string
			token    string
			settings map[string]string
			status   int
			body     string
		}{
			{"active", f.aliceToken, nil, 200, ""},
			{"no token", "", nil, 401, bodyUnauthorized},
			{"unknown token", "glpat-thisTokenDoesNotExist12", nil, 401, bodyUnauthorized},
			{"malformed token", "short", nil, 401, bodyUnauthorized},
			{"expired, enforced", expired, nil, 401, bodyExpired},
			{"expired, not enforced", expired, map[string]string{auth.SettingEnforceExpiration: "false"}, 200, ""},
			{"revoked", revoked.Secret, nil, 401, bodyRevoked},
			{"revoked, expiry not enforced", revoked.Secret, map[string]string{auth.SettingEnforceExpiration: "false"}, 401, bodyRevoked},
			{"blocked owner", bobToken, nil, 401, bodyUnauthorized},
			{"impersonation enabled", imp, nil, 200, ""},
			{"impersonation disabled", imp, map[string]string{auth.SettingImpersonationEnabled: "false"}, 401, bodyImpersonate},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				for k, v := range tc.settings {
					set(k, v)
					t.Cleanup(func() { set(k, "") })
				}
				r := f.do(req{path: "/user", token: tc.token})
				expect(t, tc.name, r, tc.status, tc.body)
				if tc.status == 200 && r.obj(t)["username"] != "alice" {
					t.Fatalf("acted as %v, want alice", r.obj(t)["username"])
				}
				if strings.Contains(tc.body, "invalid_token") && !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Fatalf("no invalid_token challenge: %q", r.header.Get("WWW-Authenticate"))
				}
			})
		}
		// An expired token that still works shows as expired.
		set(auth.SettingEnforceExpiration, "false")
		r := f.do(req{path: "/personal_access_tokens/self", token: expired})
		expect(t, "expired self", r, 200, "")
		if m := r.obj(t); m["expired"] != true || m["active"] != false {
			t.Fatalf("expired token shown as %v", r.body)
		}
	})
}

// GitLab clients send the token three ways; all work, and nothing else
// does.
func TestTokenIsAcceptedFromHeaderBearerAndQuery(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	for name, q := range map[string]req{
		"PRIVATE-TOKEN": {path: "/user", token: f.aliceToken},
		"Bearer":        {path: "/user", header: map[string]string{"Authorization": "Bearer " + f.aliceToken}},
		"private_token": {path: "/user?private_token=" + f.aliceToken},
		"access_token":  {path: "/user?access_token=" + f.aliceToken},
	} {
		expect(t, name, f.do(q), 200, "")
	}
	expect(t, "basic", f.do(req{path: "/user", header: map[string]string{"Authorization": "Basic YWxpY2U6c2VjcmV0"}}), 401, bodyUnauthorized)
	expect(t, "bad bearer", f.do(req{path: "/user", header: map[string]string{"Authorization": "Bearer glpat-nopenopenopenopenope"}}), 401, bodyUnauthorized)
}

// Sudo works only for an admin's token with both sudo and api
// (docs/api.md#sudo).
func TestSudoNeedsAnAdminTokenWithSudoAndAPI(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		adminAPIOnly := f.env.Token(f.admin, auth.ScopeAPI)
		adminSudoRead := f.env.Token(f.admin, auth.ScopeSudo, auth.ScopeReadAPI)
		aliceID := strconv.FormatInt(f.alice.ID, 10)
		cases := []struct {
			name, token, sudo, query string
			status                   int
			body, actingAs           string
		}{
			{"by username", f.adminToken, "alice", "", 200, "", "alice"},
			{"by id", f.adminToken, aliceID, "", 200, "", "alice"},
			{"by query parameter", f.adminToken, "", "?sudo=alice", 200, "", "alice"},
			{"no sudo", f.adminToken, "", "", 200, "", "boss"},
			{"unknown user", f.adminToken, "nobody", "", 404, bodyUserNotFound, ""},
			{"unknown id", f.adminToken, "99999", "", 404, bodyUserNotFound, ""},
			{"admin token without sudo scope", adminAPIOnly, "alice", "", 403, bodySudoAdmin, ""},
			{"admin token with sudo but not api", adminSudoRead, "alice", "", 403, bodySudoAdmin, ""},
			{"non-admin token", f.aliceToken, "boss", "", 403, bodySudoAdmin, ""},
			{"no token", "", "alice", "", 401, bodyUnauthorized, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				h := map[string]string{}
				if tc.sudo != "" {
					h["Sudo"] = tc.sudo
				}
				r := f.do(req{path: "/user" + tc.query, token: tc.token, header: h})
				expect(t, tc.name, r, tc.status, tc.body)
				if tc.actingAs != "" && r.obj(t)["username"] != tc.actingAs {
					t.Fatalf("acting as %v, want %s", r.obj(t)["username"], tc.actingAs)
				}
			})
		}
		// Sudo acts with the target's rights: alice is no admin.
		r := f.do(req{path: "/application/settings", token: f.adminToken, header: map[string]string{"Sudo": "alice"}})
		expect(t, "settings as alice", r, 403, `{"message":"403 Forbidden"}`)
	})
}

// Malformed, mistyped, oversized and overflowing input is answered as
// GitLab answers it, never with a 500.
func TestHostileInputIsRefusedAsGitLabDoes(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.env.Project("alice/repo", "private")
	aliceID := strconv.FormatInt(f.alice.ID, 10)
	huge := `{"title":"` + strings.Repeat("a", 2<<20) + `"}`
	cases := []struct {
		name   string
		q      req
		status int
		body   string
	}{
		{"malformed JSON", req{method: "POST", path: "/user/keys", body: `{"title":`}, 400, `{"error":"message body does not match declared format"}`},
		{"JSON array body", req{method: "POST", path: "/user/keys", body: `[1,2]`}, 400, `{"error":"message body does not match declared format"}`},
		{"JSON after JSON", req{method: "POST", path: "/user/keys", body: `{"title":"a"}{}`}, 400, `{"error":"message body does not match declared format"}`},
		{"string for an integer", req{method: "POST", path: "/projects/alice%2Frepo/members", body: `{"user_id":"x","access_level":30}`}, 400, `{"error":"user_id is invalid"}`},
		{"object for a string", req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: "admin", body: `{"name":{"a":1},"scopes":["api"]}`}, 400, `{"error":"name is invalid"}`},
		{"number list for scopes", req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: "admin", body: `{"name":"n","scopes":[1]}`}, 400, `{"error":"scopes is invalid"}`},
		{"unknown scope", req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: "admin", body: `{"name":"n","scopes":["root"]}`}, 400, `{"error":"scopes does not have a valid value"}`},
		{"bad date", req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: "admin", body: `{"name":"n","scopes":["api"],"expires_at":"tomorrow"}`}, 400, `{"error":"expires_at is invalid"}`},
		{"missing fields", req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: "admin", body: `{}`}, 400, `{"error":"name is missing, scopes is missing"}`},
		{"bad boolean", req{path: "/projects?owned=maybe"}, 400, `{"error":"owned is invalid"}`},
		{"bad state", req{path: "/personal_access_tokens?state=sleeping"}, 400, `{"error":"state does not have a valid value"}`},
		{"bad per_page", req{path: "/users?per_page=abc"}, 400, `{"error":"per_page is invalid"}`},
		{"zero page", req{path: "/users?page=0"}, 400, `{"error":"page does not have a valid value"}`},
		{"negative per_page", req{path: "/users?per_page=-5"}, 400, `{"error":"per_page does not have a valid value"}`},
		{"overflowing page", req{path: "/users?page=99999999999999999999"}, 400, `{"error":"page is invalid"}`},
		{"body over 1 MiB", req{method: "POST", path: "/user/keys", body: huge}, 413, `{"message":"413 Request Entity Too Large"}`},
		{"overflowing user id", req{path: "/users/99999999999999999999"}, 404, bodyUserNotFound},
		{"overflowing project id", req{path: "/projects/99999999999999999999"}, 404, `{"message":"404 Project Not Found"}`},
		{"overflowing token id (admin)", req{path: "/personal_access_tokens/99999999999999999999", token: "admin"}, 404, `{"message":"404 Not Found"}`},
		{"overflowing token id (user)", req{path: "/personal_access_tokens/99999999999999999999"}, 401, bodyUnauthorized},
		{"overflowing member id", req{method: "POST", path: "/projects/alice%2Frepo/members", body: `{"user_id":99999999999999999999,"access_level":30}`}, 404, bodyUserNotFound},
		{"non-numeric user id", req{path: "/users/abc"}, 404, `{"error":"404 Not Found"}`},
		{"non-numeric token id", req{path: "/personal_access_tokens/abc"}, 400, `{"error":"id is invalid"}`},
		{"unknown route", req{path: "/nothing/here"}, 404, `{"error":"404 Not Found"}`},
		{"wrong method", req{method: "PATCH", path: "/user"}, 405, `{"error":"405 Not Allowed"}`},
		{"path traversal in project id", req{path: "/projects/..%2F..%2Fetc"}, 404, `{"message":"404 Project Not Found"}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			switch tc.q.token {
			case "":
				tc.q.token = f.aliceToken
			case "admin":
				tc.q.token = f.adminToken
			}
			expect(t, tc.name, f.do(tc.q), tc.status, tc.body)
		})
	}

	t.Run("unknown fields are ignored", func(t *testing.T) {
		r := f.do(req{method: "POST", path: "/user/keys", token: f.aliceToken,
			body: `{"title":"k","key":"` + newKey(t) + `","unknown":{"deep":[1,2]},"usage_type":"auth"}`})
		expect(t, "unknown fields", r, 201, "")
	})
	t.Run("chunked body over 1 MiB", func(t *testing.T) {
		hr, _ := http.NewRequest("POST", f.env.URL+"/api/v4/user/keys", strings.NewReader(huge))
		hr.ContentLength = -1 // sent chunked: the limit must hold while reading
		hr.Header.Set("PRIVATE-TOKEN", f.aliceToken)
		hr.Header.Set("Content-Type", "application/json")
		expect(t, "chunked", f.send(hr), 413, `{"message":"413 Request Entity Too Large"}`)
	})
	t.Run("form-encoded body", func(t *testing.T) {
		r := f.do(req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: f.adminToken,
			contentType: "application/x-www-form-urlencoded", body: "name=form&scopes[]=read_api&scopes[]=read_user&expires_at=" + tomorrow(f)})
		expect(t, "form", r, 201, "")
		if got := r.obj(t)["scopes"]; len(got.([]any)) != 2 {
			t.Fatalf("scopes %v", got)
		}
	})
	t.Run("comma-separated scopes", func(t *testing.T) {
		r := f.do(req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: f.adminToken,
			body: `{"name":"csv","scopes":"read_api,read_user"}`})
		expect(t, "csv", r, 201, "")
	})
	t.Run("multipart body", func(t *testing.T) {
		body := "--XX\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nmp\r\n--XX\r\nContent-Disposition: form-data; name=\"scopes[]\"\r\n\r\napi\r\n--XX--\r\n"
		r := f.do(req{method: "POST", path: "/users/" + aliceID + "/personal_access_tokens", token: f.adminToken,
			contentType: "multipart/form-data; boundary=XX", body: body})
		expect(t, "multipart", r, 201, "")
	})
}

func tomorrow(f *fixture) string {
	return auth.AddDays(auth.Today(f.env.Server.Auth.Now()), 1).Format(auth.DateLayout)
}

// A rotated token stops at once and its successor works; a revoked token
// is 401 on the very next request; rotating a dead token is 400.
func TestRotationAndRevocationTakeEffectAtOnce(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		old := f.tokenFor(f.alice, auth.NewToken{Name: "ci", Scopes: []string{auth.ScopeAPI, auth.ScopeReadUser}})
		r := f.do(req{method: "POST", path: "/personal_access_tokens/self/rotate", token: old.Secret})
		expect(t, "rotate self", r, 200, "")
		m := r.obj(t)
		newSecret, _ := m["token"].(string)
		if !strings.HasPrefix(newSecret, "glpat-") || m["name"] != "ci" || m["active"] != true {
			t.Fatalf("rotation answer %s", r.body)
		}
		wantExpiry := auth.AddDays(auth.Today(f.env.Server.Auth.Now()), auth.RotationExpiryDays).Format(auth.DateLayout)
		if m["expires_at"] != wantExpiry {
			t.Fatalf("expires_at %v, want %s", m["expires_at"], wantExpiry)
		}
		expect(t, "old after rotation", f.do(req{path: "/user", token: old.Secret}), 401, bodyRevoked)
		expect(t, "new after rotation", f.do(req{path: "/user", token: newSecret}), 200, "")

		// Rotating by id, with an expiry date.
		id := strconv.FormatInt(int64(m["id"].(float64)), 10)
		exp := auth.AddDays(auth.Today(f.env.Server.Auth.Now()), 3).Format(auth.DateLayout)
		r = f.do(req{method: "POST", path: "/personal_access_tokens/" + id + "/rotate?expires_at=" + exp, token: f.aliceToken})
		expect(t, "rotate by id", r, 200, "")
		if r.obj(t)["expires_at"] != exp {
			t.Fatalf("rotated expiry %v, want %s", r.obj(t)["expires_at"], exp)
		}
		third := r.obj(t)["token"].(string)
		expect(t, "second generation dead", f.do(req{path: "/user", token: newSecret}), 401, bodyRevoked)

		// Rotating a revoked token, or an expired one, is 400.
		expect(t, "rotate revoked", f.do(req{method: "POST", path: "/personal_access_tokens/" + id + "/rotate", token: f.aliceToken}), 400, "")
		today := auth.Today(f.env.Server.Auth.Now())
		expired := f.tokenFor(f.alice, auth.NewToken{Scopes: []string{auth.ScopeAPI}, ExpiresAt: &today, AllowPastExpiry: true})
		r = f.do(req{method: "POST", path: "/personal_access_tokens/" + strconv.FormatInt(expired.Token.ID, 10) + "/rotate", token: f.aliceToken})
		expect(t, "rotate expired", r, 400, "")
		if !strings.HasPrefix(r.obj(t)["message"].(string), "400 Bad request - ") {
			t.Fatalf("rotate expired body %s", r.body)
		}

		// Revocation: 204, then 401 on the next request.
		expect(t, "revoke self", f.do(req{method: "DELETE", path: "/personal_access_tokens/self", token: third}), 204, "")
		expect(t, "after revoke", f.do(req{path: "/user", token: third}), 401, bodyRevoked)

		other := f.tokenFor(f.alice, auth.NewToken{Scopes: []string{auth.ScopeReadAPI}})
		otherID := strconv.FormatInt(other.Token.ID, 10)
		expect(t, "revoke by id", f.do(req{method: "DELETE", path: "/personal_access_tokens/" + otherID, token: f.aliceToken}), 204, "")
		expect(t, "after revoke by id", f.do(req{path: "/user", token: other.Secret}), 401, bodyRevoked)
	})
}

// Who may see, rotate and revoke which token, with GitLab's answers.
func TestTokenEndpointsGuardOtherUsersTokens(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	bob := f.env.User("bob", testenv.UserOpts{})
	bobTok := f.tokenFor(bob, auth.NewToken{Scopes: []string{auth.ScopeAPI}})
	bobID := strconv.FormatInt(bobTok.Token.ID, 10)
	cases := []struct {
		name   string
		q      req
		status int
		body   string
	}{
		{"alice reads bob's token", req{path: "/personal_access_tokens/" + bobID, token: f.aliceToken}, 401, bodyUnauthorized},
		{"alice reads a missing token", req{path: "/personal_access_tokens/424242", token: f.aliceToken}, 401, bodyUnauthorized},
		{"admin reads a missing token", req{path: "/personal_access_tokens/424242", token: f.adminToken}, 404, `{"message":"404 Not Found"}`},
		{"admin reads bob's token", req{path: "/personal_access_tokens/" + bobID, token: f.adminToken}, 200, ""},
		{"alice rotates bob's token", req{method: "POST", path: "/personal_access_tokens/" + bobID + "/rotate", token: f.aliceToken}, 401, bodyUnauthorized},
		{"alice revokes bob's token", req{method: "DELETE", path: "/personal_access_tokens/" + bobID, token: f.aliceToken}, 400, `{"message":"400 Bad request"}`},
		{"alice revokes a missing token", req{method: "DELETE", path: "/personal_access_tokens/424242", token: f.aliceToken}, 404, `{"message":"404 Not found"}`},
		{"alice lists bob's tokens", req{path: "/personal_access_tokens?user_id=" + strconv.FormatInt(bob.ID, 10), token: f.aliceToken}, 401, bodyUnauthorized},
		{"admin lists a missing user's tokens", req{path: "/personal_access_tokens?user_id=424242", token: f.adminToken}, 404, `{"message":"404 Not Found"}`},
		{"alice creates a token for bob", req{method: "POST", path: "/users/" + strconv.FormatInt(bob.ID, 10) + "/personal_access_tokens", token: f.aliceToken, body: `{"name":"x","scopes":["api"]}`}, 403, `{"message":"403 Forbidden"}`},
		{"admin creates a sudo token for bob", req{method: "POST", path: "/users/" + strconv.FormatInt(bob.ID, 10) + "/personal_access_tokens", token: f.adminToken, body: `{"name":"x","scopes":["api","sudo"]}`}, 422, ""},
		{"admin creates a token beyond today", req{method: "POST", path: "/users/" + strconv.FormatInt(bob.ID, 10) + "/personal_access_tokens", token: f.adminToken, body: `{"name":"x","scopes":["api"],"expires_at":"2001-01-01"}`}, 422, ""},
		{"alice lists impersonation tokens", req{path: "/users/" + strconv.FormatInt(bob.ID, 10) + "/impersonation_tokens", token: f.aliceToken}, 403, `{"message":"403 Forbidden"}`},
		{"admin reads a missing impersonation token", req{path: "/users/" + strconv.FormatInt(bob.ID, 10) + "/impersonation_tokens/" + bobID, token: f.adminToken}, 404, `{"message":"404 Impersonation Token Not Found"}`},
		{"bob's token still works", req{path: "/user", token: bobTok.Secret}, 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { expect(t, tc.name, f.do(tc.q), tc.status, tc.body) })
	}
}

// With impersonation disabled, impersonation tokens cannot be made and
// existing ones stop working, but an admin can still list and revoke them.
func TestImpersonationDisabledRefusesCreationAndUse(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	uid := strconv.FormatInt(f.alice.ID, 10)
	r := f.do(req{method: "POST", path: "/users/" + uid + "/impersonation_tokens", token: f.adminToken, body: `{"name":"imp","scopes":["api"]}`})
	expect(t, "create", r, 201, "")
	imp := r.obj(t)
	if imp["impersonation"] != true {
		t.Fatalf("impersonation token JSON %s", r.body)
	}
	secret := imp["token"].(string)
	expect(t, "use", f.do(req{path: "/user", token: secret}), 200, "")
	if _, err := f.env.Server.Auth.UpdateSettings(f.ctx(), map[string]string{auth.SettingImpersonationEnabled: "false"}); err != nil {
		t.Fatal(err)
	}
	expect(t, "use when disabled", f.do(req{path: "/user", token: secret}), 401, bodyImpersonate)
	r = f.do(req{method: "POST", path: "/users/" + uid + "/impersonation_tokens", token: f.adminToken, body: `{"name":"imp2","scopes":["api"]}`})
	expect(t, "create when disabled", r, 400, "")
	if _, ok := r.obj(t)["message"].(map[string]any)["impersonation"]; !ok {
		t.Fatalf("create when disabled body %s", r.body)
	}
	id := strconv.FormatInt(int64(imp["id"].(float64)), 10)
	expect(t, "list when disabled", f.do(req{path: "/users/" + uid + "/impersonation_tokens", token: f.adminToken}), 200, "")
	expect(t, "revoke when disabled", f.do(req{method: "DELETE", path: "/users/" + uid + "/impersonation_tokens/" + id, token: f.adminToken}), 204, "")
}

// Pagination follows GitLab: headers, Link, limits and pages past the end.
func TestPaginationHeadersMatchGitLab(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		for i := 0; i < 43; i++ {
			f.env.User("user"+strconv.Itoa(i), testenv.UserOpts{})
		}
		// root, boss, alice and 43 more.
		const total = 46
		r := f.do(req{path: "/users?per_page=20&page=2&search=", token: f.adminToken})
		expect(t, "page 2", r, 200, "")
		base := f.env.URL + "/api/v4/users?"
		want := map[string]string{
			"X-Total": "46", "X-Total-Pages": "3", "X-Page": "2", "X-Per-Page": "20", "X-Next-Page": "3", "X-Prev-Page": "1",
			"Link": `<` + base + `page=1&per_page=20&search=>; rel="prev", <` + base + `page=3&per_page=20&search=>; rel="next", <` +
				base + `page=1&per_page=20&search=>; rel="first", <` + base + `page=3&per_page=20&search=>; rel="last"`,
		}
		for k, v := range want {
			if got := r.header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		if n := len(r.json(t).([]any)); n != 20 {
			t.Fatalf("page 2 has %d users", n)
		}
		r = f.do(req{path: "/users?page=3", token: f.adminToken})
		if n := len(r.json(t).([]any)); n != total-40 || r.header.Get("X-Next-Page") != "" || r.header.Get("X-Prev-Page") != "2" {
			t.Fatalf("last page: %d users, next %q prev %q", n, r.header.Get("X-Next-Page"), r.header.Get("X-Prev-Page"))
		}
		r = f.do(req{path: "/users?per_page=500", token: f.adminToken})
		if r.header.Get("X-Per-Page") != "100" || len(r.json(t).([]any)) != total {
			t.Fatalf("per_page=500: X-Per-Page %q, %d users", r.header.Get("X-Per-Page"), len(r.json(t).([]any)))
		}
		r = f.do(req{path: "/users?page=9", token: f.adminToken})
		if r.body != "[]" || r.header.Get("X-Prev-Page") != "" || r.header.Get("X-Total-Pages") != "3" {
			t.Fatalf("past the end: %s prev %q", r.body, r.header.Get("X-Prev-Page"))
		}
		// An empty list still has one page; the token never leaks into Link.
		r = f.do(req{path: "/users?search=zzzz&private_token=" + f.adminToken})
		if r.header.Get("X-Total") != "0" || r.header.Get("X-Total-Pages") != "1" || strings.Contains(r.header.Get("Link"), f.adminToken) {
			t.Fatalf("empty list: total %q pages %q link %q", r.header.Get("X-Total"), r.header.Get("X-Total-Pages"), r.header.Get("Link"))
		}
	})
}

// Non-admins cannot find users by e-mail; admins can.
func TestUserSearchMatchesEmailOnlyForAdmins(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	f.env.User("carol", testenv.UserOpts{})
	// testenv mails are username@example.com: "carol@" matches only the mail.
	r := f.do(req{path: "/users?search=carol%40", token: f.aliceToken})
	if r.body != "[]" {
		t.Fatalf("non-admin e-mail search found %s", r.body)
	}
	r = f.do(req{path: "/users?search=carol%40", token: f.adminToken})
	if n := len(r.json(t).([]any)); n != 1 {
		t.Fatalf("admin e-mail search found %d", n)
	}
}

// Admin-only endpoints answer 403 to everyone else.
func TestAdminEndpointsAreForbiddenToUsers(t *testing.T) {
	f := newFixture(t, testenv.Options{})
	uid := strconv.FormatInt(f.alice.ID, 10)
	for _, q := range []req{
		{method: "POST", path: "/users", body: `{"email":"x@example.com","name":"x","username":"xx","password":"longpassword"}`},
		{method: "PUT", path: "/users/" + uid, body: `{"name":"x"}`},
		{method: "POST", path: "/users/" + uid + "/block"},
		{method: "POST", path: "/users/" + uid + "/unblock"},
		{method: "POST", path: "/users/" + uid + "/unlock"},
		{path: "/application/settings"},
		{method: "PUT", path: "/application/settings", body: `{"require_personal_access_token_expiry":false}`},
	} {
		q.token = f.aliceToken
		expect(t, q.method+" "+q.path, f.do(q), 403, `{"message":"403 Forbidden"}`)
	}
}

// When the database cannot be reached, the API answers 503, never 401: a
// caller must not conclude its token was revoked.
func TestDatabaseOutageIs503NotUnauthorized(t *testing.T) {
	proxy := newTCPProxy(t, postgresHostPort(t))
	f := newFixture(t, testenv.Options{Dialect: store.Postgres, Configure: proxy.route})
	expect(t, "before", f.do(req{path: "/user", token: f.aliceToken}), 200, "")
	proxy.stop()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := f.do(req{path: "/user", token: f.aliceToken})
		if r.status == 503 {
			expect(t, "outage", r, 503, `{"message":"503 Service Unavailable"}`)
			break
		}
		if r.status == 401 || time.Now().After(deadline) {
			t.Fatalf("during outage: %d %s", r.status, r.body)
		}
	}
	r := f.do(req{path: "/personal_access_tokens/self", token: "glpat-unknownTokenDuringOutage1"})
	expect(t, "unknown token during outage", r, 503, `{"message":"503 Service Unavailable"}`)
}
