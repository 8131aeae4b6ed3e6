package auth_test

import (
	"slices"
	"testing"

	"github.com/gitgate/gitgate/auth"
)

// TestAllowsAPIByScopeAndKindOfRequest is the API's scope rule as a
// table: api everything, read_api every read, read_user the user reads,
// read_repository the repository file reads, and a refusal names the
// scopes that would have opened the request.
func TestAllowsAPIByScopeAndKindOfRequest(t *testing.T) {
	read := auth.APIRequest{ReadOnly: true}
	write := auth.APIRequest{}
	user := auth.APIRequest{ReadOnly: true, UserEndpoint: true}
	files := auth.APIRequest{ReadOnly: true, RepositoryFiles: true}
	filesWrite := auth.APIRequest{RepositoryFiles: true}
	for _, c := range []struct {
		name   string
		scopes []string
		req    auth.APIRequest
		ok     bool
		want   []string
	}{
		{"api writes", []string{auth.ScopeAPI}, write, true, nil},
		{"api reads files", []string{auth.ScopeAPI}, files, true, nil},
		{"read_api reads", []string{auth.ScopeReadAPI}, read, true, nil},
		{"read_api reads files", []string{auth.ScopeReadAPI}, files, true, nil},
		{"read_api does not write", []string{auth.ScopeReadAPI}, write, false, []string{auth.ScopeAPI}},
		{"read_repository reads files", []string{auth.ScopeReadRepository}, files, true, nil},
		{"read_repository does not write files", []string{auth.ScopeReadRepository}, filesWrite, false, []string{auth.ScopeAPI}},
		{"read_repository reads nothing else", []string{auth.ScopeReadRepository}, read, false, []string{auth.ScopeAPI, auth.ScopeReadAPI}},
		{"write_repository reads no files", []string{auth.ScopeWriteRepository}, files, false,
			[]string{auth.ScopeAPI, auth.ScopeReadAPI, auth.ScopeReadRepository}},
		{"read_user reads users", []string{auth.ScopeReadUser}, user, true, nil},
		{"read_user reads no files", []string{auth.ScopeReadUser}, files, false,
			[]string{auth.ScopeAPI, auth.ScopeReadAPI, auth.ScopeReadRepository}},
		{"read_repository reads no users", []string{auth.ScopeReadRepository}, user, false,
			[]string{auth.ScopeAPI, auth.ScopeReadAPI, auth.ScopeReadUser}},
	} {
		ok, want := auth.AllowsAPI(c.scopes, c.req)
		if ok != c.ok || !slices.Equal(want, c.want) {
			t.Errorf("%s: got %v %v, want %v %v", c.name, ok, want, c.ok, c.want)
		}
	}
}
