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
	"github.com/pquerna/otp/totp"
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

// TestWrongTwoFactorCodesCountTowardTheAccountLockout: with two-factor
// authentication the password alone is no success, so it does not clear
// the count, and wrong codes count like wrong passwords; a locked
// account's right code (or recovery code) is refused and not spent.
func TestWrongTwoFactorCodesCountTowardTheAccountLockout(t *testing.T) {
	const right = "correct horse"
	type step struct {
		wrongCodes, wrongPasswords int
		advance                    time.Duration
		signIn                     bool // then password and a current code: accepted?
		want                       bool
	}
	rows := []struct {
		name  string
		steps []step
	}{
		{"nine wrong codes do not lock", []step{{wrongCodes: 9, signIn: true, want: true}}},
		{"ten wrong codes lock", []step{{wrongCodes: 10, signIn: true, want: false}}},
		{"wrong codes and passwords add up", []step{{wrongCodes: 5, wrongPasswords: 5, signIn: true, want: false}}},
		{"the right password alone does not reset the count", []step{{wrongCodes: 9}, {wrongCodes: 1, signIn: true, want: false}}},
		{"a whole sign-in resets the count", []step{{wrongCodes: 9, signIn: true, want: true}, {wrongCodes: 9, signIn: true, want: true}}},
		{"the code lock ends after ten minutes", []step{{wrongCodes: 10, advance: auth.AccountLockDuration, signIn: true, want: true}}},
	}
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		for n, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				name := fmt.Sprintf("otp%d", n)
				u, err := f.svc.CreateUser(ctx, auth.NewUser{Username: name, Email: name + "@example.com", Password: right})
				if err != nil {
					t.Fatal(err)
				}
				e, err := f.svc.EnableTOTP(ctx, u.ID, "")
				if err != nil {
					t.Fatal(err)
				}
				for i, s := range r.steps {
					for range s.wrongCodes {
						// The password step first, as on the sign-in page
						// (refused too once the account is locked).
						_, _ = f.svc.CheckLogin(ctx, name, right, nil)
						if err := f.svc.VerifySecondFactor(ctx, u.ID, "000000"); !errors.Is(err, auth.ErrInvalidCredential) {
							t.Fatalf("step %d: wrong code: %v", i, err)
						}
					}
					for range s.wrongPasswords {
						if _, err := f.svc.CheckLogin(ctx, name, "wrong password", nil); !errors.Is(err, auth.ErrInvalidCredential) {
							t.Fatalf("step %d: wrong password: %v", i, err)
						}
					}
					f.now = f.now.Add(s.advance)
					if !s.signIn {
						continue
					}
					// A fresh TOTP step for every sign-in: codes are single use.
					f.now = f.now.Add(30 * time.Second)
					code, err := totp.GenerateCode(e.Secret, f.now)
					if err != nil {
						t.Fatal(err)
					}
					_, err = f.svc.CheckLogin(ctx, name, right, nil)
					if err == nil {
						err = f.svc.VerifySecondFactor(ctx, u.ID, code)
					}
					if s.want != (err == nil) {
						t.Fatalf("step %d: sign-in: %v, want accepted %v", i, err, s.want)
					}
				}
			})
		}
		// A locked account's recovery code is refused and stays usable.
		u, err := f.svc.CreateUser(ctx, auth.NewUser{Username: "recovery", Email: "recovery@example.com", Password: right})
		if err != nil {
			t.Fatal(err)
		}
		e, err := f.svc.EnableTOTP(ctx, u.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		for range auth.MaxFailedLogins {
			_ = f.svc.VerifySecondFactor(ctx, u.ID, "000000")
		}
		if err := f.svc.VerifySecondFactor(ctx, u.ID, e.RecoveryCodes[0]); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("recovery code on a locked account: %v", err)
		}
		f.now = f.now.Add(auth.AccountLockDuration)
		if err := f.svc.VerifySecondFactor(ctx, u.ID, e.RecoveryCodes[0]); err != nil {
			t.Fatalf("the recovery code was spent while the account was locked: %v", err)
		}
	})
}
