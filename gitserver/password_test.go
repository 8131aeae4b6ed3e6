package gitserver_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/gitserver"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
	"github.com/gitgate/gitgate/throttle"
)

// flood sends n concurrent info/refs requests for repo, each on its own
// connection with credentials cred(i), and returns how many got each
// status code.
func flood(t *testing.T, f *fixture, repo string, n int, cred func(i int) http.Header) map[int]int {
	t.Helper()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("GET", f.URL+"/"+repo+".git/info/refs?service="+fetch, nil)
			for k, v := range cred(i) {
				req.Header[k] = v
			}
			client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
			<-start
			code := -1
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			if resp, err := client.Do(req.WithContext(ctx)); err == nil {
				resp.Body.Close()
				code = resp.StatusCode
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return codes
}

// A burst of wrong passwords from one address reaches the password hash
// no more often than the address lockout allows, and never more at once
// than the concurrency bound: the attempt is counted before the hash, in
// one step with the ban check.
func TestPasswordFloodHashesNoMoreThanTheLockoutAllows(t *testing.T) {
	const threshold, bound = 5, 2
	f := newFixture(t, store.SQLite, func(c *server.Config) {
		c.AuthLockoutFailures = threshold
		c.PasswordConcurrency = bound
		// Long enough that no request is turned away as busy: every one
		// is either hashed or refused by the lockout.
		c.PasswordQueueTimeout = 5 * time.Minute
	})
	before := f.Server.Auth.PasswordStats()
	codes := flood(t, f, "grp/public", 100, func(i int) http.Header { return basic("developer", fmt.Sprintf("wrong-password-%d", i)) })
	stats := f.Server.Auth.PasswordStats()
	if got := stats.Verified - before.Verified; got != threshold {
		t.Errorf("%d password hashes computed for 100 wrong passwords, want exactly the lockout threshold %d (answers %v)", got, threshold, codes)
	}
	if stats.MaxInFlight > bound {
		t.Errorf("%d password hashes ran at once, bound is %d", stats.MaxInFlight, bound)
	}
	if codes[401] != threshold || codes[200] != 0 || codes[-1] != 0 || codes[401]+codes[403]+codes[503] != 100 {
		t.Errorf("answers %v: want %d × 401 and the rest 403 (banned) or 503 (attempts still being checked)", codes, threshold)
	}
	// The address is banned now, whatever it presents.
	resp, body := f.do(t, "GET", "/grp/public.git/info/refs?service="+fetch, basic("developer", password), nil)
	if resp.StatusCode != 403 || strings.TrimSpace(body) != throttle.Message {
		t.Fatalf("after the flood, the right password got %d %q, want the ban", resp.StatusCode, body)
	}
	if got := f.Server.Auth.PasswordStats().Verified - before.Verified; got != threshold {
		t.Errorf("the banned address's request reached the hash (%d hashes)", got)
	}
	metrics := scrapeMetrics(t, f)
	for _, m := range []string{
		fmt.Sprintf("gitgate_password_verifications_total %d", stats.Verified),
		"gitgate_password_verifications_in_flight 0",
		fmt.Sprintf("gitgate_password_verifications_in_flight_max %d", stats.MaxInFlight),
	} {
		if !strings.Contains(metrics, "\n"+m+"\n") {
			t.Errorf("metrics lack %q", m)
		}
	}
}

// Without a lockout in the way, every password is hashed, never more at
// once than the bound; unknown users, users without a password and bots
// cost a hash too.
func TestPasswordVerificationsRunAtMostTheBoundAtOnce(t *testing.T) {
	const bound = 2
	f := newFixture(t, store.SQLite, func(c *server.Config) {
		noLockout(c)
		c.PasswordConcurrency = bound
		c.PasswordQueueTimeout = 5 * time.Minute
	})
	f.User("tokenonly", testenv.UserOpts{}) // no password, not a bot
	users := []string{"developer", "nosuchuser", "bot", "tokenonly", "reporter"}
	before := f.Server.Auth.PasswordStats()
	const n = 30
	codes := flood(t, f, "grp/public", n, func(i int) http.Header { return basic(users[i%len(users)], fmt.Sprintf("wrong-password-%d", i)) })
	stats := f.Server.Auth.PasswordStats()
	if codes[401] != n {
		t.Errorf("answers %v, want %d × 401", codes, n)
	}
	if got := stats.Verified - before.Verified; got != n {
		t.Errorf("%d hashes for %d passwords of real, unknown and password-less users, want one each", got, n)
	}
	if stats.MaxInFlight > bound || stats.MaxInFlight < 1 {
		t.Errorf("at most %d hashes ran at once, want between 1 and the bound %d", stats.MaxInFlight, bound)
	}
}

// When every verification slot stays busy past the queue timeout, a
// password gets 503 with Retry-After — not 401 — and counts neither
// against the address nor against the account.
func TestBusyPasswordCheckIs503WithRetryAfterAndNotAFailure(t *testing.T) {
	const threshold = 2
	f := newFixture(t, store.SQLite, func(c *server.Config) {
		c.AuthLockoutFailures = threshold
		c.PasswordConcurrency = 1
		c.PasswordQueueTimeout = 50 * time.Millisecond
	})
	// Hold the only slot with a verification of our own: its attempt
	// hook runs inside the slot and waits until we let go.
	holding, release := make(chan struct{}), make(chan struct{})
	held := make(chan error, 1)
	go func() {
		_, err := f.Server.Auth.Authenticate(context.Background(), auth.Credential{Kind: auth.CredGitBasic,
			Username: "outsider", Secret: "held-password",
			CountAttempt: func() error { close(holding); <-release; return errors.New("released by the test") }})
		held <- err
	}()
	<-holding
	// More busy answers than either lockout (the address's, the
	// account's) would tolerate as failures.
	const busy = auth.MaxFailedLogins + 1
	before := f.Server.Auth.PasswordStats()
	for i := range busy {
		resp, body := f.do(t, "GET", "/grp/private.git/info/refs?service="+fetch, basic("developer", fmt.Sprintf("wrong-%d", i)), nil)
		if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || strings.TrimSpace(body) != gitserver.MsgBusy {
			t.Fatalf("busy answer %d: %d, Retry-After %q, %q; want 503 with Retry-After", i, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
		if resp.Header.Get("WWW-Authenticate") != "" {
			t.Fatal("a busy answer asks for other credentials")
		}
	}
	after := f.Server.Auth.PasswordStats()
	if after.Verified != before.Verified || after.Busy-before.Busy != busy {
		t.Errorf("busy answers: %d hashes computed, %d counted busy", after.Verified-before.Verified, after.Busy-before.Busy)
	}
	close(release)
	if err := <-held; err == nil || !strings.Contains(err.Error(), "released by the test") {
		t.Fatalf("held verification ended with %v", err)
	}
	u, err := f.Server.Auth.UserByUsername(context.Background(), "developer")
	if err != nil {
		t.Fatal(err)
	}
	if u.FailedAttempts != 0 || u.LockedAt != nil {
		t.Errorf("busy answers counted against the account: %d failed attempts, locked at %v", u.FailedAttempts, u.LockedAt)
	}
	// More busy answers than the address threshold, yet not banned, and
	// the account not locked: the right password works.
	checkAnswer(t, f, "grp/private", fetch, basic("developer", password), ok)
	checkAnswer(t, f, "grp/private", fetch, basic("developer", "wrong-now"), denied)
}

func scrapeMetrics(t *testing.T, f *fixture) string {
	t.Helper()
	_, body := f.do(t, "GET", "/-/metrics", nil, nil)
	return body
}
