package access

import "testing"

// TestMatchRuleFindsTheRuleOfABranchByItsExactName: the lookup behind a
// push's check and the API's "protected" field.
func TestMatchRuleFindsTheRuleOfABranchByItsExactName(t *testing.T) {
	rules := []ProtectedRule{{Name: "main", PushAccessLevel: Maintainer}, {Name: "release", PushAccessLevel: Developer}}
	for _, c := range []struct {
		branch string
		want   string // "" for no rule
	}{
		{"main", "main"},
		{"release", "release"},
		{"release/1.0", ""},
		{"mainline", ""},
		{"Main", ""},
		{"", ""},
	} {
		got := MatchRule(rules, c.branch)
		switch {
		case c.want == "" && got != nil:
			t.Errorf("%q matched rule %q", c.branch, got.Name)
		case c.want != "" && (got == nil || got.Name != c.want):
			t.Errorf("%q matched %v, want %q", c.branch, got, c.want)
		}
	}
	if MatchRule(nil, "main") != nil {
		t.Error("a project without rules protects nothing")
	}
}
