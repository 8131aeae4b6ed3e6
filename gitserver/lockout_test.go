package gitserver_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

// testClock is a clock tests move by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// from is Basic credentials sent through the trusted local proxy on
// behalf of client address 203.0.113.i.
func from(i int, user, secret string) http.Header {
	h := basic(user, secret)
	h.Set("X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i))
	return h
}

// TestTenWrongPasswordsLockTheAccount follows GitLab's lockout: ten wrong
// passwords in a row, from ten different addresses, lock the account's
// password for ten minutes; the locked account answers exactly as a wrong
// password does; tokens keep working; an admin unlocks it.
func TestTenWrongPasswordsLockTheAccount(t *testing.T) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) {
			clk := &testClock{t: time.Now().UTC()}
			f := newFixture(t, d, func(c *server.Config) {
				c.TrustedProxies = []string{"127.0.0.1", "::1"}
				c.Now = clk.now
			})
			const repo = "grp/private"
			addr := 0
			wrong := func(n int) {
				t.Helper()
				for range n {
					addr++
					checkAnswer(t, f, repo, fetch, from(addr, "developer", "wrong-password-"+strconv.Itoa(addr)), denied)
				}
			}
			right := func() (*http.Response, string) {
				addr++
				return f.do(t, "GET", "/"+repo+".git/info/refs?service="+fetch, from(addr, "developer", password), nil)
			}
			mustWork := func(when string) {
				t.Helper()
				if resp, body := right(); resp.StatusCode != 200 {
					t.Fatalf("%s: the right password got %d %q", when, resp.StatusCode, body)
				}
			}
			mustBeLocked := func(when string) {
				t.Helper()
				wantResp, wantBody := f.do(t, "GET", "/"+repo+".git/info/refs?service="+fetch, from(250, "developer", "another-wrong-one"), nil)
				resp, body := right()
				if resp.StatusCode != 401 || body != wantBody || resp.Header.Get("WWW-Authenticate") != wantResp.Header.Get("WWW-Authenticate") {
					t.Fatalf("%s: the right password on a locked account got %d %q, want what a wrong password gets: %d %q",
						when, resp.StatusCode, body, wantResp.StatusCode, wantBody)
				}
			}
			apiUser := func(token string) string {
				t.Helper()
				h := http.Header{"Private-Token": {token}}
				_, body := f.do(t, "GET", "/api/v4/users/"+strconv.FormatInt(f.users["developer"].ID, 10), h, nil)
				return body
			}
			adminAPI := f.tokenFor(t, "boss", nil, auth.ScopeAPI)
			userAPI := f.tokenFor(t, "outsider", nil, auth.ScopeAPI)

			wrong(auth.MaxFailedLogins - 1)
			mustWork("after nine wrong passwords")
			// The success started the count again.
			wrong(auth.MaxFailedLogins - 1)
			mustWork("after a success and nine more wrong passwords")

			wrong(auth.MaxFailedLogins)
			mustBeLocked("after ten wrong passwords")
			checkAnswer(t, f, repo, fetch, basic("x", f.tokens["developer"]), ok)
			if _, r := f.clone(t, f.url("developer", repo)); r.Err != nil {
				t.Fatalf("a token of a locked account cannot clone: %v\n%s", r.Err, r.Stderr)
			}
			if body := apiUser(adminAPI); !strings.Contains(body, `"locked":true`) {
				t.Errorf("an admin does not see the lock: %s", body)
			}
			if body := apiUser(userAPI); !strings.Contains(body, `"locked":false`) {
				t.Errorf("another user sees the lock: %s", body)
			}

			uid := strconv.FormatInt(f.users["developer"].ID, 10)
			resp, body := f.do(t, "POST", "/api/v4/users/"+uid+"/unlock", http.Header{"Private-Token": {userAPI}}, nil)
			if resp.StatusCode != 403 {
				t.Fatalf("a non-admin unlocking: %d %s", resp.StatusCode, body)
			}
			mustBeLocked("after a non-admin tried to unlock")
			resp, body = f.do(t, "POST", "/api/v4/users/"+uid+"/unlock", http.Header{"Private-Token": {adminAPI}}, nil)
			if resp.StatusCode != 201 || body != "true" {
				t.Fatalf("admin unlock: %d %s", resp.StatusCode, body)
			}
			mustWork("after the admin unlocked the account")
			if body := apiUser(adminAPI); !strings.Contains(body, `"locked":false`) {
				t.Errorf("still shown locked after unlock: %s", body)
			}

			wrong(auth.MaxFailedLogins)
			mustBeLocked("locked again")
			clk.advance(auth.AccountLockDuration - time.Second)
			mustBeLocked("a second before the lock expires")
			clk.advance(time.Second)
			mustWork("once the lock expired")
			// An expired lock starts the count from zero.
			wrong(auth.MaxFailedLogins - 1)
			mustWork("nine wrong passwords after the lock expired")
		})
	}
}

// The count lives in the database: wrong passwords sent at once to two
// replicas sharing one PostgreSQL are all counted, and the lock holds on
// both.
func TestAccountLockoutCountsAcrossReplicas(t *testing.T) {
	t.Parallel()
	allow := func(c *server.Config) {
		noLockout(c)
		// Replicas share one secret key, as they must in production.
		c.SecretKeyBase = "replica-test-secret-key-base-0123456789abcdef"
		// No attempt may be turned away as busy: all must be counted.
		c.PasswordQueueTimeout = 5 * time.Minute
	}
	a := testenv.Start(t, testenv.Options{Dialect: store.Postgres, Configure: allow})
	b := testenv.Start(t, testenv.Options{Dialect: store.Postgres, Configure: func(c *server.Config) {
		allow(c)
		c.DatabaseURL = a.Server.Config().DatabaseURL
	}})
	ctx := context.Background()
	alice := a.User("alice", testenv.UserOpts{Password: password})
	a.Project("alice/pub", access.Public)
	get := func(e *testenv.Env, secret string) int {
		req, _ := http.NewRequest("GET", e.URL+"/alice/pub.git/info/refs?service="+fetch, nil)
		req.SetBasicAuth("alice", secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return -1
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	const each = auth.MaxFailedLogins
	var wg sync.WaitGroup
	for i := range 2 * each {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := a
			if i%2 == 1 {
				e = b
			}
			if code := get(e, fmt.Sprintf("wrong-password-%d", i)); code != 401 {
				t.Errorf("wrong password: %d", code)
			}
		}()
	}
	wg.Wait()
	u, err := a.Server.Auth.User(ctx, alice.ID)
	if err != nil {
		t.Fatal(err)
	}
	if u.FailedAttempts != 2*each || !a.Server.Auth.Locked(u) {
		t.Fatalf("after %d concurrent wrong passwords on two replicas: %d counted, locked %v", 2*each, u.FailedAttempts, a.Server.Auth.Locked(u))
	}
	for name, e := range map[string]*testenv.Env{"a": a, "b": b} {
		if code := get(e, password); code != 401 {
			t.Errorf("replica %s let the right password into a locked account: %d", name, code)
		}
	}
}
