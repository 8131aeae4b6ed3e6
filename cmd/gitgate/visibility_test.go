package main_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// fails runs a command that must be refused with one line containing want.
func (c *cli) fails(want string, args ...string) {
	c.t.Helper()
	r := c.run(args...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if r.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], want) || r.stdout != "" {
		c.t.Fatalf("gitgate %s: exit %d, stderr %q, stdout %q; want a refusal saying %q", strings.Join(args, " "), r.code, r.stderr, r.stdout, want)
	}
}

// A project or subgroup is never more visible than the groups above it,
// and a group cannot become less visible than what it holds.
func TestVisibilityIsCappedByEnclosingGroupsFromTheCLI(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("group", "create", "priv")
		c.must("group", "create", "int", "--visibility", "internal")
		c.must("group", "create", "pub", "--visibility", "public")

		c.fails("public is not allowed in a private group.", "repo", "create", "priv/a", "--visibility", "public")
		c.fails("internal is not allowed in a private group.", "repo", "create", "priv/a", "--visibility", "internal")
		c.fails("public is not allowed in a internal group.", "repo", "create", "int/a", "--visibility", "public")
		c.fails("public is not allowed since the parent group has a private visibility.", "group", "create", "priv/sub", "--visibility", "public")
		c.fails("internal is not allowed since the parent group has a private visibility.", "group", "create", "priv/sub", "--visibility", "internal")
		c.must("group", "create", "pub/sub", "--visibility", "internal")
		c.fails("public is not allowed in a internal group.", "repo", "create", "pub/sub/a", "--visibility", "public")
		c.must("repo", "create", "priv/a")
		c.must("repo", "create", "int/a", "--visibility", "internal")
		c.must("repo", "create", "pub/a", "--visibility", "public")
		c.must("repo", "create", "alice/a", "--visibility", "public")

		// Changing a group's visibility.
		c.fails("private is not allowed since this group contains projects with higher visibility.", "group", "update", "pub", "--visibility", "private")
		c.fails("private is not allowed since this group contains projects with higher visibility.", "group", "update", "int", "--visibility", "private")
		c.must("repo", "create", "pub/sub/b", "--visibility", "internal")
		c.must("group", "create", "wide", "--visibility", "public")
		c.must("group", "create", "wide/open", "--visibility", "public")
		c.fails("internal is not allowed since there are sub-groups with higher visibility.", "group", "update", "wide", "--visibility", "internal")
		c.fails(`group "priv/nosuch" does not exist`, "group", "update", "priv/nosuch", "--visibility", "public")
		c.fails(`"alice" is a user, not a group`, "group", "update", "alice", "--visibility", "private")
		c.fails("usage: gitgate group update", "group", "update", "pub")

		if out := c.must("group", "update", "wide/open", "--visibility", "private"); out != "Group wide/open is now private\n" {
			t.Fatalf("group update printed %q", out)
		}
		c.must("group", "update", "wide", "--visibility", "private")
		c.fails("public is not allowed since the parent group has a private visibility.", "group", "update", "wide/open", "--visibility", "public")
		c.must("group", "update", "priv", "--visibility", "public")
		c.must("repo", "create", "priv/b", "--visibility", "public")
		c.fails("internal is not allowed since this group contains projects with higher visibility.", "group", "update", "priv", "--visibility", "internal")
	})
}

// gitgate token rotate applies the impersonation rules of the API: the
// successor never outlives the original, and nothing rotates while
// impersonation is disabled.
func TestCLIRotationOfAnImpersonationTokenNeverOutlivesIt(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	day := func(n int) string { return time.Now().UTC().AddDate(0, 0, n).Format("2006-01-02") }
	var tok map[string]any
	if err := json.Unmarshal([]byte(c.must("token", "create", "--user", "alice", "--name", "support", "--scopes", "api",
		"--impersonation", "--expires-at", day(3), "--json")), &tok); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprint(tok["id"])
	c.fails("cannot outlive the original", "token", "rotate", "--id", id, "--expires-at", day(10))
	var rotated map[string]any
	if err := json.Unmarshal([]byte(c.must("token", "rotate", "--id", id, "--json")), &rotated); err != nil {
		t.Fatal(err)
	}
	if rotated["expires_at"] != day(3) || rotated["impersonation"] != true {
		t.Fatalf("rotated impersonation token %v, want one expiring %s", rotated, day(3))
	}
	c.must("settings", "set", "impersonation_enabled=false")
	c.fails("impersonation_enabled=false", "token", "rotate", "--id", fmt.Sprint(rotated["id"]))
}
