package server_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/internal/testenv"
	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
	"github.com/gitgate/gitgate/store"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func readiness(t *testing.T, base string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(base + "/-/readiness")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestReadinessFailsWhileTheDatabaseIsDown(t *testing.T) {
	url := testdb.URL(t, store.Postgres)
	proxy := testenv.StartProxy(t)
	via := proxy.Via(url)
	env := testenv.Start(t, testenv.Options{Dialect: store.Postgres, Configure: func(c *server.Config) { c.DatabaseURL = via }})
	if code, _ := readiness(t, env.URL); code != http.StatusOK {
		t.Fatalf("readiness with the database up: %d", code)
	}
	proxy.Break()
	code, body := readiness(t, env.URL)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readiness with the database down: %d, want 503", code)
	}
	if db, _ := body["database"].(map[string]any); db["status"] != "failed" {
		t.Fatalf("readiness body does not name the database: %v", body)
	}
	proxy.Restore()
	if code, _ := readiness(t, env.URL); code != http.StatusOK {
		t.Fatalf("readiness after the database came back: %d", code)
	}
}

func TestReadinessFailsWhenRepositoryStorageIsUnusable(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	root := env.Server.Config().RepoRoot()
	if err := os.RemoveAll(root); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(root, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, body := readiness(t, env.URL)
	if code != http.StatusServiceUnavailable {
		t.Fatalf("readiness with broken storage: %d, want 503", code)
	}
	if st, _ := body["storage"].(map[string]any); st["status"] != "failed" {
		t.Fatalf("readiness body does not name the storage: %v", body)
	}
}

func TestHealthAndMetricsAnswer(t *testing.T) {
	env := testenv.Start(t, testenv.Options{})
	resp, err := http.Get(env.URL + "/-/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("X-Request-Id") == "" {
		t.Fatalf("health: %d, request id %q", resp.StatusCode, resp.Header.Get("X-Request-Id"))
	}
	resp, err = http.Get(env.URL + "/-/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 1<<16)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if !strings.Contains(sb.String(), `gitgate_http_requests_total{code="200",handler="health"} 1`) {
		t.Fatalf("metrics do not count the health request:\n%.2000s", sb.String())
	}
}

func TestPasswordSettingsComeFromTheEnvironmentAndBadOnesAreRefused(t *testing.T) {
	var c server.Config
	env := map[string]string{"GITGATE_PASSWORD_CONCURRENCY": "3", "GITGATE_PASSWORD_QUEUE_TIMEOUT": "250ms"}
	if err := c.FromEnv(func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if c.PasswordConcurrency != 3 || c.PasswordQueueTimeout != 250*time.Millisecond {
		t.Fatalf("read %d, %s", c.PasswordConcurrency, c.PasswordQueueTimeout)
	}
	if d := (server.Config{}).Defaults(); d.PasswordConcurrency != runtime.NumCPU() || d.PasswordQueueTimeout != 2*time.Second {
		t.Fatalf("defaults %d, %s", d.PasswordConcurrency, d.PasswordQueueTimeout)
	}
	env["GITGATE_PASSWORD_CONCURRENCY"] = "many"
	if err := c.FromEnv(func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "GITGATE_PASSWORD_CONCURRENCY") {
		t.Fatalf("non-number accepted: %v", err)
	}
	for _, bad := range []server.Config{{PasswordConcurrency: -1}, {PasswordQueueTimeout: -time.Second}} {
		bad.DataDir = t.TempDir()
		_, err := server.New(context.Background(), bad, logging.Discard())
		if err == nil || !strings.Contains(err.Error(), "GITGATE_PASSWORD_") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want one line naming the setting", bad, err)
		}
	}
}
