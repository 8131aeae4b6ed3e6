package api_test

import (
	"strconv"
	"testing"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/internal/testenv"
)

func (f *fixture) group(t *testing.T, path, visibility string) int64 {
	t.Helper()
	ns, err := f.env.Server.Repos.CreateGroup(f.ctx(), path, "", visibility, 0)
	if err != nil {
		t.Fatalf("create group %s: %v", path, err)
	}
	return ns.ID
}

const bodyNamespaceNotFound = `{"message":"404 Namespace Not Found"}`

// POST /projects answers alike for a private group the caller cannot see
// and for one that does not exist, by path or by id; only a namespace the
// caller can see tells "not valid" (no right to create there) apart.
func TestCreatingAProjectDoesNotRevealPrivateGroups(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		secret := f.group(t, "secret", access.Private)
		f.group(t, "secret/sub", access.Private)
		f.group(t, "open", access.Public)
		f.group(t, "inner", access.Private)
		f.env.Project("inner/tool", access.Private)
		f.env.Member("inner/tool", f.alice, access.Developer) // sees inner through its project
		f.group(t, "mine", access.Private)
		f.env.Member("mine", f.alice, access.Developer)
		f.env.User("bob", testenv.UserOpts{})
		notValid := `{"message":{"namespace":["is not valid"]}}`
		cases := []struct {
			name, namespace, token string
			status                 int
			body                   string
		}{
			{"private group by path", "secret", f.aliceToken, 404, bodyNamespaceNotFound},
			{"private group by id", strconv.FormatInt(secret, 10), f.aliceToken, 404, bodyNamespaceNotFound},
			{"private subgroup", "secret/sub", f.aliceToken, 404, bodyNamespaceNotFound},
			{"missing group by path", "nosuchgrp", f.aliceToken, 404, bodyNamespaceNotFound},
			{"missing group by id", "424242", f.aliceToken, 404, bodyNamespaceNotFound},
			{"public group without rights", "open", f.aliceToken, 400, notValid},
			{"private group seen through a project", "inner", f.aliceToken, 400, notValid},
			{"another user's namespace", "bob", f.aliceToken, 400, notValid},
			{"private group of a developer", "mine", f.aliceToken, 201, ""},
			{"admin in any private group", "secret", f.adminToken, 201, ""},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				r := f.do(req{method: "POST", path: "/projects", token: tc.token,
					body: `{"path":"p-` + strconv.Itoa(len(tc.name)) + `","namespace_id":"` + tc.namespace + `"}`})
				expect(t, tc.name, r, tc.status, tc.body)
			})
		}
	})
}

// A project is never more visible than its group or any group above it,
// with GitLab's answer; nothing is created when refused.
func TestProjectVisibilityIsCappedByItsGroups(t *testing.T) {
	dialects(t, func(t *testing.T, f *fixture) {
		f.group(t, "priv", access.Private)
		f.group(t, "int", access.Internal)
		f.group(t, "pub", access.Public)
		f.group(t, "pub/privsub", access.Private)
		f.group(t, "pub/intsub", access.Internal)
		refused := func(vis, group string) string {
			return `{"message":{"visibility_level":["` + vis + ` is not allowed in a ` + group + ` group."]}}`
		}
		cases := []struct {
			namespace, visibility string
			status                int
			body                  string
		}{
			{"priv", access.Public, 400, refused("public", "private")},
			{"priv", access.Internal, 400, refused("internal", "private")},
			{"priv", access.Private, 201, ""},
			{"int", access.Public, 400, refused("public", "internal")},
			{"int", access.Internal, 201, ""},
			{"pub/privsub", access.Public, 400, refused("public", "private")},
			{"pub/privsub", access.Internal, 400, refused("internal", "private")},
			{"pub/intsub", access.Public, 400, refused("public", "internal")},
			{"pub", access.Public, 201, ""},
			{"alice", access.Public, 201, ""},
		}
		for _, tc := range cases {
			name := tc.visibility + " in " + tc.namespace
			t.Run(name, func(t *testing.T) {
				r := f.do(req{method: "POST", path: "/projects", token: f.adminToken,
					body: `{"path":"p-` + tc.visibility + `","namespace_id":"` + tc.namespace + `","visibility":"` + tc.visibility + `"}`})
				expect(t, name, r, tc.status, tc.body)
				_, err := f.env.Server.Repos.Find(f.ctx(), tc.namespace+"/p-"+tc.visibility)
				if created := err == nil; created != (tc.status == 201) {
					t.Fatalf("%s: project exists = %v after %d (%v)", name, created, tc.status, err)
				}
			})
		}
		// Anonymous callers see no project inside the private group.
		r := f.do(req{path: "/projects"})
		expect(t, "anonymous list", r, 200, "")
		for _, p := range r.json(t).([]any) {
			if ns := p.(map[string]any)["path_with_namespace"].(string); ns != "pub/p-public" && ns != "alice/p-public" {
				t.Fatalf("anonymous sees %s", ns)
			}
		}
	})
}
