package api_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
)

// step is one request of a table that runs in order (later steps see
// what earlier ones created) and the exact answer GitLab gives.
type step struct {
	name, method, path, token, body string
	status                          int
	want                            string // exact JSON body, or "" for any
}

func runSteps(t *testing.T, f *fixture, steps []step) {
	t.Helper()
	for _, s := range steps {
		r := f.do(req{method: s.method, path: s.path, token: s.token, body: s.body})
		expect(t, s.name, r, s.status, s.want)
	}
}

const (
	bodyForbidden       = `{"message":"403 Forbidden"}`
	bodyGroupNotFound   = `{"message":"404 Group Not Found"}`
	bodyMemberNotFound  = `{"message":"404 Member Not Found"}`
	bodyProjectNotFound = `{"message":"404 Project Not Found"}`
)

// The admin key endpoints answer with GitLab's statuses and bodies: only
// admins add, delete and look keys up; fingerprints in either form or a
// clear 400; one key never belongs to two users.
func TestAdminKeyEndpointsAnswerAsGitLab(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		bob := f.env.User("bob", testenv.UserOpts{})
		bobKey, err := f.env.Server.Auth.AddKey(context.Background(), auth.NewKey{UserID: bob.ID, Title: "laptop", Key: newKey(t)})
		if err != nil {
			t.Fatal(err)
		}
		adminRead := f.env.Token(f.admin, auth.ScopeReadAPI)
		bid, kid := strconv.FormatInt(bob.ID, 10), strconv.FormatInt(bobKey.ID, 10)
		aid := strconv.FormatInt(f.alice.ID, 10)
		zeros := "SHA256:" + strings.Repeat("A", 43)
		runSteps(t, f, []step{
			{"lookup without fingerprint", "GET", "/keys", f.adminToken, "", 400, `{"error":"fingerprint is missing"}`},
			{"fingerprint in no known form", "GET", "/keys?fingerprint=nonsense", f.adminToken, "", 400, `{"message":"Failed to return the key"}`},
			{"short SHA256 fingerprint", "GET", "/keys?fingerprint=SHA256:abc", f.adminToken, "", 400, `{"message":"Failed to return the key"}`},
			{"unknown fingerprint", "GET", "/keys?fingerprint=" + zeros, f.adminToken, "", 404, `{"message":"404 Key Not Found"}`},
			{"unknown MD5 fingerprint", "GET", "/keys?fingerprint=" + strings.Repeat("00:", 15) + "00", f.adminToken, "", 404, `{"message":"404 Key Not Found"}`},
			{"lookup by a user", "GET", "/keys?fingerprint=" + url.QueryEscape(bobKey.Fingerprint), f.aliceToken, "", 403, bodyForbidden},
			{"lookup by a lowercase prefix", "GET", "/keys?fingerprint=" + url.QueryEscape("sha256:"+strings.TrimPrefix(bobKey.Fingerprint, "SHA256:")), f.adminToken, "", 200, ""},
			{"key by id, a user", "GET", "/keys/" + kid, f.aliceToken, "", 403, bodyForbidden},
			{"missing key by id", "GET", "/keys/424242", f.adminToken, "", 404, `{"message":"404 Not found"}`},
			{"key id not a number", "GET", "/keys/abc", f.adminToken, "", 400, `{"error":"id is invalid"}`},
			{"a user adds a key for another", "POST", "/users/" + bid + "/keys", f.aliceToken, `{"title":"x","key":"` + newKey(t) + `"}`, 403, bodyForbidden},
			{"key for a missing user", "POST", "/users/424242/keys", f.adminToken, `{"title":"x","key":"` + newKey(t) + `"}`, 404, bodyUserNotFound},
			{"key for a username", "POST", "/users/bob/keys", f.adminToken, `{"title":"x","key":"` + newKey(t) + `"}`, 400, `{"error":"user_id is invalid"}`},
			{"key without fields", "POST", "/users/" + bid + "/keys", f.adminToken, `{}`, 400, `{"error":"key is missing, title is missing"}`},
			{"a key someone has", "POST", "/users/" + aid + "/keys", f.adminToken, `{"title":"x","key":"` + bobKey.Key + `"}`, 400,
				`{"message":{"fingerprint":["has already been taken"],"fingerprint_sha256":["has already been taken"]}}`},
			{"a DSA key", "POST", "/users/" + bid + "/keys", f.adminToken, `{"title":"x","key":"ssh-dss AAAAB3NzaC1kc3MAAACBAP"}`, 400, ""},
			{"a read_api token adds a key", "POST", "/users/" + bid + "/keys", adminRead, `{"title":"x","key":"` + newKey(t) + `"}`, 403, scopeBody("api")},
			{"a read_api token reads a key", "GET", "/keys/" + kid, adminRead, "", 200, ""},
			{"another user's key under alice", "DELETE", "/users/" + aid + "/keys/" + kid, f.adminToken, "", 404, `{"message":"404 Key Not Found"}`},
			{"a user deletes another's key", "DELETE", "/users/" + bid + "/keys/" + kid, f.aliceToken, "", 403, bodyForbidden},
			{"a read_api token deletes a key", "DELETE", "/users/" + bid + "/keys/" + kid, adminRead, "", 403, scopeBody("api")},
			{"admin deletes bob's key", "DELETE", "/users/" + bid + "/keys/" + kid, f.adminToken, "", 204, ""},
			{"and it is gone", "GET", "/users/" + bid + "/keys/" + kid, f.aliceToken, "", 404, `{"message":"404 Key Not Found"}`},
		})
		// The own-key door gives the same duplicate answer.
		if _, err := f.env.Server.Auth.AddKey(context.Background(), auth.NewKey{UserID: bob.ID, Title: "again", Key: bobKey.Key}); err != nil {
			t.Fatal(err)
		}
		expect(t, "own duplicate", f.do(req{method: "POST", path: "/user/keys", token: f.aliceToken, body: `{"title":"x","key":"` + bobKey.Key + `"}`}), 400,
			`{"message":{"fingerprint":["has already been taken"],"fingerprint_sha256":["has already been taken"]}}`)
	})
}

// Groups, their members and namespaces answer with GitLab's statuses and
// bodies: private groups are 404 to outsiders whatever the method, the
// wrong level is 403, a refused save is "Failed to save group {…}", and a
// read_api token reads but never writes.
func TestGroupEndpointsAnswerAsGitLab(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.group(t, "pub", access.Public)
		f.env.Member("pub", f.alice, access.Owner)
		priv := f.group(t, "priv", access.Private)
		bob := f.env.User("bob", testenv.UserOpts{})
		bobToken := f.env.Token(bob, auth.ScopeAPI)
		read := f.env.Token(f.alice, auth.ScopeReadAPI)
		pubID := strconv.FormatInt(f.group(t, "pub/inner", access.Public), 10)
		bid, aid := strconv.FormatInt(bob.ID, 10), strconv.FormatInt(f.alice.ID, 10)
		privID := strconv.FormatInt(priv, 10)
		failed := func(field, msg string) string {
			return `{"message":"Failed to save group {:` + field + `=\u003e[\"` + msg + `\"]}"}`
		}
		runSteps(t, f, []step{
			{"a user creates a top-level group", "POST", "/groups", f.aliceToken, `{"name":"x","path":"x"}`, 403, bodyForbidden},
			{"no name or path", "POST", "/groups", f.adminToken, `{}`, 400, `{"error":"name is missing, path is missing"}`},
			{"a taken path", "POST", "/groups", f.adminToken, `{"name":"x","path":"pub"}`, 400, failed("path", "has already been taken")},
			{"a username's path", "POST", "/groups", f.adminToken, `{"name":"x","path":"alice"}`, 400, failed("path", "has already been taken")},
			{"a path with a slash", "POST", "/groups", f.adminToken, `{"name":"x","path":"a/b"}`, 400, ""},
			{"a bad visibility", "POST", "/groups", f.adminToken, `{"name":"x","path":"x","visibility":"secret"}`, 400, `{"error":"visibility does not have a valid value"}`},
			{"under a private group one cannot see", "POST", "/groups", f.aliceToken, `{"name":"x","path":"x","parent_id":` + privID + `}`, 404, bodyGroupNotFound},
			{"under a group one is not maintainer of", "POST", "/groups", bobToken, `{"name":"x","path":"x","parent_id":"pub"}`, 400, `{"error":"parent_id is invalid"}`},
			{"under a public group, no rights", "POST", "/groups", bobToken, `{"name":"x","path":"x","parent_id":` + pubID + `}`, 403, bodyForbidden},
			{"above its parent", "POST", "/groups", f.adminToken, `{"name":"x","path":"x","parent_id":` + privID + `,"visibility":"public"}`, 400,
				failed("visibility_level", "public is not allowed since the parent group has a private visibility.")},
			{"read_api creates", "POST", "/groups", read, `{"name":"x","path":"x"}`, 403, scopeBody("api")},

			{"private group to an outsider", "GET", "/groups/priv", f.aliceToken, "", 404, bodyGroupNotFound},
			{"its subgroups", "GET", "/groups/priv/subgroups", f.aliceToken, "", 404, bodyGroupNotFound},
			{"its projects", "GET", "/groups/" + privID + "/projects", f.aliceToken, "", 404, bodyGroupNotFound},
			{"its members", "GET", "/groups/priv/members", f.aliceToken, "", 404, bodyGroupNotFound},
			{"change it", "PUT", "/groups/priv", f.aliceToken, `{"name":"y"}`, 404, bodyGroupNotFound},
			{"delete it", "DELETE", "/groups/priv", f.aliceToken, "", 404, bodyGroupNotFound},
			{"add to it", "POST", "/groups/priv/members", f.aliceToken, `{"user_id":` + bid + `,"access_level":10}`, 404, bodyGroupNotFound},
			{"anonymous sees a public group", "GET", "/groups/pub", "", "", 200, ""},
			{"read_api reads", "GET", "/groups/pub/members", read, "", 200, ""},
			{"read_api changes", "PUT", "/groups/pub", read, `{"name":"y"}`, 403, scopeBody("api")},
			{"read_api deletes", "DELETE", "/groups/pub", read, "", 403, scopeBody("api")},
			{"read_api adds a member", "POST", "/groups/pub/members", read, `{"user_id":` + bid + `,"access_level":10}`, 403, scopeBody("api")},
			{"a non-owner changes", "PUT", "/groups/pub", bobToken, `{"name":"y"}`, 403, bodyForbidden},
			{"a non-owner deletes", "DELETE", "/groups/pub", bobToken, "", 403, bodyForbidden},
			{"a non-owner adds a member", "POST", "/groups/pub/members", bobToken, `{"user_id":` + bid + `,"access_level":10}`, 403, bodyForbidden},
			{"private below a public subgroup", "PUT", "/groups/pub", f.aliceToken, `{"visibility":"private"}`, 400,
				`{"message":{"visibility_level":["private is not allowed since there are sub-groups with higher visibility."]}}`},
			{"a taken path on rename", "PUT", "/groups/pub", f.aliceToken, `{"path":"priv"}`, 400, `{"message":{"path":["has already been taken"]}}`},
			{"bad order_by", "GET", "/groups?order_by=stars", f.aliceToken, "", 400, `{"error":"order_by does not have a valid value"}`},
			{"bad sort", "GET", "/groups?sort=up", f.aliceToken, "", 400, `{"error":"sort does not have a valid value"}`},

			{"a level that is none", "POST", "/groups/pub/members", f.aliceToken, `{"user_id":` + bid + `,"access_level":31}`, 400, `{"error":"access_level does not have a valid value"}`},
			{"no user", "POST", "/groups/pub/members", f.aliceToken, `{"access_level":30}`, 400, `{"error":"user_id is missing"}`},
			{"a missing user", "POST", "/groups/pub/members", f.aliceToken, `{"user_id":424242,"access_level":30}`, 404, bodyUserNotFound},
			{"add bob", "POST", "/groups/pub/members", f.aliceToken, `{"user_id":` + bid + `,"access_level":30}`, 201, ""},
			{"add bob again", "POST", "/groups/pub/members", f.aliceToken, `{"user_id":` + bid + `,"access_level":30}`, 409, `{"message":"Member already exists"}`},
			{"change without a level", "PUT", "/groups/pub/members/" + bid, f.aliceToken, `{}`, 400, `{"error":"access_level is missing"}`},
			{"change a non-member", "PUT", "/groups/pub/members/424242", f.aliceToken, `{"access_level":30}`, 404, bodyMemberNotFound},
			{"a developer changes a level", "PUT", "/groups/pub/members/" + bid, bobToken, `{"access_level":50}`, 403, bodyForbidden},
			{"remove the last owner", "DELETE", "/groups/pub/members/" + aid, f.aliceToken, "", 403, bodyForbidden},
			{"demote the last owner", "PUT", "/groups/pub/members/" + aid, f.aliceToken, `{"access_level":40}`, 403, bodyForbidden},
			{"remove bob", "DELETE", "/groups/pub/members/" + bid, f.aliceToken, "", 204, ""},

			{"namespaces need a caller", "GET", "/namespaces", "", "", 401, bodyUnauthorized},
			{"a private group's namespace", "GET", "/namespaces/priv", f.aliceToken, "", 404, `{"message":"404 Namespace Not Found"}`},
			{"another user's namespace", "GET", "/namespaces/bob", f.aliceToken, "", 404, `{"message":"404 Namespace Not Found"}`},
			{"a group's namespace", "GET", "/namespaces/pub%2Finner", f.aliceToken, "", 200, ""},

			{"the owner deletes", "DELETE", "/groups/pub", f.aliceToken, "", 202, `{"message":"202 Accepted"}`},
			{"and it is gone", "GET", "/groups/pub", f.aliceToken, "", 404, bodyGroupNotFound},
			{"with its subgroup", "GET", "/groups/" + pubID, f.adminToken, "", 404, bodyGroupNotFound},
		})
	})
}

// The project edits, member changes and list filters refuse bad input
// with GitLab's bodies and keep private projects hidden.
func TestProjectMemberAndFilterEndpointsAnswerAsGitLab(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.group(t, "priv", access.Private)
		f.env.Project("priv/secret", access.Private)
		f.env.Project("alice/proj", access.Private)
		bob := f.env.User("bob", testenv.UserOpts{})
		bid := strconv.FormatInt(bob.ID, 10)
		read := f.env.Token(f.alice, auth.ScopeReadAPI)
		runSteps(t, f, []step{
			{"bad order_by", "GET", "/projects?order_by=stars", f.aliceToken, "", 400, `{"error":"order_by does not have a valid value"}`},
			{"bad sort", "GET", "/projects?sort=sideways", f.aliceToken, "", 400, `{"error":"sort does not have a valid value"}`},
			{"bad order_by of a group", "GET", "/groups/priv/projects?order_by=stars", f.adminToken, "", 400, `{"error":"order_by does not have a valid value"}`},
			{"members/all of a hidden project", "GET", "/projects/priv%2Fsecret/members/all", f.aliceToken, "", 404, bodyProjectNotFound},
			{"change a member of a hidden project", "PUT", "/projects/priv%2Fsecret/members/" + bid, f.aliceToken, `{"access_level":30}`, 404, bodyProjectNotFound},
			{"change a non-member", "PUT", "/projects/alice%2Fproj/members/" + bid, f.aliceToken, `{"access_level":30}`, 404, bodyMemberNotFound},
			{"a member id that is no number", "PUT", "/projects/alice%2Fproj/members/abc", f.aliceToken, `{"access_level":30}`, 400, `{"error":"user_id is invalid"}`},
			{"read_api changes a member", "PUT", "/projects/alice%2Fproj/members/" + bid, read, `{"access_level":30}`, 403, scopeBody("api")},
			{"read_api reads members/all", "GET", "/projects/alice%2Fproj/members/all", read, "", 200, ""},
			{"an invalid default branch", "PUT", "/projects/alice%2Fproj", f.aliceToken, `{"default_branch":"a..b"}`, 400, ""},
			{"projects of a missing user", "GET", "/users/424242/projects", f.aliceToken, "", 404, bodyUserNotFound},
			{"a user's hidden projects", "GET", "/users/alice/projects", f.env.Token(bob, auth.ScopeAPI), "", 200, `[]`},
		})
		r := f.do(req{path: "/projects/alice%2Fproj/members/all", token: f.aliceToken})
		expect(t, "members/all", r, http.StatusOK, "")
		if r.header.Get("X-Total") != "1" || r.header.Get("X-Total-Pages") != "1" {
			t.Fatalf("members/all pagination headers %v", r.header)
		}
	})
}
