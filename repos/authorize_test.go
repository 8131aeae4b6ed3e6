package repos_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/gitgate/gitgate/access"
	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/repos"
	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/store"
)

// The permission table of docs/permissions.md#decision, driven through the
// real Authenticate and Authorize on both databases. Expectations are
// written from the documented rules (see specOutcome), not read back from
// the code.

// outcome is what a door would answer.
const (
	allow      = "allow"
	unauth     = "401"          // credentials needed or rejected
	notFound   = "404"          // existence not disclosed
	noDownload = "403:download" // "You are not allowed to download code from this project."
	noPush     = "403:push"     // "You are not allowed to push code to this project."
)

func scopeMissing(s string) string { return "403:scope:" + s }

type tokenState string

const (
	stActive          tokenState = "active"
	stExpiresTomorrow tokenState = "expires tomorrow"
	stExpiringToday   tokenState = "expiring today" // expires_at = today: expired since 00:00 UTC
	stExpired         tokenState = "expired"
	stExpiredLenient  tokenState = "expired, enforcement off"
	stRevoked         tokenState = "revoked"
	stImpersonation   tokenState = "impersonation"
	stImpersonationNo tokenState = "impersonation, disabled"
)

var allStates = []tokenState{stActive, stExpiresTomorrow, stExpiringToday, stExpired, stExpiredLenient, stRevoked, stImpersonation, stImpersonationNo}

type level string

const (
	lvAnonymous  level = "anonymous"
	lvNonMember  level = "non-member"
	lvGuest      level = "guest"
	lvReporter   level = "reporter"
	lvDeveloper  level = "developer"
	lvMaintainer level = "maintainer"
	lvOwner      level = "owner"
	lvAdmin      level = "admin"
)

var allLevels = []level{lvAnonymous, lvNonMember, lvGuest, lvReporter, lvDeveloper, lvMaintainer, lvOwner, lvAdmin}

var allScopes = [][]string{{"api"}, {"read_api"}, {"read_user"}, {"read_repository"}, {"write_repository"}, {"read_registry"},
	{"read_repository", "write_repository"}, {"read_user", "read_registry"}}

var allVisibilities = []string{access.Public, access.Internal, access.Private}

// specOutcome states docs/permissions.md#decision and
// docs/tokens.md#when-a-token-works rule by rule.
func specOutcome(lv level, st tokenState, scopes []string, vis string, a access.Action) string {
	// docs/tokens.md#expiry: an expired token (on day D it is expired) or
	// a revoked one is refused unless expiry enforcement is off; revoked
	// never works; an impersonation token is refused while impersonation
	// is disabled.
	if lv != lvAnonymous {
		switch st {
		case stExpiringToday, stExpired, stRevoked, stImpersonationNo:
			return unauth
		}
	}
	// docs/permissions.md#visibility: who can see the repository.
	var canSee bool
	switch lv {
	case lvAnonymous:
		canSee = vis == access.Public
	case lvNonMember:
		canSee = vis != access.Private
	default: // guest and above, admin
		canSee = true
	}
	if !canSee {
		// docs/permissions.md#answers: anonymous on private → 401 challenge;
		// signed-in → 404.
		if lv == lvAnonymous {
			return unauth
		}
		return notFound
	}
	has := func(s ...string) bool {
		for _, x := range s {
			if slices.Contains(scopes, x) {
				return true
			}
		}
		return false
	}
	if a == access.Read {
		// docs/tokens.md#scopes: public code is readable with any valid credential.
		if vis == access.Public {
			return allow
		}
		// docs/tokens.md#scopes: fetch needs api, read_api, read_repository or
		// write_repository.
		if !has("api", "read_api", "read_repository", "write_repository") {
			return scopeMissing("read_repository")
		}
		// docs/permissions.md#visibility: internal is readable by any
		// signed-in user; private by reporters and above; guests get the
		// download message (docs/permissions.md#git-over-http).
		if vis == access.Internal || lv == lvReporter || lv == lvDeveloper || lv == lvMaintainer || lv == lvOwner || lv == lvAdmin {
			return allow
		}
		return noDownload
	}
	// Write. docs/permissions.md#decision: anonymous never pushes (asked to
	// authenticate).
	if lv == lvAnonymous {
		return unauth
	}
	// docs/tokens.md#scopes: push needs api or write_repository.
	if !has("api", "write_repository") {
		return scopeMissing("write_repository")
	}
	// docs/permissions.md#access-levels: developer and above, admin.
	switch lv {
	case lvDeveloper, lvMaintainer, lvOwner, lvAdmin:
		return allow
	}
	return noPush
}

// classify maps errors from Authenticate/Authorize to outcomes.
func classify(err error) string {
	var fe *access.ForbiddenError
	switch {
	case err == nil:
		return allow
	case errors.Is(err, auth.ErrInvalidCredential), errors.Is(err, access.ErrUnauthenticated):
		return unauth
	case errors.Is(err, access.ErrNotFound):
		return notFound
	case errors.As(err, &fe):
		switch {
		case fe.MissingScope != "":
			return scopeMissing(fe.MissingScope)
		case fe.Msg == access.MsgNoDownload:
			return noDownload
		case fe.Msg == access.MsgNoPush:
			return noPush
		}
	}
	return "unexpected: " + err.Error()
}

// world is a database with users at every level on three projects.
type world struct {
	db       *store.DB
	auth     *auth.Service
	repos    *repos.Service
	now      *time.Time
	users    map[level]*auth.User
	projects map[string]*repos.Project
}

func newWorld(t *testing.T, db *store.DB) *world {
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	w := &world{db: db, now: &now, users: map[level]*auth.User{}, projects: map[string]*repos.Project{}}
	clock := func() time.Time { return *w.now }
	keys, _, err := secrets.Load(ctx, db, secrets.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	w.auth = auth.New(db, auth.WithClock(clock), auth.WithSecrets(keys))
	t.Cleanup(func() { w.auth.Close(context.Background()) })
	w.repos = repos.New(db, t.TempDir(), clock)
	for _, lv := range allLevels[1:] {
		u, err := w.auth.CreateUser(ctx, auth.NewUser{Username: string(lv) + "-user", Email: string(lv) + "@example.com",
			Password: "password-" + string(lv), Admin: lv == lvAdmin})
		if err != nil {
			t.Fatal(err)
		}
		w.users[lv] = u
	}
	// Projects live in the owner's namespace, so "owner" is the
	// namespace owner; other levels are memberships — the developer's
	// through a group, to cover inheritance. The group is public so that
	// it may hold projects of every visibility.
	if _, err := w.repos.CreateGroup(ctx, "team", "", access.Public, 0); err != nil {
		t.Fatal(err)
	}
	for _, vis := range allVisibilities {
		p, err := w.repos.CreateProject(ctx, repos.NewProject{NamespacePath: "owner-user", Path: "p-" + vis, Visibility: vis})
		if err != nil {
			t.Fatal(err)
		}
		w.projects[vis] = p
		for lv, al := range map[level]access.AccessLevel{lvGuest: access.Guest, lvReporter: access.Reporter, lvMaintainer: access.Maintainer} {
			if err := w.repos.AddMember(ctx, repos.MemberTarget{Project: p}, w.users[lv].ID, al); err != nil {
				t.Fatal(err)
			}
		}
		gp, err := w.repos.CreateProject(ctx, repos.NewProject{NamespacePath: "team", Path: "p-" + vis, Visibility: vis})
		if err != nil {
			t.Fatal(err)
		}
		w.projects["team/"+vis] = gp
	}
	team, err := w.repos.Namespace(ctx, "team")
	if err != nil {
		t.Fatal(err)
	}
	if err := w.repos.AddMember(ctx, repos.MemberTarget{Group: team}, w.users[lvDeveloper].ID, access.Developer); err != nil {
		t.Fatal(err)
	}
	return w
}

// project returns the project a level's user reaches: the developer's
// access comes from the team group, everyone else's from the project.
func (w *world) project(lv level, vis string) *repos.Project {
	if lv == lvDeveloper {
		return w.projects["team/"+vis]
	}
	return w.projects[vis]
}

// token makes a token of user u with scopes in state st and returns its
// secret; it also applies the settings the state needs.
func (w *world) token(t *testing.T, u *auth.User, scopes []string, st tokenState) string {
	ctx := context.Background()
	today := auth.Today(*w.now)
	in := auth.NewToken{UserID: u.ID, Name: "t", Scopes: scopes, AllowPastExpiry: true}
	day := func(n int) *time.Time { d := auth.AddDays(today, n); return &d }
	switch st {
	case stExpiresTomorrow:
		in.ExpiresAt = day(1)
	case stExpiringToday:
		in.ExpiresAt = day(0)
	case stExpired, stExpiredLenient:
		in.ExpiresAt = day(-3)
	case stImpersonation, stImpersonationNo:
		in.Impersonation = true
	}
	c, err := w.auth.CreateToken(ctx, in)
	if err != nil {
		t.Fatalf("create %s token: %v", st, err)
	}
	if st == stRevoked {
		if _, err := w.auth.RevokeToken(ctx, c.Token.ID); err != nil {
			t.Fatal(err)
		}
	}
	return c.Secret
}

func (w *world) settings(t *testing.T, kv map[string]string) {
	if _, err := w.auth.UpdateSettings(context.Background(), kv); err != nil {
		t.Fatal(err)
	}
}

func (w *world) decide(ctx context.Context, cred *auth.Credential, p *repos.Project, a access.Action) string {
	var principal *auth.Principal
	if cred != nil {
		var err error
		principal, err = w.auth.Authenticate(ctx, *cred)
		if err != nil {
			return classify(err)
		}
	}
	_, err := w.repos.Authorize(ctx, principal, p, a)
	return classify(err)
}

func TestPermissionTableAnswersEveryCallerAsDocumented(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		type cell struct {
			lv     level
			st     tokenState
			scopes []string
			secret string
		}
		var cells []cell
		for _, lv := range allLevels[1:] {
			for _, scopes := range allScopes {
				for _, st := range allStates {
					cells = append(cells, cell{lv, st, scopes, w.token(t, w.users[lv], scopes, st)})
				}
			}
		}
		check := func(st tokenState) {
			for _, c := range cells {
				if c.st != st {
					continue
				}
				for _, vis := range allVisibilities {
					for _, a := range []access.Action{access.Read, access.Write} {
						cred := auth.Credential{Kind: auth.CredToken, Secret: c.secret}
						got := w.decide(ctx, &cred, w.project(c.lv, vis), a)
						want := specOutcome(c.lv, c.st, c.scopes, vis, a)
						if got != want {
							t.Errorf("%s with %v token (%s) %s on %s: got %s, want %s", c.lv, c.scopes, c.st, actionName(a), vis, got, want)
						}
					}
				}
			}
		}
		for _, st := range allStates {
			switch st {
			case stExpiredLenient:
				w.settings(t, map[string]string{auth.SettingEnforceExpiration: "false"})
				check(st)
				w.settings(t, map[string]string{auth.SettingEnforceExpiration: ""})
			case stImpersonationNo:
				w.settings(t, map[string]string{auth.SettingImpersonationEnabled: "false"})
				check(st)
				w.settings(t, map[string]string{auth.SettingImpersonationEnabled: ""})
			default:
				check(st)
			}
		}
		for _, vis := range allVisibilities {
			for _, a := range []access.Action{access.Read, access.Write} {
				got := w.decide(ctx, nil, w.project(lvAnonymous, vis), a)
				if want := specOutcome(lvAnonymous, stActive, nil, vis, a); got != want {
					t.Errorf("anonymous %s on %s: got %s, want %s", actionName(a), vis, got, want)
				}
			}
		}
	})
}

func actionName(a access.Action) string {
	if a == access.Read {
		return "fetch"
	}
	return "push"
}

// TestPermissionRulesNamedInTheDocs are the rules of docs/permissions.md
// and docs/tokens.md, one row each, including the owner states the table
// above leaves out: blocked owners, 2FA owners with password or token,
// bots, and account passwords.
func TestPermissionRulesNamedInTheDocs(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		mk := func(name string, admin, bot bool) *auth.User {
			pw := "password-" + name
			if bot {
				pw = ""
			}
			u, err := w.auth.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com", Password: pw, Admin: admin, Bot: bot})
			if err != nil {
				t.Fatal(err)
			}
			if err := w.repos.AddMember(ctx, repos.MemberTarget{Project: w.projects[access.Private]}, u.ID, access.Developer); err != nil {
				t.Fatal(err)
			}
			return u
		}
		blocked := mk("blocked-dev", false, false)
		blockedTok := w.token(t, blocked, []string{"write_repository"}, stActive)
		if _, err := w.auth.SetBlocked(ctx, blocked.ID, true); err != nil {
			t.Fatal(err)
		}
		twofa := mk("twofa-dev", false, false)
		twofaTok := w.token(t, twofa, []string{"write_repository"}, stActive)
		twofaRead := w.token(t, twofa, []string{"read_repository"}, stActive)
		if _, err := w.auth.EnableTOTP(ctx, twofa.ID, ""); err != nil {
			t.Fatal(err)
		}
		bot := mk("deploy-bot", false, true)
		botTok := w.token(t, bot, []string{"read_repository", "write_repository"}, stActive)
		dev := mk("plain-dev", false, false)
		reporterTok := w.token(t, w.users[lvReporter], []string{"write_repository"}, stActive)

		tok := func(s string) *auth.Credential { return &auth.Credential{Kind: auth.CredToken, Secret: s} }
		basic := func(user, pw string) *auth.Credential {
			return &auth.Credential{Kind: auth.CredGitBasic, Username: user, Secret: pw}
		}
		priv := w.projects[access.Private]
		rows := []struct {
			name string
			cred *auth.Credential
			p    *repos.Project
			a    access.Action
			want string
		}{
			{"a blocked user's token stops working", tok(blockedTok), priv, access.Read, unauth},
			{"a blocked user's password stops working", basic("blocked-dev", "password-blocked-dev"), priv, access.Read, unauth},
			{"a 2FA user's password never works for Git", basic("twofa-dev", "password-twofa-dev"), priv, access.Read, unauth},
			{"a 2FA user pushes with a write_repository token", tok(twofaTok), priv, access.Write, allow},
			{"a 2FA user's read_repository token cannot push", tok(twofaRead), priv, access.Write, scopeMissing("write_repository")},
			{"token as Basic password, username ignored", basic("anything", twofaTok), priv, access.Write, allow},
			{"bots have no password", basic("deploy-bot", ""), priv, access.Read, unauth},
			{"a bot's token works like any token", tok(botTok), priv, access.Write, allow},
			{"a developer's account password pushes", basic("plain-dev", "password-plain-dev"), priv, access.Write, allow},
			{"the username must match the password", basic("reporter-user", "password-plain-dev"), priv, access.Read, unauth},
			{"a wrong password is refused", basic("plain-dev", "wrong-password"), priv, access.Read, unauth},
			{"a reporter's write_repository token cannot push", tok(reporterTok), priv, access.Write, noPush},
			{"guests cannot fetch private code", basic("guest-user", "password-guest"), priv, access.Read, noDownload},
			{"admins push everywhere", basic("admin-user", "password-admin"), priv, access.Write, allow},
			{"anonymous on private is asked to authenticate", nil, priv, access.Read, unauth},
			{"anonymous never pushes, even to public", nil, w.projects[access.Public], access.Write, unauth},
			{"a non-member gets 404 on private", basic("non-member-user", "password-non-member"), priv, access.Read, notFound},
			{"a non-member reads internal", basic("non-member-user", "password-non-member"), w.projects[access.Internal], access.Read, allow},
			{"a non-member cannot push to public", basic("non-member-user", "password-non-member"), w.projects[access.Public], access.Write, noPush},
		}
		_ = dev
		for _, r := range rows {
			if got := w.decide(ctx, r.cred, r.p, r.a); got != r.want {
				t.Errorf("%s: got %s, want %s", r.name, got, r.want)
			}
		}
		w.settings(t, map[string]string{auth.SettingPasswordForGit: "false"})
		if got := w.decide(ctx, basic("plain-dev", "password-plain-dev"), priv, access.Read); got != unauth {
			t.Errorf("password_authentication_enabled_for_git=false: a password still works (%s)", got)
		}
		if got := w.decide(ctx, tok(twofaTok), priv, access.Write); got != allow {
			t.Errorf("password_authentication_enabled_for_git=false must not affect tokens (%s)", got)
		}
	})
}

func TestTokenExpiresAtMidnightUTCOfItsDate(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		*w.now = time.Date(2026, 11, 25, 23, 59, 59, 0, time.UTC)
		secret := w.token(t, w.users[lvReporter], []string{"read_repository"}, stExpiresTomorrow) // expires 2026-11-26
		cred := &auth.Credential{Kind: auth.CredToken, Secret: secret}
		p := w.projects[access.Private]
		if got := w.decide(ctx, cred, p, access.Read); got != allow {
			t.Fatalf("at 23:59:59 UTC the day before: got %s, want allow", got)
		}
		*w.now = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
		if got := w.decide(ctx, cred, p, access.Read); got != unauth {
			t.Fatalf("at 00:00 UTC of expires_at: got %s, want 401", got)
		}
		// In a timezone ahead of UTC it is already the 26th; expiry still
		// follows UTC.
		tokyo := time.FixedZone("JST", 9*3600)
		*w.now = time.Date(2026, 11, 26, 8, 59, 59, 0, tokyo)
		if got := w.decide(ctx, cred, p, access.Read); got != allow {
			t.Fatalf("at 08:59:59 JST on the 26th (23:59:59 UTC the 25th): got %s, want allow", got)
		}
	})
}

// A push's receive hook reuses the decision's level rather than asking
// the database again, so the decision must carry the level it was made
// with, the project and the principal.
func TestAuthorizeReturnsTheDecisionItMade(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		w := newWorld(t, db)
		want := map[level]access.AccessLevel{lvReporter: access.Reporter, lvDeveloper: access.Developer,
			lvMaintainer: access.Maintainer, lvOwner: access.Owner, lvAdmin: access.Admin}
		for lv, l := range want {
			cred := auth.Credential{Kind: auth.CredGitBasic, Username: string(lv) + "-user", Secret: "password-" + string(lv)}
			p, err := w.auth.Authenticate(ctx, cred)
			if err != nil {
				t.Fatal(err)
			}
			proj := w.project(lv, access.Private)
			d, err := w.repos.Authorize(ctx, p, proj, access.Read)
			if err != nil {
				t.Fatalf("%s: %v", lv, err)
			}
			if d.Level != l || d.Project != proj || d.Principal != p {
				t.Errorf("%s: decision %+v, want level %v on %s for %s", lv, d, l, proj.FullPath(), p.Username())
			}
		}
		if d, err := w.repos.Authorize(ctx, nil, w.projects[access.Private], access.Read); err == nil || d.Project != nil {
			t.Errorf("a refusal came with a decision: %+v %v", d, err)
		}
	})
}
