package access

import (
	"errors"
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
	rules := []ProtectedRule{{Name: "main", PushAccessLevel: Maintainer}, {Name: "rel", PushAccessLevel: Maintainer, AllowForcePush: true}}
	rows := []struct {
		doc   string
		level AccessLevel
		empty bool
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
