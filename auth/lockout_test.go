package auth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/store"
)

// TestAccountLockoutRules walks the account lockout (docs/authentication.md)
// through scenarios of sign-ins, clock moves and unlocks.
func TestAccountLockoutRules(t *testing.T) {
	const right = "correct horse"
	type outcome int
	const (
		none outcome = iota
		accepted
		refused
	)
	type step struct {
		wrong   int           // wrong passwords first
		advance time.Duration // then move the clock
		unlock  bool          // then unlock as an admin
		right   outcome       // then the right password, unless none
	}
	rows := []struct {
		name  string
		steps []step
	}{
		{"nine wrong passwords do not lock", []step{{wrong: 9, right: accepted}}},
		{"ten wrong passwords lock", []step{{wrong: 10, right: refused}}},
		{"a success resets the count", []step{{wrong: 9, right: accepted}, {wrong: 9, right: accepted}}},
		{"the right password on a locked account fails", []step{{wrong: 10}, {right: refused}, {right: refused}}},
		{"the lock holds for ten minutes", []step{{wrong: 10, advance: auth.AccountLockDuration - time.Second, right: refused}}},
		{"the lock ends after ten minutes", []step{{wrong: 10, advance: auth.AccountLockDuration, right: accepted}}},
		{"attempts on a locked account do not extend it", []step{
			{wrong: 10, advance: 5 * time.Minute},
			{wrong: 5, advance: 5 * time.Minute, right: accepted},
		}},
		{"an expired lock starts the count afresh", []step{
			{wrong: 10, advance: auth.AccountLockDuration},
			{wrong: 9, right: accepted},
		}},
		{"unlock lifts the lock", []step{{wrong: 10, unlock: true, right: accepted}}},
		{"unlock forgets the failed attempts", []step{{wrong: 9, unlock: true}, {wrong: 9, right: accepted}}},
	}
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		for n, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				name := fmt.Sprintf("user%d", n)
				u, err := f.svc.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com", Password: right})
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range r.steps {
					for range s.wrong {
						if _, err := f.svc.CheckLogin(ctx, name, "wrong password", nil); !errors.Is(err, auth.ErrInvalidCredential) {
							t.Fatalf("step %d: wrong password: %v", i, err)
						}
					}
					f.now = f.now.Add(s.advance)
					if s.unlock {
						if _, err := f.svc.UnlockUser(ctx, u.ID); err != nil {
							t.Fatal(err)
						}
					}
					if s.right == none {
						continue
					}
					_, err := f.svc.CheckLogin(ctx, name, right, nil)
					if (s.right == accepted) != (err == nil) {
						t.Fatalf("step %d: right password: %v, want accepted %v", i, err, s.right == accepted)
					}
					if err != nil && !errors.Is(err, auth.ErrInvalidCredential) {
						t.Fatalf("step %d: a lock answered %v, not as a wrong password", i, err)
					}
				}
			})
		}
	})
}

func TestUnlockUnknownUserIsNotFound(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db)
		if _, err := f.svc.UnlockUser(context.Background(), 424242); !errors.Is(err, auth.ErrNotFound) {
			t.Fatalf("unlock of a missing user: %v", err)
		}
	})
}
