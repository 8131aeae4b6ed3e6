package main_test

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/smtptest"
	"github.com/gitgate/gitgate/internal/testdb"
)

// runWith runs the binary with extra environment variables.
func (c *cli) runWith(env []string, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(c.env(), env...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run gitgate: %v", err)
	}
	return result{out.String(), errb.String(), code}
}

func TestNotifyRunMailListAndMailRetryThroughTheBinary(t *testing.T) {
	for _, d := range testdb.Engines {
		t.Run(string(d), func(t *testing.T) {
			c := newCLI(t, d)
			rcv := smtptest.Start(t, smtptest.Options{})
			smtp := []string{"GITGATE_SMTP_URL=" + rcv.URL(), "GITGATE_EXTERNAL_URL=https://git.example.com"}
			inDays := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") }
			c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
			secret := strings.TrimSpace(c.must("token", "create", "--user", "alice", "--name", "laptop", "--scopes", "api", "--expires-at", inDays(3)))
			if out := c.must("settings", "set", "token_expiry_warning_days=7,30"); !strings.Contains(out, "token_expiry_warning_days=30,7\n") {
				t.Fatalf("settings set: %s", out)
			}

			out := c.must("notify", "run")
			for _, want := range []string{"Queued mail 1 to alice@example.com: Your personal access token will expire in 7 days or less (1 token)\n",
				"GITGATE_SMTP_URL is not set: the mail stays pending in the outbox"} {
				if !strings.Contains(out, want) {
					t.Fatalf("notify run printed\n%s\nwant %q", out, want)
				}
			}
			if out := c.must("notify", "run"); out != "Nothing to queue: no token or SSH key needs a mail now\n" {
				t.Fatalf("second notify run: %q", out)
			}
			list := c.must("mail", "list")
			lines := strings.Split(strings.TrimSpace(list), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID") || !strings.Contains(lines[1], "alice@example.com") ||
				!strings.Contains(lines[1], "Your personal access token will expire in 7 days or less") || !strings.Contains(lines[1], "pending") {
				t.Fatalf("mail list:\n%s", list)
			}
			if out := c.must("mail", "list", "--state", "sent"); strings.Count(out, "\n") != 1 {
				t.Fatalf("mail list --state sent shows messages:\n%s", out)
			}
			var js []map[string]any
			if err := json.Unmarshal([]byte(c.must("mail", "list", "--json")), &js); err != nil || len(js) != 1 || js[0]["state"] != "pending" ||
				js[0]["recipient"] != "alice@example.com" || !strings.HasPrefix(js[0]["message_id"].(string), "<gitgate.") {
				t.Fatalf("mail list --json: %v %v", js, err)
			}
			if r := c.run("mail", "list", "--state", "bogus"); r.code != 2 || !strings.Contains(r.stderr, "--state must be pending, sent or failed") {
				t.Fatalf("bad --state: %d %q", r.code, r.stderr)
			}

			// The server refuses it for good: failed, and shown so.
			rcv.Reject(550, "mailbox unavailable")
			r := c.runWith(smtp, "mail", "retry", "1")
			if r.code != 0 || !strings.Contains(r.stdout, "1 refused by the server") || !strings.Contains(r.stderr, "mail refused for good") {
				t.Fatalf("mail retry against a 550: %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			failed := c.must("mail", "list", "--state", "failed")
			if !strings.Contains(failed, "failed") || !strings.Contains(failed, "550") {
				t.Fatalf("mail list --state failed:\n%s", failed)
			}
			rcv.Reject(0, "")
			if out := c.runWith(smtp, "mail", "retry", "1"); out.code != 0 || !strings.Contains(out.stdout, "Sent 1 via smtp://") {
				t.Fatalf("mail retry: %+v", out)
			}
			got := rcv.Wait(1)
			if strings.Contains(string(got[0].Data), secret) {
				t.Fatal("the mail contains the token")
			}
			// Queued by a run without GITGATE_EXTERNAL_URL: the default.
			if p := smtptest.Parse(t, got[0].Data); !strings.Contains(p.Text, "http://127.0.0.1:8080/-/user_settings/personal_access_tokens") {
				t.Fatalf("the mail has no link to the Access tokens page:\n%s", p.Text)
			}
			if out := c.must("mail", "list", "--state", "sent"); !strings.Contains(out, "sent") || !strings.Contains(out, "alice@example.com") {
				t.Fatalf("mail list --state sent:\n%s", out)
			}
			if r := c.runWith(smtp, "mail", "retry", "1"); r.code != 1 || !strings.Contains(r.stderr, "mail 1 is sent") {
				t.Fatalf("retrying a sent mail: %d %q", r.code, r.stderr)
			}
			if r := c.run("mail", "retry", "99"); r.code != 1 || r.stderr != "gitgate: no mail with id 99\n" {
				t.Fatalf("mail retry 99: %d %q", r.code, r.stderr)
			}

			// With SMTP configured, notify run sends what it queued.
			c.must("user", "create", "--username", "bob", "--email", "bob@example.com")
			c.must("token", "create", "--user", "bob", "--name", "deploy", "--scopes", "read_repository", "--expires-at", inDays(20))
			r = c.runWith(smtp, "notify", "run")
			if r.code != 0 || !strings.Contains(r.stdout, "Queued mail 2 to bob@example.com: Your personal access token will expire in 30 days or less (1 token)") ||
				!strings.Contains(r.stdout, "Sent 1 via smtp://"+rcv.Addr()) {
				t.Fatalf("notify run with SMTP: %d\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			if got := rcv.Wait(2); got[1].To[0] != "bob@example.com" {
				t.Fatalf("second mail went to %v", got[1].To)
			}
		})
	}
}

func TestBadSMTPSettingsStopEveryCommandWithoutShowingThePassword(t *testing.T) {
	c := newCLI(t, "sqlite")
	for _, env := range []string{"GITGATE_SMTP_URL=smtpx://u:hunter2pw@mail.example.com", "GITGATE_SMTP_URL=smtp://u:hunter2pw@mail.example.com?tls=sometimes",
		"GITGATE_MAIL_FROM=not an address",
		// Unencoded "/", "?" or "#" in a password: the rest of it would be
		// read as a path, a parameter or a fragment.
		"GITGATE_SMTP_URL=smtp://u:/hunter2pw@mail.example.com:587", "GITGATE_SMTP_URL=smtp://u:?hunter2pw@mail.example.com",
		"GITGATE_SMTP_URL=smtp://u:12#hunter2pw@mail.example.com", "GITGATE_SMTP_URL=smtp://u:12?tls=hunter2pw@mail.example.com"} {
		r := c.runWith([]string{env}, "mail", "list")
		if r.code != 2 || strings.Contains(r.stderr, "hunter2pw") || strings.Count(r.stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, %q", env, r.code, r.stderr)
		}
	}
}
