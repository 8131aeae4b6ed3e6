package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

func TestSessionsOpenOnlyWithTheirSecretAndOnlyForActiveUsers(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		secret, s, err := f.svc.CreateSession(ctx, f.user.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, u, err := f.svc.SessionUser(ctx, secret); err != nil || got.ID != s.ID || u.ID != f.user.ID {
			t.Fatalf("own secret: %v %v %v", got, u, err)
		}
		// What the database holds (the digest) opens nothing.
		for _, wrong := range []string{auth.HashToken(secret), "", secret + "x"} {
			if _, _, err := f.svc.SessionUser(ctx, wrong); !errors.Is(err, auth.ErrInvalidCredential) {
				t.Errorf("SessionUser(%q): %v", wrong, err)
			}
		}
		if _, err := f.svc.SetBlocked(ctx, f.user.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.SessionUser(ctx, secret); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("blocked user's session: %v", err)
		}
		if _, _, err := f.svc.CreateSession(ctx, f.user.ID); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("session for a blocked user: %v", err)
		}
		if _, err := f.svc.SetBlocked(ctx, f.user.ID, false); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.SessionUser(ctx, secret); err != nil {
			t.Fatalf("unblocked user's session: %v", err)
		}
		bot, err := f.svc.CreateUser(ctx, auth.NewUser{Username: "bot", Email: "bot@example.com", Bot: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.CreateSession(ctx, bot.ID); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("session for a bot: %v", err)
		}
		if err := f.svc.EndSession(ctx, secret); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.SessionUser(ctx, secret); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("ended session: %v", err)
		}
	})
}

func TestCheckLoginAcceptsTheEmailAsTheLogin(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for _, login := range []string{"alice", "ALICE", "alice@example.com", "Alice@Example.com"} {
			if u, err := f.svc.CheckLogin(ctx, login, "correct horse", nil); err != nil || u.ID != f.user.ID {
				t.Errorf("login %q: %v", login, err)
			}
		}
		for _, login := range []string{"nobody@example.com", "alice@example", "alice.example.com"} {
			if _, err := f.svc.CheckLogin(ctx, login, "correct horse", nil); !errors.Is(err, auth.ErrInvalidCredential) {
				t.Errorf("login %q: %v", login, err)
			}
		}
	})
}

func TestPreferredLanguageIsStoredOnTheUser(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		for _, tc := range []struct {
			lang string
			ok   bool
		}{{"ja", true}, {"pt-BR", true}, {"", true}, {"en", true}, {"<script>", false}, {"english please", false}} {
			err := f.svc.SetPreferredLanguage(ctx, f.user.ID, tc.lang)
			if (err == nil) != tc.ok {
				t.Fatalf("SetPreferredLanguage(%q): %v", tc.lang, err)
			}
			if !tc.ok {
				continue
			}
			u, err := f.svc.User(ctx, f.user.ID)
			if err != nil || u.PreferredLanguage != tc.lang {
				t.Fatalf("after setting %q: %q %v", tc.lang, u.PreferredLanguage, err)
			}
		}
	})
}

// Whichever door changes a password or the two-factor settings (a page,
// the API, the CLI), the user's browsers signed in before are signed
// out; only the session that made the change itself stays.
func TestCredentialChangesEndTheUsersOtherSessionsFromEveryDoor(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		ctx := context.Background()
		open := func() string {
			t.Helper()
			secret, _, err := f.svc.CreateSession(ctx, f.user.ID)
			if err != nil {
				t.Fatal(err)
			}
			return secret
		}
		alive := func(secret string) bool {
			_, _, err := f.svc.SessionUser(ctx, secret)
			return err == nil
		}
		rootSession, _, err := f.svc.CreateSession(ctx, f.root.ID)
		if err != nil {
			t.Fatal(err)
		}
		pw := "a new password 1"
		changes := []struct {
			name   string
			change func(ctx context.Context) error
		}{
			{"password", func(ctx context.Context) error {
				_, err := f.svc.UpdateUser(ctx, f.user.ID, auth.UserChanges{Password: &pw})
				return err
			}},
			{"two-factor enabled", func(ctx context.Context) error {
				_, err := f.svc.EnableTOTP(ctx, f.user.ID, "")
				return err
			}},
			{"two-factor disabled", func(ctx context.Context) error { return f.svc.DisableTOTP(ctx, f.user.ID) }},
		}
		// An operator's or an admin's change (no acting session of the
		// user) ends them all.
		for _, c := range changes {
			a, b := open(), open()
			if err := c.change(ctx); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if alive(a) || alive(b) {
				t.Errorf("%s by an operator: sessions still open", c.name)
			}
		}
		// The user's own change on a page keeps that page's session.
		for _, c := range changes {
			mine, other := open(), open()
			if err := c.change(auth.WithActingSession(ctx, mine)); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if !alive(mine) || alive(other) {
				t.Errorf("%s by the user: own session alive %v, other alive %v", c.name, alive(mine), alive(other))
			}
		}
		// Changing a name is no credential change; nobody else is touched.
		keep := open()
		name := "Alice"
		if _, err := f.svc.UpdateUser(ctx, f.user.ID, auth.UserChanges{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if !alive(keep) || !alive(rootSession) {
			t.Error("a name change or another user's changes ended a session")
		}
	})
}
