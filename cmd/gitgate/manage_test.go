package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// These tests drive the operator's commands (docs/cli.md) through the
// built binary: listing, showing and cleaning up everything the CLI
// creates, --json equal to the API's objects, and bad input.

// onDisk is the repository directory `repo show` reports.
func (c *cli) onDisk(path string) string {
	c.t.Helper()
	m := regexp.MustCompile(`(?m)^On disk:\s+(\S+)$`).FindStringSubmatch(c.must("repo", "show", path))
	if m == nil {
		c.t.Fatalf("repo show %s tells no directory", path)
	}
	return m[1]
}

func exists(path string) bool { _, err := os.Stat(path); return err == nil }

// seed makes alice (who owns alice/proj and is the only owner of the
// group team, holding team/app), bob (a developer of alice/proj), tokens
// and a key.
func (c *cli) seed() {
	c.t.Helper()
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com", "--name", "Alice Liddell")
	c.must("user", "create", "--username", "bob", "--email", "bob@example.com", "--admin")
	c.must("group", "create", "team", "--visibility", "internal")
	c.must("member", "add", "team", "alice", "--access", "owner")
	c.must("repo", "create", "team/app", "--visibility", "internal")
	c.must("repo", "create", "alice/proj")
	c.must("member", "add", "alice/proj", "bob", "--access", "developer")
	c.must("token", "create", "--user", "alice", "--name", "laptop", "--scopes", "api", "--expires-at", "2099-01-01")
	c.must("token", "create", "--user", "alice", "--name", "old", "--scopes", "read_repository", "--expires-at", "2020-01-01", "--allow-past-expiry")
	c.must("token", "create", "--user", "bob", "--name", "ci", "--scopes", "read_repository", "--expires-at", "2098-01-01")
	c.must("key", "add", "--user", "alice", "--title", "laptop", "--key", testKey)
}

// testKey is an ed25519 public key (its private half is not needed).
const testKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"

// table reads aligned columns into rows of fields, header first.
func table(out string) [][]string {
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		rows = append(rows, regexp.MustCompile(`\s{2,}`).Split(strings.TrimSpace(line), -1))
	}
	return rows
}

func TestOperatorListsShowsAndCleansUpWhatTheCLICreates(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.seed()

		users := table(c.must("user", "list"))
		if want := []string{"ID", "USERNAME", "NAME", "EMAIL", "STATE", "ROLES", "CREATED"}; !reflect.DeepEqual(users[0], want) {
			t.Fatalf("user list header %v", users[0])
		}
		if len(users) != 3 || users[1][1] != "alice" || users[1][2] != "Alice Liddell" || users[2][5] != "admin" {
			t.Errorf("user list:\n%v", users)
		}
		if got := table(c.must("user", "list", "--admins")); len(got) != 2 || got[1][1] != "bob" {
			t.Errorf("user list --admins: %v", got)
		}
		if got := table(c.must("user", "list", "--search", "LIDDELL")); len(got) != 2 || got[1][1] != "alice" {
			t.Errorf("user list --search: %v", got)
		}
		c.must("user", "block", "bob")
		if got := table(c.must("user", "list", "--blocked")); len(got) != 2 || got[1][1] != "bob" || got[1][4] != "blocked" {
			t.Errorf("user list --blocked: %v", got)
		}
		c.must("user", "unblock", "bob")
		show := c.must("user", "show", "alice")
		for _, want := range []string{"Username:      alice\n", "State:         active\n", "Active tokens: 1\n", "SSH keys:      1\n", "Projects:      1\n"} {
			if !strings.Contains(show, want) {
				t.Errorf("user show lacks %q:\n%s", want, show)
			}
		}

		tokens := table(c.must("token", "list"))
		if len(tokens) != 4 || tokens[2][2] != "old" || tokens[2][4] != "expired" {
			t.Errorf("token list:\n%v", tokens)
		}
		if got := table(c.must("token", "list", "--state", "active", "--expires-before", "2098-06-01")); len(got) != 2 || got[1][2] != "ci" {
			t.Errorf("token list --state active --expires-before: %v", got)
		}
		if got := table(c.must("token", "list", "--state", "inactive")); len(got) != 2 || got[1][2] != "old" {
			t.Errorf("token list --state inactive: %v", got)
		}
		if show := c.must("token", "show", "1"); !strings.Contains(show, "Name:        laptop\n") || !strings.Contains(show, "Expires:     2099-01-01\n") {
			t.Errorf("token show:\n%s", show)
		}

		keys := table(c.must("key", "list", "--user", "alice"))
		if want := []string{"ID", "TITLE", "FINGERPRINT", "CREATED", "EXPIRES", "LAST USED"}; !reflect.DeepEqual(keys[0], want) ||
			len(keys) != 2 || !strings.HasPrefix(keys[1][2], "SHA256:") || keys[1][4] != "never" {
			t.Errorf("key list --user:\n%v", keys)
		}
		if all := table(c.must("key", "list")); all[0][1] != "USER" || all[1][1] != "alice" {
			t.Errorf("key list:\n%v", all)
		}
		if got := table(c.must("group", "list")); len(got) != 2 || got[1][1] != "team" || got[1][3] != "internal" || got[1][4] != "1" {
			t.Errorf("group list: %v", got)
		}
		if got := table(c.must("repo", "list", "--namespace", "team")); len(got) != 2 || got[1][1] != "team/app" {
			t.Errorf("repo list --namespace: %v", got)
		}
		if got := table(c.must("member", "list", "alice/proj")); len(got) != 3 || got[1][0] != "alice" || got[1][2] != "owner (50)" || got[2][0] != "bob" {
			t.Errorf("member list: %v", got)
		}

		// Incidents: every token of a user at once.
		if out := c.must("token", "revoke", "--user", "alice", "--all"); out != "Revoked 2 tokens of alice\n" {
			t.Errorf("token revoke --all printed %q", out)
		}
		if got := table(c.must("token", "list", "--user", "alice", "--state", "active")); len(got) != 1 {
			t.Errorf("alice still has active tokens: %v", got)
		}
		if got := table(c.must("token", "list", "--user", "bob", "--state", "active")); len(got) != 2 {
			t.Errorf("bob's token went with alice's: %v", got)
		}

		// Clean up: key, member, rename, visibility, repository, group, user.
		if out := c.must("key", "delete", "1"); !strings.HasPrefix(out, "Deleted key 1 (SHA256:") {
			t.Errorf("key delete printed %q", out)
		}
		if got := table(c.must("key", "list")); len(got) != 1 {
			t.Errorf("a deleted key is listed: %v", got)
		}
		c.must("member", "remove", "alice/proj", "bob")
		if got := table(c.must("member", "list", "alice/proj")); len(got) != 2 {
			t.Errorf("a removed member is listed: %v", got)
		}
		dir := c.onDisk("alice/proj")
		if out := c.must("repo", "rename", "alice/proj", "tool"); out != "Renamed alice/proj to alice/tool\n" {
			t.Errorf("repo rename printed %q", out)
		}
		if c.onDisk("alice/tool") != dir || !exists(dir) {
			t.Error("a rename moved the repository on disk")
		}
		c.must("repo", "visibility", "alice/tool", "public")
		if got := table(c.must("repo", "list", "--namespace", "alice")); got[1][1] != "alice/tool" || got[1][2] != "public" {
			t.Errorf("after rename and visibility: %v", got)
		}
		if out := c.must("repo", "delete", "alice/tool", "--yes"); out != "Deleted repository alice/tool\n" {
			t.Errorf("repo delete printed %q", out)
		}
		if exists(dir) {
			t.Error("repo delete left the repository on disk")
		}
		appDir := c.onDisk("team/app")
		if r := c.run("group", "delete", "team"); r.code != 1 || !strings.Contains(r.stderr, "group team holds 1 project") || !strings.Contains(r.stderr, "(--with-projects)") {
			t.Errorf("deleting a group that holds a project: %+v", r)
		}
		if out := c.must("group", "delete", "team", "--with-projects", "--yes"); out != "Deleted group team and the repositories team/app\n" {
			t.Errorf("group delete printed %q", out)
		}
		if exists(appDir) {
			t.Error("group delete left its repository on disk")
		}
		c.must("repo", "create", "alice/again")
		againDir := c.onDisk("alice/again")
		if r := c.run("user", "delete", "alice"); r.code != 1 || !strings.Contains(r.stderr, "user alice owns 1 project") {
			t.Errorf("deleting a user who owns a project: %+v", r)
		}
		if out := c.must("user", "delete", "alice", "--with-projects", "--yes"); out != "Deleted user alice and the repositories alice/again\n" {
			t.Errorf("user delete printed %q", out)
		}
		if exists(againDir) {
			t.Error("user delete left the repository on disk")
		}
		if got := table(c.must("user", "list")); len(got) != 2 || got[1][1] != "bob" {
			t.Errorf("users left: %v", got)
		}
		if out := c.must("user", "delete", "bob"); out != "Deleted user bob\n" {
			t.Errorf("user delete printed %q", out)
		}
		for _, args := range [][]string{{"user", "list"}, {"token", "list"}, {"key", "list"}, {"group", "list"}, {"repo", "list"}} {
			if got := table(c.must(args...)); len(got) != 1 {
				t.Errorf("gitgate %v after cleaning up everything: %v", args, got)
			}
		}
	})
}

func TestUserPasswordAndAdminFromTheCLI(t *testing.T) {
	c := newCLI(t, store.SQLite)
	base := c.serveBinary(t)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	c.must("repo", "create", "alice/proj")
	if r := c.runIn("a-new-long-password\n", "user", "password", "alice", "--password-stdin"); r.code != 0 || r.stdout != "Password of alice changed\n" {
		t.Fatalf("user password: %+v", r)
	}
	if code, stderr := lsRemoteAs(t, base, "alice", "a-new-long-password", "alice/proj"); code != 0 {
		t.Fatalf("the new password does not work: %s", stderr)
	}
	var u map[string]any
	if err := json.Unmarshal([]byte(c.must("user", "show", "alice", "--json")), &u); err != nil || u["is_admin"] != false {
		t.Fatalf("user show --json: %v %v", u, err)
	}
	if out := c.must("user", "admin", "alice", "--on"); out != "User alice is now an administrator\n" {
		t.Errorf("user admin --on printed %q", out)
	}
	_ = json.Unmarshal([]byte(c.must("user", "show", "alice", "--json")), &u)
	if u["is_admin"] != true {
		t.Errorf("after admin --on: %v", u["is_admin"])
	}
	c.must("user", "admin", "alice", "--off")
	_ = json.Unmarshal([]byte(c.must("user", "show", "alice", "--json")), &u)
	if u["is_admin"] != false {
		t.Errorf("after admin --off: %v", u["is_admin"])
	}
}

// apiGet is the JSON of a GET of the API with a token.
func apiGet(t *testing.T, base, token, path string) any {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, base+"/api/v4"+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s %v", path, resp.StatusCode, b, err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func decode(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, s)
	}
	return v
}

// The CLI's --json prints the very objects a real API answers for the
// same things, field for field, on both databases.
func TestJSONOutputIsWhatTheAPIAnswers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		base := c.serveBinary(t)
		c.seed()
		c.must("group", "create", "team/sub", "--name", "Sub team")
		c.must("user", "block", "bob")
		admin := strings.TrimSpace(c.must("token", "create", "--user", "root", "--name", "admin", "--scopes", "api", "--expires-at", "2099-01-01"))
		alice := decode(t, c.must("user", "show", "alice", "--json")).(map[string]any)
		id := fmtNumber
		aliceID := id(alice["id"])
		projectID := id(decode(t, c.must("repo", "show", "alice/proj", "--json")).(map[string]any)["id"])

		// GET /projects/:id adds the caller's own permissions, which an
		// operator (no user) does not have.
		withoutPermissions := func(v any) any {
			delete(v.(map[string]any), "permissions")
			return v
		}
		rows := []struct {
			args []string
			api  string
			fix  func(any) any
		}{
			{[]string{"user", "show", "alice", "--json"}, "/users/" + aliceID, nil},
			{[]string{"user", "list", "--json"}, "/users", nil},
			{[]string{"user", "list", "--blocked", "--json"}, "/users?blocked=true", nil},
			{[]string{"token", "show", "1", "--json"}, "/personal_access_tokens/1", nil},
			{[]string{"token", "list", "--user", "alice", "--json"}, "/personal_access_tokens?user_id=" + aliceID, nil},
			{[]string{"token", "list", "--user", "alice", "--state", "active", "--json"}, "/personal_access_tokens?state=active&user_id=" + aliceID, nil},
			{[]string{"key", "list", "--user", "alice", "--json"}, "/users/" + aliceID + "/keys", nil},
			{[]string{"repo", "show", "alice/proj", "--json"}, "/projects/" + projectID, withoutPermissions},
			{[]string{"repo", "list", "--json"}, "/projects", nil},
			{[]string{"member", "list", "alice/proj", "--json"}, "/projects/alice%2Fproj/members", nil},
			// The CLI lists groups as a tree, by full path; the API's
			// default order is GitLab's, by name.
			{[]string{"group", "list", "--json"}, "/groups?order_by=path", nil},
		}
		for _, r := range rows {
			got := decode(t, c.must(r.args...))
			want := apiGet(t, base, admin, r.api)
			if r.fix != nil {
				want = r.fix(want)
			}
			if !reflect.DeepEqual(got, want) {
				g, _ := json.Marshal(got)
				w, _ := json.Marshal(want)
				t.Errorf("gitgate %s prints\n%s\nbut GET %s answers\n%s", strings.Join(r.args, " "), g, r.api, w)
			}
		}
	})
}

func fmtNumber(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestBadInputToTheOperatorsCommandsChangesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.seed()
		snapshot := func() string {
			var b strings.Builder
			for _, args := range [][]string{{"user", "list", "--json"}, {"token", "list", "--json"}, {"key", "list", "--json"},
				{"group", "list", "--json"}, {"repo", "list", "--json"}, {"member", "list", "alice/proj", "--json"}, {"member", "list", "team", "--json"}} {
				b.WriteString(c.must(args...))
			}
			return b.String()
		}
		before := snapshot()
		dirs := []string{c.onDisk("alice/proj"), c.onDisk("team/app")}
		rows := []struct {
			args  []string
			stdin string
			code  int
			want  string
		}{
			{[]string{"user", "show", "nobody"}, "", 1, `no user named "nobody"`},
			{[]string{"user", "show"}, "", 2, "usage: gitgate user show USERNAME"},
			{[]string{"user", "delete", "alice"}, "", 1, "only owner of group team"},
			{[]string{"user", "delete", "alice", "--hard-delete"}, "", 2, "without --yes"},
			{[]string{"user", "delete", "nobody"}, "", 1, `no user named "nobody"`},
			{[]string{"user", "admin", "alice"}, "", 2, "usage: gitgate user admin USERNAME (--on | --off)"},
			{[]string{"user", "admin", "alice", "--on", "--off"}, "", 2, "usage: gitgate user admin"},
			{[]string{"user", "password", "alice"}, "", 2, "no password: pass it on standard input with --password-stdin"},
			{[]string{"user", "password", "alice", "--password-stdin"}, "", 1, "no password on standard input"},
			{[]string{"user", "password", "alice", "--password-stdin"}, "short\n", 1, "too short"},
			{[]string{"user", "password", "nobody", "--password-stdin"}, "a-long-password\n", 1, `no user named "nobody"`},
			{[]string{"user", "list", "extra"}, "", 2, "usage: gitgate user list"},
			{[]string{"token", "show", "seven"}, "", 2, `token id "seven" is not a number`},
			{[]string{"token", "show", "999"}, "", 1, "no token with id 999"},
			{[]string{"token", "list", "--state", "gone"}, "", 2, "--state must be active, inactive or all"},
			{[]string{"token", "list", "--expires-before", "soon"}, "", 2, "--expires-before: invalid date"},
			{[]string{"token", "revoke", "--user", "alice"}, "", 2, "usage: gitgate token revoke"},
			{[]string{"token", "revoke", "--all"}, "", 2, "usage: gitgate token revoke"},
			{[]string{"token", "revoke", "--user", "alice", "--all", "--id", "1"}, "", 2, "usage: gitgate token revoke"},
			{[]string{"token", "revoke", "--user", "nobody", "--all"}, "", 1, `no user named "nobody"`},
			{[]string{"group", "delete", "team"}, "", 1, "group team holds 1 project"},
			{[]string{"group", "delete", "team", "--with-projects"}, "", 2, "without --yes"},
			{[]string{"group", "delete", "alice", "--yes"}, "", 1, "is a user's namespace, not a group"},
			{[]string{"group", "delete", "nowhere"}, "", 1, `namespace "nowhere" does not exist`},
			{[]string{"repo", "show", "alice/nothing"}, "", 1, "no repository alice/nothing"},
			{[]string{"repo", "list", "--namespace", "nowhere"}, "", 1, `namespace "nowhere" does not exist`},
			{[]string{"repo", "delete", "alice/proj"}, "", 2, "refusing to delete alice/proj and its repository on disk without --yes"},
			{[]string{"repo", "delete", "alice/nothing", "--yes"}, "", 1, "no repository alice/nothing"},
			{[]string{"repo", "rename", "alice/proj", "a..b"}, "", 1, "may not contain '..'"},
			{[]string{"repo", "rename", "team/app", "App.git"}, "", 1, "cannot end in '.git'"},
			{[]string{"repo", "rename", "alice/proj"}, "", 2, "usage: gitgate repo rename"},
			{[]string{"repo", "visibility", "team/app", "public"}, "", 1, "public is not allowed in a internal group."},
			{[]string{"repo", "visibility", "alice/proj", "secret"}, "", 1, "must be private, internal or public"},
			{[]string{"member", "list", "nowhere/x"}, "", 1, `no project or group "nowhere/x"`},
			{[]string{"member", "remove", "alice/proj", "alice"}, "", 1, "alice is not a direct member of alice/proj"},
			{[]string{"member", "remove", "team", "alice"}, "", 1, "cannot remove the last owner of group team"},
			{[]string{"member", "remove", "team", "nobody"}, "", 1, `no user named "nobody"`},
			{[]string{"key", "delete", "x"}, "", 2, `key id "x" is not a number`},
			{[]string{"key", "delete", "999"}, "", 1, "no key with id 999"},
			{[]string{"key", "list", "--user", "nobody"}, "", 1, `no user named "nobody"`},
			{[]string{"version", "extra"}, "", 2, "usage: gitgate version"},
		}
		for _, r := range rows {
			res := c.runIn(r.stdin, r.args...)
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if res.code != r.code || res.stdout != "" || len(lines) != 1 || !strings.HasPrefix(lines[0], "gitgate: ") || !strings.Contains(lines[0], r.want) {
				t.Errorf("gitgate %v: exit %d, stdout %q, stderr %q; want exit %d and one line containing %q", r.args, res.code, res.stdout, res.stderr, r.code, r.want)
			}
		}
		if after := snapshot(); after != before {
			t.Errorf("failed commands changed something:\nbefore %s\nafter %s", before, after)
		}
		for _, d := range dirs {
			if !exists(d) {
				t.Errorf("a failed command removed %s", d)
			}
		}
	})
}

func TestVersionTellsWhatRuns(t *testing.T) {
	c := newCLI(t, store.SQLite)
	want := "gitgate " + testVersion + "\n  commit: " + testCommit + "\n  built:  " + testDate + "\n  go:     go1."
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := c.run(args...)
		if r.code != 0 || r.stderr != "" || !strings.HasPrefix(r.stdout, want) {
			t.Errorf("gitgate %v: exit %d, stderr %q, stdout:\n%s", args, r.code, r.stderr, r.stdout)
		}
	}
	// It answers even where the configuration would stop every other
	// command, and creates nothing.
	work := t.TempDir()
	cmd := exec.Command(binary, "version")
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GITGATE_LOG_FORMAT=xml"}
	if out, err := cmd.CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "gitgate "+testVersion) {
		t.Errorf("version with a bad setting: %v\n%s", err, out)
	}
	if entries, _ := os.ReadDir(work); len(entries) != 0 {
		t.Errorf("version created %v", entries)
	}
	// The API's /version reports the same commit.
	base := c.serveBinary(t)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	tok := strings.TrimSpace(c.must("token", "create", "--user", "alice", "--name", "v", "--scopes", "read_api"))
	if v := apiGet(t, base, tok, "/version").(map[string]any); v["revision"] != testCommit[:7] {
		t.Errorf("GET /version: %v", v)
	}
}

func TestCompletionScriptsAndDynamicCompletion(t *testing.T) {
	c := newCLI(t, store.SQLite)
	for shell, want := range map[string]string{"bash": "__start_gitgate", "zsh": "#compdef gitgate", "fish": "complete -c gitgate", "powershell": "Register-ArgumentCompleter"} {
		if r := c.run("completion", shell); r.code != 0 || !strings.Contains(r.stdout, want) {
			t.Errorf("completion %s: exit %d, no %q", shell, r.code, want)
		}
	}
	// Without a database, completion offers nothing and creates nothing.
	if r := c.run("__complete", "user", "show", ""); r.code != 0 || !strings.HasPrefix(r.stdout, ":4\n") {
		t.Errorf("completing without a database: %+v", r)
	}
	if entries, _ := os.ReadDir(c.dataDir); len(entries) != 0 {
		t.Fatalf("completion created %v", entries)
	}
	c.seed()
	c.must("user", "create", "--username", "alfred", "--email", "alfred@example.com")
	rows := []struct {
		args []string
		want []string
	}{
		{[]string{"user", "show", "al"}, []string{"alice", "alfred"}},
		{[]string{"user", "2fa", "enable", "b"}, []string{"bob"}},
		{[]string{"user", "show", "alice", ""}, nil},
		{[]string{"token", "list", "--user", "b"}, []string{"bob"}},
		{[]string{"key", "add", "--user", "alf"}, []string{"alfred"}},
		{[]string{"repo", "show", ""}, []string{"alice/proj", "team/app"}},
		{[]string{"repo", "delete", "team/"}, []string{"team/app"}},
		{[]string{"repo", "visibility", "alice/proj", ""}, []string{"private", "internal", "public"}},
		{[]string{"repo", "list", "--namespace", "t"}, []string{"team"}},
		{[]string{"member", "add", "te"}, []string{"team/app", "team"}},
		{[]string{"member", "remove", "team", "bo"}, []string{"bob"}},
		{[]string{"member", "add", "team", "bob", "--access", ""}, []string{"guest", "reporter", "developer", "maintainer", "owner"}},
		{[]string{"group", "delete", ""}, []string{"team"}},
	}
	for _, r := range rows {
		out := c.must(append([]string{"__complete"}, r.args...)...)
		lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
		got := lines[:len(lines)-1]
		if lines[len(lines)-1] != ":4" {
			t.Errorf("completing %v: directive %q, want no file completion", r.args, lines[len(lines)-1])
		}
		if len(got) == 0 {
			got = nil
		}
		if !reflect.DeepEqual(got, r.want) {
			t.Errorf("completing %v offers %q, want %q", r.args, got, r.want)
		}
	}
}

// Every command answers --help through the real binary, with its summary
// and examples: the pages of docs/cli/ name every command.
func TestEveryCommandOfTheReferenceAnswersHelpThroughTheBinary(t *testing.T) {
	c := newCLI(t, store.SQLite)
	pages, err := filepath.Glob("../../docs/cli/gitgate*.md")
	if err != nil || len(pages) < 40 {
		t.Fatalf("reference pages: %v %v", pages, err)
	}
	for _, page := range pages {
		args := strings.Split(strings.TrimSuffix(filepath.Base(page), ".md"), "_")[1:]
		r := c.run(append(args, "--help")...)
		if r.code != 0 || r.stderr != "" || !strings.Contains(r.stdout, "Examples:") || !strings.Contains(r.stdout, "Usage:") {
			t.Errorf("gitgate %v --help: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

// Scripts see plain columns: no colour, no rule under the header.
func TestOutputThroughAPipeHasNoColourOrRules(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.seed()
	for _, args := range [][]string{{"user", "list"}, {"token", "list"}, {"user", "show", "alice"}, {"repo", "list"}} {
		out := c.must(args...)
		if strings.Contains(out, "\x1b[") || strings.Contains(out, "─") {
			t.Errorf("gitgate %v through a pipe: %q", args, out)
		}
	}
}
