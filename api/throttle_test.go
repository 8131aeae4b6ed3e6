package api_test

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"

	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/throttle"
)

const lockoutAfter = 3

// lockoutFixture is a server banning an address after lockoutAfter
// failures, with a private project alice can reach over Git.
func lockoutFixture(t *testing.T) *fixture {
	f := newFixture(t, testenv.Options{Configure: func(c *server.Config) { c.AuthLockoutFailures = lockoutAfter }})
	f.env.Project("alice/repo", "private")
	return f
}

// gitAsAlice runs git ls-remote over HTTP against alice/repo with secret.
func (f *fixture) gitAsAlice(secret string) testenv.Result {
	return f.env.Git("", "ls-remote", f.env.RepoURL("alice", secret, "alice/repo"))
}

var bodyBanned = `{"message":"` + throttle.Message + `"}`

// Token guessing through /api/v4 bans the address from the API, with
// the Git doors' limits and message, but not from Git: the two doors count
// failures apart.
func TestFailedAPITokensBanTheAddressFromTheAPIOnly(t *testing.T) {
	f := lockoutFixture(t)
	for i := range lockoutAfter {
		expect(t, "wrong token", f.do(req{path: "/user", token: "glpat-guessedTokenNumber00" + string(rune('a'+i))}), 401, bodyUnauthorized)
	}
	expect(t, "valid token from a banned address", f.do(req{path: "/user", token: f.aliceToken}), 403, bodyBanned)
	expect(t, "anonymous from a banned address", f.do(req{path: "/projects"}), 403, bodyBanned)
	var m dto.Metric
	if err := f.env.Server.Metrics.ThrottledRequests.WithLabelValues("api").Write(&m); err != nil || m.Counter.GetValue() != 2 {
		t.Errorf("throttled API requests counted %v (%v), want 2", m.Counter.GetValue(), err)
	}
	if r := f.gitAsAlice(f.aliceToken); r.Err != nil {
		t.Fatalf("Git over HTTP from an address banned on the API: %v\n%s", r.Err, r.Stderr)
	}
}

// And the other way round: an address banned from Git still reaches the
// API.
func TestFailedGitAuthenticationDoesNotBanTheAPI(t *testing.T) {
	f := lockoutFixture(t)
	for range lockoutAfter {
		if r := f.gitAsAlice("glpat-wrongwrongwrongwrong1"); r.Err == nil {
			t.Fatal("git with a wrong token succeeded")
		}
	}
	if r := f.gitAsAlice(f.aliceToken); r.Err == nil || !strings.Contains(r.Stderr, throttle.Message) {
		t.Fatalf("git from a banned address: err=%v\n%s", r.Err, r.Stderr)
	}
	expect(t, "API from an address banned on Git", f.do(req{path: "/user", token: f.aliceToken}), 200, "")
}

// A successful API authentication clears the address's count, so a client
// that mistypes now and then is never banned.
func TestSuccessfulAPIAuthenticationResetsTheFailureCount(t *testing.T) {
	f := lockoutFixture(t)
	for range 4 {
		for range lockoutAfter - 1 {
			expect(t, "wrong token", f.do(req{path: "/user", token: "glpat-guessedTokenNumber00x"}), 401, bodyUnauthorized)
		}
		expect(t, "valid token", f.do(req{path: "/user", token: f.aliceToken}), 200, "")
	}
}
