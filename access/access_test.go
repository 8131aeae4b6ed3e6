package access

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// answer names what Decide said, as a door would tell it apart.
func answer(err error) string {
	var fe *ForbiddenError
	switch {
	case err == nil:
		return "allow"
	case errors.Is(err, ErrUnauthenticated):
		return "401"
	case errors.Is(err, ErrNotFound):
		return "404"
	case errors.As(err, &fe) && fe.MissingScope != "":
		return "403 scope " + fe.MissingScope
	case errors.As(err, &fe):
		return "403 " + fe.Msg
	}
	return "unexpected: " + err.Error()
}

// Callers of the rows below, by what they bring.
var (
	anonymous   = Request{Anonymous: true}
	signedIn    = Request{Scope: GitPush}                    // a non-member with a full token
	guest       = Request{Scope: GitPush, Level: Guest}      // member, guest
	reporter    = Request{Scope: GitPush, Level: Reporter}   // member, reporter
	developer   = Request{Scope: GitPush, Level: Developer}  // member, developer
	maintainer  = Request{Scope: GitPush, Level: Maintainer} // member, maintainer
	owner       = Request{Scope: GitPush, Level: Owner}      // namespace owner
	admin       = Request{Scope: GitPush, Level: Admin}      // admin user
	readOnlyDev = Request{Scope: GitFetch, Level: Developer} // read_repository token
	noGitDev    = Request{Scope: GitNone, Level: Developer}  // read_user token
	noGitGuest  = Request{Scope: GitNone, Level: Guest}      // read_user token, guest
	noGitOutsdr = Request{Scope: GitNone, Level: NoAccess}   // read_user token, non-member
	readOnlyOut = Request{Scope: GitFetch, Level: NoAccess}  // read_repository token, non-member
	readOnlyGst = Request{Scope: GitFetch, Level: Guest}     // read_repository token, guest
	adminNoGit  = Request{Scope: GitNone, Level: Admin}      // admin's read_user token
	adminFetch  = Request{Scope: GitFetch, Level: Admin}     // admin's read_repository token
	writeOnlyRp = Request{Scope: GitPush, Level: Reporter}   // reporter's write_repository token
	anonymousAd = Request{Anonymous: true, Level: NoAccess}  // anonymous is never more
)

func with(r Request, visibility string, a Action) Request {
	r.Visibility, r.Action = visibility, a
	return r
}

const (
	download = "403 " + MsgNoDownload
	push     = "403 " + MsgNoPush
	manage   = "403 " + MsgNoManage
	scopeR   = "403 scope " + ScopeReadRepository
	scopeW   = "403 scope " + ScopeWriteRepository
)

// TestDecideAnswersEveryRowOfThePermissionsTables walks the tables of
// docs/permissions.md (visibility, access levels, the Git answers and the
// API's project answers) row by row.
func TestDecideAnswersEveryRowOfThePermissionsTables(t *testing.T) {
	rows := []struct {
		doc  string
		req  Request
		want string
	}{
		// #visibility: public.
		{"public: anonymous fetches", with(anonymous, Public, Read), "allow"},
		{"public: anonymous sees", with(anonymous, Public, View), "allow"},
		{"public: anonymous never pushes (asked to authenticate)", with(anonymous, Public, Write), "401"},
		{"public: any signed-in user fetches", with(signedIn, Public, Read), "allow"},
		{"public: a signed-in non-member cannot push", with(signedIn, Public, Write), push},
		{"public: guest fetches", with(guest, Public, Read), "allow"},
		{"public: developer pushes", with(developer, Public, Write), "allow"},
		{"public: admin pushes", with(admin, Public, Write), "allow"},
		{"public code is read with any valid credential, whatever its scopes", with(noGitOutsdr, Public, Read), "allow"},
		// #visibility: internal.
		{"internal: anonymous is asked to authenticate (fetch)", with(anonymous, Internal, Read), "401"},
		{"internal: anonymous is asked to authenticate (view)", with(anonymous, Internal, View), "401"},
		{"internal: any signed-in user sees", with(signedIn, Internal, View), "allow"},
		{"internal: any signed-in user fetches", with(signedIn, Internal, Read), "allow"},
		{"internal: a guest fetches", with(guest, Internal, Read), "allow"},
		{"internal: a non-member cannot push", with(signedIn, Internal, Write), push},
		{"internal: developer pushes", with(developer, Internal, Write), "allow"},
		// #visibility: private.
		{"private: anonymous is asked to authenticate", with(anonymous, Private, Read), "401"},
		{"private: anonymous push is asked to authenticate", with(anonymousAd, Private, Write), "401"},
		{"private: a signed-in non-member gets 404 (fetch)", with(signedIn, Private, Read), "404"},
		{"private: a signed-in non-member gets 404 (push)", with(signedIn, Private, Write), "404"},
		{"private: a signed-in non-member gets 404 (view)", with(signedIn, Private, View), "404"},
		{"private: a guest sees", with(guest, Private, View), "allow"},
		{"private: a guest may not fetch", with(guest, Private, Read), download},
		{"private: a reporter fetches", with(reporter, Private, Read), "allow"},
		{"private: a reporter may not push", with(reporter, Private, Write), push},
		{"private: a developer pushes", with(developer, Private, Write), "allow"},
		{"private: a maintainer pushes", with(maintainer, Private, Write), "allow"},
		{"private: the owner pushes", with(owner, Private, Write), "allow"},
		{"private: an admin fetches", with(admin, Private, Read), "allow"},
		{"private: an admin pushes", with(admin, Private, Write), "allow"},
		// #decision step 5, the scope ceiling, and #git-over-http's rows.
		{"fetch without a Git scope, project visible: names read_repository", with(noGitDev, Private, Read), scopeR},
		{"fetch without a Git scope on internal", with(noGitOutsdr, Internal, Read), scopeR},
		{"push with read_repository only: names write_repository", with(readOnlyDev, Private, Write), scopeW},
		{"push without a Git scope: names write_repository", with(noGitDev, Internal, Write), scopeW},
		{"push to public without write scope", with(readOnlyDev, Public, Write), scopeW},
		{"read_repository fetches private as a developer", with(readOnlyDev, Private, Read), "allow"},
		{"an admin's token is capped by its scopes (fetch)", with(adminNoGit, Private, Read), scopeR},
		{"an admin's token is capped by its scopes (push)", with(adminFetch, Private, Write), scopeW},
		{"a reporter's write_repository token cannot push", with(writeOnlyRp, Private, Write), push},
		// The order's consequences.
		{"invisible project: 404 whatever the scopes", with(noGitOutsdr, Private, Read), "404"},
		{"invisible project: 404 for a read token pushing", with(readOnlyOut, Private, Write), "404"},
		{"the scope message comes before the level's", with(noGitGuest, Private, Read), scopeR},
		{"a guest with a read token gets the download message", with(readOnlyGst, Private, Read), download},
		// API: #access-levels for View, Manage and Remove.
		{"guest views a private project", with(guest, Private, View), "allow"},
		{"developer may not manage members", with(developer, Private, Manage), manage},
		{"maintainer manages members", with(maintainer, Private, Manage), "allow"},
		{"maintainer may not delete the project", with(maintainer, Private, Remove), manage},
		{"owner deletes the project", with(owner, Private, Remove), "allow"},
		{"admin deletes the project", with(admin, Private, Remove), "allow"},
		{"a non-member cannot manage a public project", with(signedIn, Public, Manage), manage},
		{"anonymous cannot manage a public project", with(anonymous, Public, Manage), manage},
		{"a non-member cannot delete an internal project", with(signedIn, Internal, Remove), manage},
	}
	for _, r := range rows {
		if got := answer(Decide(r.req)); got != r.want {
			t.Errorf("%s: got %q, want %q", r.doc, got, r.want)
		}
	}
}

func TestDecideRefusesAnUnknownAction(t *testing.T) {
	if err := Decide(with(admin, Public, Action(99))); err == nil {
		t.Fatal("an unknown action was allowed")
	}
}

// TestCheckRefUpdateFollowsTheProtectedBranchRules is
// docs/permissions.md#protected-branches, rule by rule.
func TestCheckRefUpdateFollowsTheProtectedBranchRules(t *testing.T) {
	const c1, c2 = "1111111111111111111111111111111111111111", "2222222222222222222222222222222222222222"
	rules := []ProtectedRule{{Name: "main", PushAccessLevel: Maintainer}, {Name: "rel", PushAccessLevel: Maintainer, AllowForcePush: true},
		{Name: "release/*", PushAccessLevel: Maintainer}, {Name: "release/dev-*", PushAccessLevel: Developer},
		{Name: "*-stable", PushAccessLevel: Developer, AllowForcePush: true}, {Name: "frozen", PushAccessLevel: NoAccess},
		{Name: "ops/*", PushAccessLevel: Admin}}
	rows := []struct {
		doc   string
		level AccessLevel
		empty bool // the repository is empty and developers may push its default branch first
		u     RefUpdate
		want  string // "" allowed
	}{
		{"deleting a protected branch is refused, for everyone", Admin, false, RefUpdate{Ref: "refs/heads/main", Old: c1, New: ZeroID}, "protected branch main cannot be deleted"},
		{"rewriting is refused", Owner, false, RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2, Forced: true}, "protected branch main cannot be force-pushed"},
		{"rewriting is allowed where the rule allows force pushes", Maintainer, false, RefUpdate{Ref: "refs/heads/rel", Old: c1, New: c2, Forced: true}, ""},
		{"a maintainer pushes", Maintainer, false, RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2}, ""},
		{"an owner pushes", Owner, false, RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2}, ""},
		{"an admin pushes", Admin, false, RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2}, ""},
		{"a developer creates the default branch of an empty repository", Developer, true, RefUpdate{Ref: "refs/heads/main", Old: ZeroID, New: c1}, ""},
		{"a developer may not create it in a repository that has refs", Developer, false, RefUpdate{Ref: "refs/heads/main", Old: ZeroID, New: c1}, "protected branch main: only maintainers may push"},
		{"a developer may not move it", Developer, false, RefUpdate{Ref: "refs/heads/main", Old: c1, New: c2}, "protected branch main: only maintainers may push"},
		{"a developer may not create another protected branch, even when empty", Developer, true, RefUpdate{Ref: "refs/heads/rel", Old: ZeroID, New: c1}, "protected branch rel: only maintainers may push"},
		{"unprotected branches are not checked", Developer, false, RefUpdate{Ref: "refs/heads/feature", Old: c1, New: ZeroID}, ""},
		{"a rule matches the exact name only", Developer, false, RefUpdate{Ref: "refs/heads/main/x", Old: c1, New: c2, Forced: true}, ""},
		{"tags are never protected", Developer, false, RefUpdate{Ref: "refs/tags/main", Old: c1, New: ZeroID}, ""},
		{"a pattern protects the branches it matches, '/' included", Developer, false, RefUpdate{Ref: "refs/heads/release/1.0/hotfix", Old: ZeroID, New: c1}, "protected branch release/1.0/hotfix: only maintainers may push"},
		{"a pattern is anchored at both ends", Developer, false, RefUpdate{Ref: "refs/heads/old-release/1.0", Old: ZeroID, New: c1}, ""},
		{"a leading star matches any start", Developer, false, RefUpdate{Ref: "refs/heads/2-0-stable", Old: c1, New: c2}, ""},
		{"the most permissive matching rule decides the push", Developer, false, RefUpdate{Ref: "refs/heads/release/dev-1", Old: c1, New: c2}, ""},
		{"any matching rule allowing force pushes allows them", Maintainer, false, RefUpdate{Ref: "refs/heads/release/x-stable", Old: c1, New: c2, Forced: true}, ""},
		{"a force push still needs push access", Reporter, false, RefUpdate{Ref: "refs/heads/1-stable", Old: c1, New: c2, Forced: true}, "protected branch 1-stable: only developers and maintainers may push"},
		{"no one pushes where the level is 0, not even an admin", Admin, false, RefUpdate{Ref: "refs/heads/frozen", Old: c1, New: c2}, "protected branch frozen: no one may push"},
		{"level 60 is for admins", Owner, false, RefUpdate{Ref: "refs/heads/ops/deploy", Old: c1, New: c2}, "protected branch ops/deploy: only admins may push"},
		{"an admin pushes where the level is 60", Admin, false, RefUpdate{Ref: "refs/heads/ops/deploy", Old: c1, New: c2}, ""},
		{"the first push of the default branch is a developer's only where the instance allows it", Developer, false, RefUpdate{Ref: "refs/heads/main", Old: ZeroID, New: c1}, "protected branch main: only maintainers may push"},
	}
	for _, r := range rows {
		got := ""
		if err := CheckRefUpdate(r.level, rules, "main", r.empty, r.u); err != nil {
			got = err.Error()
		}
		if got != r.want {
			t.Errorf("%s: got %q, want %q", r.doc, got, r.want)
		}
	}
}

func TestMemberLevelsAreGuestToOwner(t *testing.T) {
	for l, want := range map[AccessLevel]bool{NoAccess: false, Guest: true, Reporter: true, Developer: true, Maintainer: true, Owner: true, Admin: false, 35: false} {
		if got := l.IsMemberLevel(); got != want {
			t.Errorf("%v.IsMemberLevel() = %v, want %v", l, got, want)
		}
	}
}

// TestMatchingRulesFollowsGitLabsRefMatcher: a rule matches its exact name,
// or as a pattern whose * stands for any run of characters (slashes too),
// anchored at both ends; exact names come first.
func TestMatchingRulesFollowsGitLabsRefMatcher(t *testing.T) {
	rows := []struct {
		pattern, branch string
		want            bool
	}{
		{"main", "main", true},
		{"main", "main2", false},
		{"release/*", "release/1.0", true},
		{"release/*", "release/", true},
		{"release/*", "release/1.0/fix", true},
		{"release/*", "release", false},
		{"release/*", "pre-release/1.0", false},
		{"*-stable", "12-0-stable", true},
		{"*-stable", "12-0-stable-x", false},
		{"*", "anything/at/all", true},
		{"a*b*c", "aXbYc", true},
		{"a*b*c", "abcbc", true},
		{"a*b*c", "acb", false},
		{"v1.*", "v1.2", true},
		{"v1.*", "v1x2", false}, // the dot is literal, not a regexp
		{"**", "x", true},
		{"", "", false},
	}
	for _, r := range rows {
		if got := (ProtectedRule{Name: r.pattern}).Matches(r.branch); got != r.want {
			t.Errorf("%q matches %q = %v, want %v", r.pattern, r.branch, got, r.want)
		}
	}
	rules := []ProtectedRule{{Name: "re*"}, {Name: "release"}, {Name: "*e"}, {Name: "other"}}
	var names []string
	for _, r := range MatchingRules(rules, "release") {
		names = append(names, r.Name)
	}
	if got := strings.Join(names, ","); got != "release,re*,*e" {
		t.Errorf("MatchingRules = %s, want release,re*,*e (exact first)", got)
	}
}

func TestParsePushLevelTakesNamesAndGitLabsNumbers(t *testing.T) {
	for in, want := range map[string]AccessLevel{"no-one": NoAccess, "0": NoAccess, "developer": Developer, "30": Developer,
		"Maintainer": Maintainer, "40": Maintainer, "admin": Admin, "60": Admin} {
		if got, err := ParsePushLevel(in); err != nil || got != want {
			t.Errorf("ParsePushLevel(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "10", "20", "50", "owner", "-1"} {
		if _, err := ParsePushLevel(bad); err == nil {
			t.Errorf("ParsePushLevel(%q) accepted", bad)
		}
	}
}

// TestBranchProtectionValuesAreGitLabs: each default_branch_protection
// value's rule for a new project's default branch.
func TestBranchProtectionValuesAreGitLabs(t *testing.T) {
	rows := []struct {
		p           BranchProtection
		protected   bool
		push, merge AccessLevel
		devInitial  bool
	}{
		{ProtectionNone, false, 0, 0, true},
		{ProtectionDevCanPush, true, Developer, Developer, true},
		{ProtectionFull, true, Maintainer, Maintainer, false},
		{ProtectionDevCanMerge, true, Maintainer, Developer, false},
		{ProtectionDevCanInitialPush, true, Maintainer, Maintainer, true},
	}
	for _, r := range rows {
		rule, merge, ok := r.p.DefaultRule("trunk")
		if ok != r.protected || (ok && (rule.Name != "trunk" || rule.PushAccessLevel != r.push || merge != r.merge || rule.AllowForcePush)) {
			t.Errorf("%d: rule %+v merge %v ok %v", r.p, rule, merge, ok)
		}
		if got := r.p.DeveloperCanInitialPush(); got != r.devInitial {
			t.Errorf("%d: DeveloperCanInitialPush = %v", r.p, got)
		}
		if got, err := ParseBranchProtection(strconv.Itoa(int(r.p))); err != nil || got != r.p {
			t.Errorf("ParseBranchProtection(%d) = %v, %v", r.p, got, err)
		}
	}
	for _, bad := range []string{"5", "-1", "full", ""} {
		if _, err := ParseBranchProtection(bad); err == nil {
			t.Errorf("ParseBranchProtection(%q) accepted", bad)
		}
	}
}
