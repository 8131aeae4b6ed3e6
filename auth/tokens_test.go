package auth_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
	"golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/auth"
	"github.com/gitgate/gitgate/internal/testdb"
	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/store"
)

type fixture struct {
	svc  *auth.Service
	db   *store.DB
	now  time.Time
	user *auth.User
	root *auth.User
}

func newFixture(t *testing.T, db *store.DB) *fixture {
	f := &fixture{db: db, now: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	keys, _, err := secrets.Load(context.Background(), db, secrets.Config{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = auth.New(db, auth.WithClock(func() time.Time { return f.now }), auth.WithSecrets(keys))
	t.Cleanup(func() { f.svc.Close(context.Background()) })
	f.user, err = f.svc.CreateUser(context.Background(), auth.NewUser{Username: "alice", Email: "alice@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	f.root, err = f.svc.CreateUser(context.Background(), auth.NewUser{Username: "root", Email: "root@example.com", Admin: true})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func date(s string) *time.Time {
	d, err := auth.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return &d
}

func TestCreateTokenRules(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		rows := []struct {
			name     string
			settings map[string]string
			in       auth.NewToken
			wantErr  string // substring; empty means success
			wantExp  string // YYYY-MM-DD or "never"
		}{
			{name: "no date takes today + 30 days", in: auth.NewToken{Name: "a", Scopes: []string{"api"}}, wantExp: "2026-12-25"},
			{name: "a date after today is kept", in: auth.NewToken{Name: "a", Scopes: []string{"api"}, ExpiresAt: date("2026-11-26")}, wantExp: "2026-11-26"},
			{name: "today is refused", in: auth.NewToken{Name: "a", Scopes: []string{"api"}, ExpiresAt: date("2026-11-25")}, wantErr: "must be after today"},
			{name: "a past date is refused", in: auth.NewToken{Name: "a", Scopes: []string{"api"}, ExpiresAt: date("2026-01-01")}, wantErr: "must be after today"},
			{name: "a past date is allowed on purpose", in: auth.NewToken{Name: "a", Scopes: []string{"api"}, ExpiresAt: date("2026-01-01"), AllowPastExpiry: true}, wantExp: "2026-01-01"},
			{name: "no expiry where none is required", settings: map[string]string{auth.SettingRequireExpiry: "false"}, in: auth.NewToken{Name: "a", Scopes: []string{"api"}}, wantExp: "never"},
			{name: "lifetime limit: today + N allowed", settings: map[string]string{auth.SettingMaxLifetime: "10"}, in: auth.NewToken{Name: "a", Scopes: []string{"api"}, ExpiresAt: date("2026-12-05")}, wantExp: "2026-12-05"},
			{name: "lifetime limit: today + N + 1 refused", settings: map[string]string{auth.SettingMaxLifetime: "10"}, in: auth.NewToken{Name: "a", Scopes: []string{"api"}, ExpiresAt: date("2026-12-06")}, wantErr: "maximum allowable lifetime"},
			{name: "lifetime limit caps the default", settings: map[string]string{auth.SettingMaxLifetime: "10"}, in: auth.NewToken{Name: "a", Scopes: []string{"api"}}, wantExp: "2026-12-05"},
			{name: "lifetime limit applies even without required expiry", settings: map[string]string{auth.SettingMaxLifetime: "10", auth.SettingRequireExpiry: "false"}, in: auth.NewToken{Name: "a", Scopes: []string{"api"}}, wantExp: "2026-12-05"},
			{name: "unknown scope lists the valid ones", in: auth.NewToken{Name: "a", Scopes: []string{"api,write"}}, wantErr: "valid scopes are api, read_api, read_user, read_repository, write_repository, sudo, read_registry"},
			{name: "no scope", in: auth.NewToken{Name: "a"}, wantErr: "at least one scope"},
			{name: "no name", in: auth.NewToken{Scopes: []string{"api"}}, wantErr: "name is required"},
			{name: "a name over 255 characters", in: auth.NewToken{Name: strings.Repeat("n", 256), Scopes: []string{"api"}}, wantErr: "too long"},
			{name: "sudo for a non-admin", in: auth.NewToken{Name: "a", Scopes: []string{"api", "sudo"}}, wantErr: "only for tokens of admin users"},
			{name: "a chosen token string of 19 characters", in: auth.NewToken{Name: "a", Scopes: []string{"api"}, Secret: "1234567890123456789"}, wantErr: "minimum is 20"},
			{name: "a chosen token string with a space", in: auth.NewToken{Name: "a", Scopes: []string{"api"}, Secret: "token string here 123"}, wantErr: "without spaces"},
			{name: "impersonation disabled", settings: map[string]string{auth.SettingImpersonationEnabled: "false"}, in: auth.NewToken{Name: "a", Scopes: []string{"api"}, Impersonation: true}, wantErr: "impersonation tokens are disabled"},
		}
		for _, r := range rows {
			t.Run(r.name, func(t *testing.T) {
				if _, err := f.svc.UpdateSettings(ctx, map[string]string{auth.SettingMaxLifetime: "", auth.SettingRequireExpiry: "", auth.SettingImpersonationEnabled: ""}); err != nil {
					t.Fatal(err)
				}
				if r.settings != nil {
					if _, err := f.svc.UpdateSettings(ctx, r.settings); err != nil {
						t.Fatal(err)
					}
				}
				in := r.in
				in.UserID = f.user.ID
				before, _, _ := f.svc.ListTokens(ctx, auth.TokenFilter{})
				c, err := f.svc.CreateToken(ctx, in)
				if r.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), r.wantErr) {
						t.Fatalf("got error %v, want one containing %q", err, r.wantErr)
					}
					after, _, _ := f.svc.ListTokens(ctx, auth.TokenFilter{})
					if len(after) != len(before) {
						t.Fatalf("a refused token was stored")
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				got := "never"
				if c.Token.ExpiresAt != nil {
					got = c.Token.ExpiresAt.Format(auth.DateLayout)
				}
				if got != r.wantExp {
					t.Fatalf("expires_at = %s, want %s", got, r.wantExp)
				}
			})
		}
	})
}

func TestGeneratedTokensAreGlpatWithEnoughEntropyAndOnlyDigestsAreStored(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		c, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "a", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		rest, ok := strings.CutPrefix(c.Secret, "glpat-")
		if !ok || len(rest) < 22 {
			t.Fatalf("token %q: want glpat- and at least 22 base62 characters (>= 128 bits)", c.Secret)
		}
		stored, err := db.TokenByID(ctx, c.Token.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.Digest != auth.HashToken(c.Secret) || strings.Contains(stored.Digest, rest) {
			t.Fatalf("stored digest %q is not the SHA-256 of the secret", stored.Digest)
		}
		if _, err := f.svc.UpdateSettings(ctx, map[string]string{auth.SettingTokenPrefix: "corp-"}); err != nil {
			t.Fatal(err)
		}
		c2, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "b", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(c2.Secret, "corp-") {
			t.Fatalf("token %q does not use the configured prefix corp-", c2.Secret)
		}
	})
}

func TestChosenTokenStringWorksOnceAndRevokesByValue(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		const s = "token-string-here123"
		if _, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "Automation token", Scopes: []string{"read_user", "read_repository"}, Secret: s}); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.root.ID, Name: "again", Scopes: []string{"api"}, Secret: s})
		var ce *auth.ConflictError
		if !errors.As(err, &ce) {
			t.Fatalf("duplicate token string: got %v, want a conflict", err)
		}
		p, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: s})
		if err != nil || p.User.ID != f.user.ID {
			t.Fatalf("chosen token does not authenticate: %v", err)
		}
		if _, err := f.svc.RevokeTokenBySecret(ctx, s); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: s}); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("revoked token still authenticates: %v", err)
		}
		tok, err := f.svc.TokenBySecret(ctx, s)
		if err != nil || !tok.Revoked {
			t.Fatalf("revoked token must be kept and shown revoked: %v %+v", err, tok)
		}
	})
}

func TestSettingALifetimeLimitCutsLongerTokens(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.svc.UpdateSettings(ctx, map[string]string{auth.SettingRequireExpiry: "false"}); err != nil {
			t.Fatal(err)
		}
		mk := func(exp *time.Time) int64 {
			c, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "t", Scopes: []string{"api"}, ExpiresAt: exp})
			if err != nil {
				t.Fatal(err)
			}
			return c.Token.ID
		}
		never, far, near := mk(nil), mk(date("2027-06-01")), mk(date("2026-11-30"))
		up, err := f.svc.UpdateSettings(ctx, map[string]string{auth.SettingMaxLifetime: "7"})
		if err != nil {
			t.Fatal(err)
		}
		if up.CappedTokens != 2 {
			t.Fatalf("capped %d tokens, want 2", up.CappedTokens)
		}
		for id, want := range map[int64]string{never: "2026-12-02", far: "2026-12-02", near: "2026-11-30"} {
			tok, err := f.svc.Token(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.ExpiresAt.Format(auth.DateLayout); got != want {
				t.Errorf("token %d expires %s after the limit, want %s", id, got, want)
			}
		}
		if _, err := f.svc.UpdateSettings(ctx, map[string]string{auth.SettingMaxLifetime: "0"}); err == nil {
			t.Fatal("a lifetime of 0 days was accepted")
		}
		if _, err := f.svc.UpdateSettings(ctx, map[string]string{"no_such_setting": "1", auth.SettingRequireExpiry: "true"}); err == nil || !strings.Contains(err.Error(), "unknown setting") {
			t.Fatalf("unknown setting: got %v", err)
		}
		st, _ := f.svc.Settings(ctx)
		if st.RequireExpiry {
			t.Fatal("a failed settings update applied part of its changes")
		}
	})
}

func TestRotationRevokesTheOldTokenAndKeepsNameAndScopes(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		old, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "ci", Scopes: []string{"read_api", "write_repository"}})
		if err != nil {
			t.Fatal(err)
		}
		nu, err := f.svc.RotateToken(ctx, old.Token.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if nu.Token.Name != "ci" || strings.Join(nu.Token.Scopes, ",") != "read_api,write_repository" || nu.Token.ExpiresAt.Format(auth.DateLayout) != "2026-12-02" {
			t.Fatalf("rotated token: %+v, want same name/scopes and expiry today + 7", nu.Token)
		}
		if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: old.Secret}); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("old token after rotation: %v", err)
		}
		if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: nu.Secret}); err != nil {
			t.Fatalf("new token after rotation: %v", err)
		}
		var ie *auth.InputError
		if _, err := f.svc.RotateToken(ctx, old.Token.ID, nil); !errors.As(err, &ie) {
			t.Fatalf("rotating a revoked token: got %v, want an input error", err)
		}
		expired, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "x", Scopes: []string{"api"}, ExpiresAt: date("2026-11-01"), AllowPastExpiry: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.RotateToken(ctx, expired.Token.ID, nil); !errors.As(err, &ie) {
			t.Fatalf("rotating an expired token: got %v, want an input error", err)
		}
	})
}

func TestRotationWithoutADateExpiresInAWeekEvenWhereExpiryIsOptional(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		if _, err := f.svc.UpdateSettings(ctx, map[string]string{auth.SettingRequireExpiry: "false"}); err != nil {
			t.Fatal(err)
		}
		old, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "forever", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		if old.Token.ExpiresAt != nil {
			t.Fatalf("token created without a date where none is required expires %v", old.Token.ExpiresAt)
		}
		nu, err := f.svc.RotateToken(ctx, old.Token.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		if nu.Token.ExpiresAt == nil || nu.Token.ExpiresAt.Format(auth.DateLayout) != "2026-12-02" {
			t.Fatalf("rotated token expires %v, want today + 7 days (2026-12-02)", nu.Token.ExpiresAt)
		}
	})
}

func TestLastUsedIsRecordedOffThePathAtMostDaily(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		c, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.user.ID, Name: "t", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		use := func() {
			if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: c.Secret}); err != nil {
				t.Fatal(err)
			}
		}
		lastUsed := func() *time.Time {
			tok, err := f.svc.Token(ctx, c.Token.ID)
			if err != nil {
				t.Fatal(err)
			}
			return tok.LastUsedAt
		}
		waitFor := func(cond func() bool) bool {
			for i := 0; i < 200; i++ {
				if cond() {
					return true
				}
				time.Sleep(10 * time.Millisecond)
			}
			return false
		}
		use()
		if !waitFor(func() bool { return lastUsed() != nil }) {
			t.Fatal("last_used_at was never recorded")
		}
		first := *lastUsed()
		f.now = f.now.Add(time.Hour)
		use()
		time.Sleep(100 * time.Millisecond)
		if got := lastUsed(); !got.Equal(first) {
			t.Fatalf("last_used_at moved within 24 hours: %v -> %v", first, got)
		}
	})
}

func TestTwoFactorCodesWorkOnceAndRecoveryCodesAreConsumed(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		e, err := f.svc.EnableTOTP(ctx, f.user.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(e.URI, "otpauth://totp/gitgate:alice?") || len(e.RecoveryCodes) != auth.RecoveryCodeCount {
			t.Fatalf("enrolment: %+v", e)
		}
		u, _ := db.UserByID(ctx, f.user.ID) // the row itself: what is stored
		for _, c := range e.RecoveryCodes {
			if strings.Contains(u.OTPRecoveryCodes, c) {
				t.Fatal("a recovery code is stored in clear")
			}
		}
		code, err := totp.GenerateCode(e.Secret, f.now)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.svc.VerifySecondFactor(ctx, f.user.ID, code); err != nil {
			t.Fatalf("fresh code refused: %v", err)
		}
		if err := f.svc.VerifySecondFactor(ctx, f.user.ID, code); err == nil {
			t.Fatal("a TOTP code was accepted twice")
		}
		prev, _ := totp.GenerateCode(e.Secret, f.now.Add(-90*time.Second))
		if err := f.svc.VerifySecondFactor(ctx, f.user.ID, prev); err == nil {
			t.Fatal("a code three steps old was accepted")
		}
		if err := f.svc.VerifySecondFactor(ctx, f.user.ID, e.RecoveryCodes[3]); err != nil {
			t.Fatalf("recovery code refused: %v", err)
		}
		if err := f.svc.VerifySecondFactor(ctx, f.user.ID, e.RecoveryCodes[3]); err == nil {
			t.Fatal("a recovery code was accepted twice")
		}
		if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredGitBasic, Username: "alice", Secret: "correct horse"}); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("2FA user's password over Git: %v", err)
		}
	})
}

func TestUsernameRules(t *testing.T) {
	for name, ok := range map[string]bool{
		"alice": true, "a.b-c_d": true, "_x": true, "Bob99": true,
		"": false, "-lead": false, ".dot": false, "trail.": false, "x.git": false, "x.atom": false,
		"sp ace": false, "sla/sh": false, "a..b": false, "api": false, "ünï": false, strings.Repeat("a", 256): false,
	} {
		if err := auth.ValidateUsername(name); (err == nil) != ok {
			t.Errorf("ValidateUsername(%q) = %v, want ok=%v", name, err, ok)
		}
	}
}

func TestPasswordsAreArgon2idAndVerify(t *testing.T) {
	h, err := auth.HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$") || strings.Contains(h, "s3cret-pass") {
		t.Fatalf("hash %q", h)
	}
	if !auth.CheckPassword(h, "s3cret-pass") || auth.CheckPassword(h, "s3cret-pasS") || auth.CheckPassword("", "") {
		t.Fatal("password check is wrong")
	}
}

func authorizedKey(t *testing.T, pub any) string {
	k, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return string(ssh.MarshalAuthorizedKey(k))
}

func TestKeyRulesRefuseDSAAndShortRSAAndDuplicates(t *testing.T) {
	ed, _, _ := ed25519.GenerateKey(rand.Reader)
	rsa1024, _ := rsa.GenerateKey(rand.Reader, 1024)
	rsa2048, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rows := []struct {
		name, key, wantErr string
	}{
		{"ed25519", authorizedKey(t, ed), ""},
		{"rsa 2048", authorizedKey(t, &rsa2048.PublicKey), ""},
		{"ecdsa p256", authorizedKey(t, &ec.PublicKey), ""},
		{"rsa 1024", authorizedKey(t, &rsa1024.PublicKey), "at least 2048 bits"},
		{"dsa", "ssh-dss AAAAB3NzaC1kc3MAAACBAMiSkwfWoiKLevIF97lzZm5jcPA7P8Tr8Kyi9AMAziCrU2KdQnJIk8TxWCOkHO9vOBGi0Y05f6VLEa5UIeL+SntJjZ86rWmOJg98CpO4romuaqQty5zwy71uCN1IoZTtOFE8cbvWmnAOMoTV8fEnC05a81Fsfp2xAZXTjcCE3lHTAAAAFQCBlHiMLc2RTCNtRMrysvsp8ntXXwAAAIBe9jRYLhFLlCN/quarKTI93yuAKuyejz7TkA+1gxf3g7m2NKYhxUsCCU7OSbYex2Z0mkOH6A9K9tHVT5crZci0D3fn7dY8uDdiA2mayAVoE2l5+PGIxckxVcyPZUoDYLPf/dB8MGra6RP1wYFpFG15HbU6kQUfSro2XrYDr8JndgAAAIEAjs3g3C3c/UnF4ZaFhRpeCsaziaRajYoDJIC2eFZS2xSnWqsFMHxHXBvqOKoxkmTTAUrmfgsHrPPAbgaaMJu1bvUktf3x8r7tp9fp+A/tPfniriQyqawEwQzcy1tn1LL5qK9T/4GQhUQ0Gld1BL8eMtRQpWaSv+Bt1ggMBoJZNWw=", "DSA keys are not allowed"},
		{"garbage", "ssh-ed25519 not-base64", "not a valid OpenSSH public key"},
		{"two lines", authorizedKey(t, ed) + authorizedKey(t, ed), "single line"},
	}
	for _, r := range rows {
		_, err := auth.ParsePublicKey(r.key)
		if (r.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), r.wantErr)) {
			t.Errorf("%s: got %v, want %q", r.name, err, r.wantErr)
		}
	}
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		k, err := f.svc.AddKey(ctx, auth.NewKey{UserID: f.user.ID, Title: "laptop", Key: authorizedKey(t, ed)})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(k.Fingerprint, "SHA256:") {
			t.Fatalf("fingerprint %q", k.Fingerprint)
		}
		var ce *auth.ConflictError
		if _, err := f.svc.AddKey(ctx, auth.NewKey{UserID: f.root.ID, Title: "stolen", Key: authorizedKey(t, ed)}); !errors.As(err, &ce) {
			t.Fatalf("the same key for another user: got %v, want a conflict", err)
		}
		pub, _ := ssh.NewPublicKey(ed)
		p, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredSSHKey, Key: pub})
		if err != nil || p.User.ID != f.user.ID || p.Method != auth.MethodSSHKey {
			t.Fatalf("key authentication: %v %+v", err, p)
		}
		if _, err := f.svc.SetBlocked(ctx, f.user.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredSSHKey, Key: pub}); !errors.Is(err, auth.ErrInvalidCredential) {
			t.Fatalf("a blocked user's key still works: %v", err)
		}
	})
}

// Revoking all of a user's tokens takes every one that could still work
// (an expired token works while enforcement is off), counts only those,
// and leaves other users' tokens alone.
func TestRevokeUserTokensRevokesEveryUnrevokedTokenOfThatUserOnly(t *testing.T) {
	testdb.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		f := newFixture(t, db)
		kinds := []auth.NewToken{
			{Name: "active", Scopes: []string{"api"}},
			{Name: "impersonation", Scopes: []string{"api"}, Impersonation: true},
			{Name: "expired", Scopes: []string{"api"}, ExpiresAt: date("2026-11-01"), AllowPastExpiry: true},
			{Name: "already revoked", Scopes: []string{"api"}},
		}
		var secrets []string
		for _, k := range kinds {
			k.UserID = f.user.ID
			c, err := f.svc.CreateToken(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			secrets = append(secrets, c.Secret)
			if k.Name == "already revoked" {
				if _, err := f.svc.RevokeToken(ctx, c.Token.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		roots, err := f.svc.CreateToken(ctx, auth.NewToken{UserID: f.root.ID, Name: "root's", Scopes: []string{"api"}})
		if err != nil {
			t.Fatal(err)
		}
		n, err := f.svc.RevokeUserTokens(ctx, f.user.ID)
		if err != nil || n != 3 {
			t.Fatalf("RevokeUserTokens = %d, %v; want 3", n, err)
		}
		if _, err := f.svc.UpdateSettings(ctx, map[string]string{"enforce_personal_access_token_expiration": "false"}); err != nil {
			t.Fatal(err)
		}
		for i, s := range secrets {
			if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: s}); !errors.Is(err, auth.ErrInvalidCredential) {
				t.Errorf("token %q still authenticates: %v", kinds[i].Name, err)
			}
		}
		if _, err := f.svc.Authenticate(ctx, auth.Credential{Kind: auth.CredToken, Secret: roots.Secret}); err != nil {
			t.Errorf("another user's token stopped working: %v", err)
		}
		if n, err := f.svc.RevokeUserTokens(ctx, f.user.ID); err != nil || n != 0 {
			t.Errorf("revoking again = %d, %v; want 0", n, err)
		}
	})
}
