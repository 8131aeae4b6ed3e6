package secrets_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/store"
)

const (
	keyA = "key-base-a-0123456789abcdef0123456789abcdef"
	keyB = "key-base-b-0123456789abcdef0123456789abcdef"
	// plainSecret is a base32 TOTP secret as the CLI accepts it.
	plainSecret = "JBSWY3DPEHPK3PXPJBSWY3DP"
)

func newUser(t *testing.T, db *store.DB, name string) *store.User {
	t.Helper()
	now := time.Now().UTC()
	u := &store.User{Username: name, Email: name + "@example.com", State: store.UserActive, CreatedAt: now, UpdatedAt: now}
	if err := db.InsertUser(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	return u
}

// rawOTPSecret reads the column as stored, bypassing every Go type.
func rawOTPSecret(t *testing.T, db *store.DB, userID int64) string {
	t.Helper()
	rows, err := db.OTPSecrets(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r.UserID == userID {
			return r.Value
		}
	}
	return ""
}

func TestSealedValuesOpenOnlyForTheirRowUnderTheirKey(t *testing.T) {
	a, err := secrets.NewKeyring(keyA, "", "test")
	if err != nil {
		t.Fatal(err)
	}
	sealed, err := a.Seal(plainSecret, secrets.OTPSecretBinding(7))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(sealed, "v1:") || strings.Contains(sealed, plainSecret) {
		t.Fatalf("sealed value %q", sealed)
	}
	again, _ := a.Seal(plainSecret, secrets.OTPSecretBinding(7))
	if again == sealed {
		t.Fatal("two seals of the same secret are identical: the nonce is not random")
	}
	b, _ := secrets.NewKeyring(keyB, "", "test")
	bWithPrevA, _ := secrets.NewKeyring(keyB, keyA, "test")
	tampered := []byte(sealed)
	tampered[len(tampered)-2] ^= 1
	rows := []struct {
		name    string
		ring    *secrets.Keyring
		value   string
		userID  int64
		wantErr bool
	}{
		{"the same key and user", a, sealed, 7, false},
		{"another user's row", a, sealed, 8, true},
		{"another key", b, sealed, 7, true},
		{"the previous key of a rotation", bWithPrevA, sealed, 7, false},
		{"a tampered value", a, string(tampered), 7, true},
		{"a truncated value", a, sealed[:10], 7, true},
		{"plaintext", a, plainSecret, 7, true},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			got, err := r.ring.Open(r.value, secrets.OTPSecretBinding(r.userID))
			if r.wantErr {
				if err == nil {
					t.Fatalf("opened to %q", got)
				}
				if strings.Contains(err.Error(), plainSecret) {
					t.Fatalf("the error shows the secret: %v", err)
				}
				return
			}
			if err != nil || got != plainSecret {
				t.Fatalf("got %q, %v", got, err)
			}
		})
	}
}

func TestKeyBasesAreValidated(t *testing.T) {
	rows := []struct {
		name, base, previous, want string
	}{
		{"too short", "short", "", "at least 32 characters"},
		{"previous too short", keyA, "short", "GITGATE_SECRET_KEY_BASE_PREVIOUS: the secret key must be at least 32"},
		{"previous equals current", keyA, keyA, "is the current secret key"},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			_, err := secrets.NewKeyring(r.base, r.previous, "GITGATE_SECRET_KEY_BASE")
			if err == nil || !strings.Contains(err.Error(), r.want) {
				t.Fatalf("got %v, want %q", err, r.want)
			}
			if strings.Contains(err.Error(), keyA) {
				t.Fatalf("the error shows the key: %v", err)
			}
		})
	}
}

func TestFirstStartGeneratesAKeyFileWithMode0600AndLaterStartsReuseIt(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := filepath.Join(t.TempDir(), "data")
		ring, rep, err := secrets.Load(ctx, db, secrets.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, secrets.KeyFileName)
		if rep.KeyFileCreated != path {
			t.Fatalf("report says the key file is %q, want %q", rep.KeyFileCreated, path)
		}
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v, want 0600", st.Mode().Perm())
		}
		if leftovers, _ := filepath.Glob(filepath.Join(dir, ".secret_key-*")); len(leftovers) > 0 {
			t.Fatalf("temporary key files left behind: %v", leftovers)
		}
		check, err := db.SecretKeyCheck(ctx)
		if err != nil || check != ring.CheckValue() {
			t.Fatalf("stored check %q, %v; want the key's %q", check, err, ring.CheckValue())
		}
		again, rep2, err := secrets.Load(ctx, db, secrets.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if rep2.KeyFileCreated != "" || again.CheckValue() != ring.CheckValue() {
			t.Fatalf("second start made a new key: %+v", rep2)
		}
	})
}

func TestAProcessWithoutTheKeyRefusesAndCreatesNothing(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, _, err := secrets.Load(ctx, db, secrets.Config{KeyBase: keyA, DataDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		before, _ := db.SecretKeyCheck(ctx)
		// Another host, with its own empty data directory.
		other := filepath.Join(t.TempDir(), "data")
		_, _, err := secrets.Load(ctx, db, secrets.Config{DataDir: other})
		var mismatch *secrets.KeyMismatchError
		if !errors.As(err, &mismatch) || !mismatch.Missing {
			t.Fatalf("got %v, want a missing-key refusal", err)
		}
		want := "the database already has a secret key, but GITGATE_SECRET_KEY_BASE is unset and " + filepath.Join(other, "secret_key") +
			" does not exist; use the key the other gitgate processes use"
		if err.Error() != want {
			t.Fatalf("refusal reads\n%s\nwant\n%s", err, want)
		}
		if _, err := os.Stat(other); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("the refused process created %s: %v", other, err)
		}
		if after, _ := db.SecretKeyCheck(ctx); after != before {
			t.Fatal("the refused process changed the key check value")
		}
	})
}

func TestAWrongKeyIsRefusedWithOneLine(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		if _, _, err := secrets.Load(ctx, db, secrets.Config{DataDir: dir}); err != nil {
			t.Fatal(err)
		}
		_, _, err := secrets.Load(ctx, db, secrets.Config{KeyBase: keyB, DataDir: dir})
		if err == nil || err.Error() != "the secret key does not match this database (GITGATE_SECRET_KEY_BASE); use the key the other gitgate processes use" {
			t.Fatalf("wrong GITGATE_SECRET_KEY_BASE: %v", err)
		}
		// A key file from another instance.
		other := t.TempDir()
		if err := os.WriteFile(filepath.Join(other, "secret_key"), []byte(keyB+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		_, _, err = secrets.Load(ctx, db, secrets.Config{DataDir: other})
		want := "the secret key does not match this database (" + filepath.Join(other, "secret_key") + "); use the key the other gitgate processes use"
		if err == nil || err.Error() != want {
			t.Fatalf("wrong key file: %v", err)
		}
	})
}

func TestStartUpEncryptsPlaintextSecretsOnceInPlace(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		alice, bob := newUser(t, db, "alice"), newUser(t, db, "bob")
		// Secrets as an older gitgate stored them.
		for _, u := range []*store.User{alice, bob} {
			if err := db.ReplaceOTPSecret(ctx, u.ID, plainSecret); err != nil {
				t.Fatal(err)
			}
		}
		dir := t.TempDir()
		ring, rep, err := secrets.Load(ctx, db, secrets.Config{DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Encrypted != 2 {
			t.Fatalf("encrypted %d secrets, want 2", rep.Encrypted)
		}
		stored := map[int64]string{}
		for _, u := range []*store.User{alice, bob} {
			raw := rawOTPSecret(t, db, u.ID)
			if !strings.HasPrefix(raw, "v1:") || strings.Contains(raw, plainSecret) {
				t.Fatalf("user %s's secret is stored as %q", u.Username, raw)
			}
			if got, err := ring.Open(raw, secrets.OTPSecretBinding(u.ID)); err != nil || got != plainSecret {
				t.Fatalf("encrypted secret opens to %q, %v", got, err)
			}
			stored[u.ID] = raw
		}
		_, rep, err = secrets.Load(ctx, db, secrets.Config{DataDir: dir})
		if err != nil || rep.Encrypted != 0 {
			t.Fatalf("second run: %+v, %v", rep, err)
		}
		for id, raw := range stored {
			if rawOTPSecret(t, db, id) != raw {
				t.Fatal("a second run rewrote an encrypted secret")
			}
		}
	})
}

func TestRotationReencryptsEverySecretAndRetiresTheOldKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		dir := t.TempDir()
		oldRing, _, err := secrets.Load(ctx, db, secrets.Config{KeyBase: keyA, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		alice := newUser(t, db, "alice")
		svc := auth.New(db, auth.WithSecrets(oldRing))
		t.Cleanup(func() { svc.Close(ctx) })
		e, err := svc.EnableTOTP(ctx, alice.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		before := rawOTPSecret(t, db, alice.ID)

		newRing, rep, err := secrets.Load(ctx, db, secrets.Config{KeyBase: keyB, PreviousKeyBase: keyA, DataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if !rep.Rotated || rep.Reencrypted != 1 {
			t.Fatalf("rotation report %+v", rep)
		}
		after := rawOTPSecret(t, db, alice.ID)
		if after == before {
			t.Fatal("rotation left the secret as it was")
		}
		onlyNew, _ := secrets.NewKeyring(keyB, "", "test")
		if got, err := onlyNew.Open(after, secrets.OTPSecretBinding(alice.ID)); err != nil || got != e.Secret {
			t.Fatalf("after rotation the new key alone opens %q, %v", got, err)
		}
		if check, _ := db.SecretKeyCheck(ctx); check != newRing.CheckValue() {
			t.Fatal("the key check value is still the old key's")
		}
		// A restart with both keys changes nothing more; the old key alone is refused.
		if _, rep, err := secrets.Load(ctx, db, secrets.Config{KeyBase: keyB, PreviousKeyBase: keyA, DataDir: dir}); err != nil || rep.Rotated || rep.Reencrypted != 0 {
			t.Fatalf("restart during rotation: %+v, %v", rep, err)
		}
		if _, _, err := secrets.Load(ctx, db, secrets.Config{KeyBase: keyA, DataDir: dir}); err == nil {
			t.Fatal("the old key still starts after the rotation")
		}
		// A process still running with the old key may not write.
		bob := newUser(t, db, "bob")
		_, err = svc.EnableTOTP(ctx, bob.ID, "")
		if err == nil || !strings.Contains(err.Error(), "the secret key does not match this database") {
			t.Fatalf("a process with the retired key wrote a secret: %v", err)
		}
		if rawOTPSecret(t, db, bob.ID) != "" {
			t.Fatal("the refused write left a secret behind")
		}
	})
}

func TestConcurrentFirstStartsAgreeOnOneKey(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		// Four hosts with their own data directories start at once.
		dirs := make([]string, 4)
		errs := make([]error, len(dirs))
		var wg sync.WaitGroup
		for i := range dirs {
			dirs[i] = t.TempDir()
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, _, errs[i] = secrets.Load(ctx, db, secrets.Config{DataDir: dirs[i]})
			}()
		}
		wg.Wait()
		started := 0
		for i, err := range errs {
			_, statErr := os.Stat(filepath.Join(dirs[i], secrets.KeyFileName))
			switch {
			case err == nil:
				started++
				if statErr != nil {
					t.Errorf("a started process has no key file: %v", statErr)
				}
			case statErr == nil:
				t.Errorf("a refused process (%v) left a key file behind", err)
			}
		}
		if started != 1 {
			t.Fatalf("%d processes started with their own key, want exactly 1: %v", started, errs)
		}
	})
}
