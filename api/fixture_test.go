package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	gitlab "gitlab.com/gitlab-org/api/client-go"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/store"
)

// fixture is a running server with an admin and a regular user.
type fixture struct {
	t          testing.TB
	env        *testenv.Env
	admin      *auth.User
	adminToken string // api + sudo
	alice      *auth.User
	aliceToken string // api
}

func newFixture(t testing.TB, o testenv.Options) *fixture {
	t.Helper()
	env := testenv.Start(t, o)
	f := &fixture{t: t, env: env}
	f.admin = env.User("boss", testenv.UserOpts{Admin: true, Password: "boss-password-1"})
	f.adminToken = env.Token(f.admin, auth.ScopeAPI, auth.ScopeSudo)
	f.alice = env.User("alice", testenv.UserOpts{Password: "alice-password-1"})
	f.aliceToken = env.Token(f.alice, auth.ScopeAPI)
	return f
}

// dialects runs fn on SQLite and PostgreSQL.
func dialects(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		t.Run(string(d), func(t *testing.T) { fn(t, newFixture(t, testenv.Options{Dialect: d})) })
	}
}

func (f *fixture) ctx() context.Context { return context.Background() }

// client is GitLab's own Go client against this server.
func (f *fixture) client(token string) *gitlab.Client {
	f.t.Helper()
	c, err := gitlab.NewClient(token, gitlab.WithBaseURL(f.env.URL+"/api/v4"), gitlab.WithoutRetries())
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// tokenFor creates a token with options.
func (f *fixture) tokenFor(u *auth.User, in auth.NewToken) *auth.CreatedToken {
	f.t.Helper()
	in.UserID = u.ID
	if in.Name == "" {
		in.Name = "t"
	}
	c, err := f.env.Server.Auth.CreateToken(f.ctx(), in)
	if err != nil {
		f.t.Fatalf("create token: %v", err)
	}
	return c
}

// resp is a raw HTTP answer.
type resp struct {
	status int
	header http.Header
	body   string
}

func (r resp) json(t testing.TB) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("body is not JSON: %v: %q", err, r.body)
	}
	return v
}

// obj decodes a JSON object body.
func (r resp) obj(t testing.TB) map[string]any {
	t.Helper()
	m, ok := r.json(t).(map[string]any)
	if !ok {
		t.Fatalf("body is not a JSON object: %q", r.body)
	}
	return m
}

// req describes a raw request.
type req struct {
	method, path, token string
	body                string
	contentType         string
	header              map[string]string
}

func (f *fixture) do(q req) resp {
	f.t.Helper()
	if q.method == "" {
		q.method = http.MethodGet
	}
	var body io.Reader
	if q.body != "" {
		body = strings.NewReader(q.body)
	}
	hr, err := http.NewRequest(q.method, f.env.URL+"/api/v4"+q.path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if q.token != "" {
		hr.Header.Set("PRIVATE-TOKEN", q.token)
	}
	if q.body != "" {
		ct := q.contentType
		if ct == "" {
			ct = "application/json"
		}
		hr.Header.Set("Content-Type", ct)
	}
	for k, v := range q.header {
		hr.Header.Set(k, v)
	}
	return f.send(hr)
}

func (f *fixture) send(hr *http.Request) resp {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := http.DefaultClient.Do(hr.WithContext(ctx))
	if err != nil {
		f.t.Fatalf("%s %s: %v", hr.Method, hr.URL, err)
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return resp{status: r.StatusCode, header: r.Header, body: string(b)}
}

// expect checks a status and, when want is not empty, the exact JSON body.
func expect(t testing.TB, what string, r resp, status int, want string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.status, status, r.body)
	}
	if want == "" {
		return
	}
	var got, exp any
	if err := json.Unmarshal([]byte(r.body), &got); err != nil {
		t.Fatalf("%s: body is not JSON: %q", what, r.body)
	}
	if err := json.Unmarshal([]byte(want), &exp); err != nil {
		t.Fatalf("bad expectation %q: %v", want, err)
	}
	g, _ := json.Marshal(got)
	e, _ := json.Marshal(exp)
	if string(g) != string(e) {
		t.Fatalf("%s: body %s, want %s", what, g, e)
	}
}
