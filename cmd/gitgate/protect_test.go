package main_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// The protect commands list, add, change and remove a repository's
// protected branches; default_branch_protection decides what a new
// repository's default branch gets; bad input changes nothing.
func TestProtectCommandsManageProtectedBranches(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		c := newCLI(t, db.Dialect())
		c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
		c.must("repo", "create", "alice/proj")

		if got := table(c.must("protect", "list", "alice/proj")); !reflect.DeepEqual(got, [][]string{
			{"NAME", "PUSH", "MERGE", "FORCE PUSH"}, {"main", "Maintainers (40)", "Maintainers (40)", "no"}}) {
			t.Fatalf("protect list of a new repository: %v", got)
		}
		out := c.must("protect", "add", "alice/proj", "release/*", "--push-access-level", "developer", "--allow-force-push")
		if want := "Protected release/* in alice/proj (push: Developers + Maintainers, merge: Maintainers, force push allowed)\n"; out != want {
			t.Fatalf("protect add: %q, want %q", out, want)
		}
		c.must("protect", "add", "alice/proj", "*-stable", "--push-access-level", "0", "--merge-access-level", "30")
		out = c.must("protect", "update", "alice/proj", "release/*", "--push-access-level", "maintainer", "--allow-force-push=false")
		if want := "Updated release/* in alice/proj (push: Maintainers, merge: Maintainers, force push refused)\n"; out != want {
			t.Fatalf("protect update: %q, want %q", out, want)
		}
		var rules []struct {
			Name string `json:"name"`
			Push []struct {
				AccessLevel int `json:"access_level"`
			} `json:"push_access_levels"`
			Merge []struct {
				AccessLevel int `json:"access_level"`
			} `json:"merge_access_levels"`
			Force bool `json:"allow_force_push"`
		}
		if err := json.Unmarshal([]byte(c.must("protect", "list", "alice/proj", "--json")), &rules); err != nil {
			t.Fatal(err)
		}
		if len(rules) != 3 || rules[1].Name != "release/*" || rules[1].Push[0].AccessLevel != 40 || rules[1].Force ||
			rules[2].Name != "*-stable" || rules[2].Push[0].AccessLevel != 0 || rules[2].Merge[0].AccessLevel != 30 {
			t.Fatalf("protect list --json: %+v", rules)
		}
		before := c.must("protect", "list", "alice/proj", "--json")
		for _, r := range []struct {
			args []string
			want string
		}{
			{[]string{"protect", "add", "alice/proj", "release/*"}, "Protected branch 'release/*' already exists"},
			{[]string{"protect", "add", "alice/proj", "x", "--push-access-level", "owner"}, "unknown push access level \"owner\""},
			{[]string{"protect", "add", "alice/proj", "a..b"}, "git does not accept it as a branch name"},
			{[]string{"protect", "add", "nobody/proj", "x"}, "no repository nobody/proj"},
			{[]string{"protect", "update", "alice/proj", "release/*"}, "nothing to change"},
			{[]string{"protect", "update", "alice/proj", "release/1", "--allow-force-push"}, "alice/proj has no protected branch release/1"},
			{[]string{"protect", "remove", "alice/proj", "nope"}, "alice/proj has no protected branch nope"},
			{[]string{"settings", "set", "default_branch_protection=5"}, "default_branch_protection must be 0"},
		} {
			res := c.run(r.args...)
			lines := strings.Split(strings.TrimRight(res.stderr, "\n"), "\n")
			if res.code == 0 || len(lines) != 1 || !strings.Contains(lines[0], r.want) {
				t.Errorf("gitgate %v: exit %d, stderr %q; want one line containing %q", r.args, res.code, res.stderr, r.want)
			}
		}
		if after := c.must("protect", "list", "alice/proj", "--json"); after != before {
			t.Fatalf("refused commands changed the rules:\n%s\n%s", before, after)
		}
		if out := c.must("protect", "remove", "alice/proj", "*-stable"); out != "Unprotected *-stable in alice/proj\n" {
			t.Fatalf("protect remove: %q", out)
		}

		c.must("settings", "set", "default_branch_protection=1")
		if got := strings.TrimSpace(c.must("settings", "get", "default_branch_protection")); got != "1" {
			t.Fatalf("settings get default_branch_protection: %q", got)
		}
		c.must("repo", "create", "alice/open", "--default-branch", "trunk")
		if got := table(c.must("protect", "list", "alice/open")); len(got) != 2 || !reflect.DeepEqual(got[1], []string{"trunk", "Developers + Maintainers (30)", "Developers + Maintainers (30)", "no"}) {
			t.Fatalf("a repository made under protection 1: %v", got)
		}
		c.must("settings", "set", "default_branch_protection=0")
		c.must("repo", "create", "alice/free")
		if got := c.must("protect", "list", "alice/free", "--json"); strings.TrimSpace(got) != "[]" {
			t.Fatalf("a repository made under protection 0: %s", got)
		}
	})
}
