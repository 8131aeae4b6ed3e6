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
