package auth

import (
	"context"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/gitgate/gitgate/secrets"
	"github.com/gitgate/gitgate/store"
)

// totpPeriod and totpSkew are RFC 6238's 30 s step and ±1 step.
const (
	totpPeriod = 30
	totpSkew   = 1
	// RecoveryCodeCount is how many recovery codes enrolment issues.
	RecoveryCodeCount = 10
	issuer            = "gitgate"
)

// Enrolment is what a person needs to set up an authenticator: shown once.
type Enrolment struct {
	Secret        string
	URI           string
	RecoveryCodes []string
}

// BeginTOTP stores a new (not yet enabled) TOTP secret for a user,
// encrypted (docs/secrets.md), and returns it in clear once; ConfirmTOTP enables it. secret may be given (base32) or empty.
func (s *Service) BeginTOTP(ctx context.Context, userID int64, secret string) (*Enrolment, error) {
	u, err := s.userRow(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.Bot {
		return nil, inputErr("user", "bot users cannot enable two-factor authentication")
	}
	if u.OTPEnabled {
		return nil, inputErr("user", "two-factor authentication is already enabled for %s", u.Username)
	}
	key, err := newTOTPKey(u.Username, secret)
	if err != nil {
		return nil, err
	}
	if err := s.storeOTPSecret(ctx, u.ID, key.Secret()); err != nil {
		return nil, err
	}
	return &Enrolment{Secret: key.Secret(), URI: key.URL()}, nil
}

// errNoSecretKey is a Service built without a keyring asked to handle a
// TOTP secret.
var errNoSecretKey = errors.New("two-factor secrets need the instance's secret key, which this process has not loaded")

// storeOTPSecret encrypts a TOTP secret for its user and stores it, only
// while the database's key check value is still this process's key.
func (s *Service) storeOTPSecret(ctx context.Context, userID int64, secret string) error {
	if s.secrets == nil {
		return errNoSecretKey
	}
	sealed, err := s.secrets.Seal(secret, secrets.OTPSecretBinding(userID))
	if err != nil {
		return fmt.Errorf("encrypt two-factor secret of user %d: %w", userID, err)
	}
	err = s.db.SetOTPSecret(ctx, userID, sealed, s.secrets.CheckValue(), s.Now())
	if errors.Is(err, store.ErrKeyCheckMismatch) {
		return s.secrets.Mismatch()
	}
	return mapStoreErr(err, fmt.Sprintf("user %d", userID))
}

// otpSecret decrypts a user's stored TOTP secret.
func (s *Service) otpSecret(u *store.User) (string, error) {
	if s.secrets == nil {
		return "", errNoSecretKey
	}
	secret, err := s.secrets.Open(u.OTPSecret, secrets.OTPSecretBinding(u.ID))
	if err != nil {
		return "", fmt.Errorf("two-factor secret of user %d: %w", u.ID, err)
	}
	return secret, nil
}

func newTOTPKey(username, secret string) (*otp.Key, error) {
	opts := totp.GenerateOpts{Issuer: issuer, AccountName: username, Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}
	if secret != "" {
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
		if err != nil || len(raw) < 10 {
			return nil, inputErr("secret", "secret must be base32 and at least 16 characters (80 bits)")
		}
		opts.Secret = raw
	}
	key, err := totp.Generate(opts)
	if err != nil {
		return nil, fmt.Errorf("generate TOTP secret: %w", err)
	}
	return key, nil
}

// ConfirmTOTP enables 2FA when code matches the pending secret, and
// returns fresh recovery codes (shown once; stored hashed).
func (s *Service) ConfirmTOTP(ctx context.Context, userID int64, code string) ([]string, error) {
	u, err := s.userRow(ctx, userID)
	if err != nil {
		return nil, err
	}
	if u.OTPEnabled {
		return nil, inputErr("user", "two-factor authentication is already enabled")
	}
	if u.OTPSecret == "" {
		return nil, inputErr("user", "two-factor enrolment was not started")
	}
	if ok, err := s.checkTOTP(ctx, u, code); err != nil || !ok {
		if err != nil {
			return nil, err
		}
		return nil, inputErr("otp_code", "invalid two-factor code")
	}
	return s.enableTOTP(ctx, u)
}

// EnableTOTP enrols and enables 2FA in one step (the operator's CLI).
func (s *Service) EnableTOTP(ctx context.Context, userID int64, secret string) (*Enrolment, error) {
	e, err := s.BeginTOTP(ctx, userID, secret)
	if err != nil {
		return nil, err
	}
	u, err := s.userRow(ctx, userID)
	if err != nil {
		return nil, err
	}
	codes, err := s.enableTOTP(ctx, u)
	if err != nil {
		return nil, err
	}
	e.RecoveryCodes = codes
	return e, nil
}

func (s *Service) enableTOTP(ctx context.Context, u *store.User) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]string, RecoveryCodeCount)
	for i := range codes {
		codes[i] = strings.ToLower(randomString(16))
		hashes[i] = HashToken(codes[i])
	}
	u.OTPEnabled = true
	u.OTPRecoveryCodes = strings.Join(hashes, ",")
	u.UpdatedAt = s.Now()
	if err := s.db.UpdateUser(ctx, u); err != nil {
		return nil, err
	}
	if err := s.credentialsChanged(ctx, u.ID); err != nil {
		return nil, err
	}
	return codes, nil
}

// DisableTOTP turns 2FA off and forgets the secret and recovery codes.
func (s *Service) DisableTOTP(ctx context.Context, userID int64) error {
	if _, err := s.userRow(ctx, userID); err != nil {
		return err
	}
	if err := mapStoreErr(s.db.ClearOTP(ctx, userID, s.Now()), fmt.Sprintf("user %d", userID)); err != nil {
		return err
	}
	return s.credentialsChanged(ctx, userID)
}

// VerifySecondFactor checks a TOTP code (each step usable once) or
// consumes a recovery code. Wrong codes count toward the account lockout
// like wrong passwords (docs/authentication.md): knowing the password
// must not buy unlimited guesses at a six-digit code from many addresses.
// A locked account is refused before its code is looked at, so no
// recovery code is spent on it.
func (s *Service) VerifySecondFactor(ctx context.Context, userID int64, code string) error {
	u, err := s.userRow(ctx, userID)
	if err != nil {
		return err
	}
	if !u.OTPEnabled {
		return nil
	}
	locked, err := s.lockState(ctx, u)
	if err != nil {
		return err
	}
	if locked {
		return s.failedAttempt(ctx, u, true, "account locked")
	}
	ok, err := s.secondFactor(ctx, u, code)
	if err != nil {
		return err
	}
	if !ok {
		return s.failedAttempt(ctx, u, false, "invalid two-factor code")
	}
	return s.succeeded(ctx, u)
}

// secondFactor reports whether code is a current TOTP code or one of the
// unused recovery codes (which it uses up).
func (s *Service) secondFactor(ctx context.Context, u *store.User, code string) (bool, error) {
	code = strings.TrimSpace(code)
	if ok, err := s.checkTOTP(ctx, u, code); err != nil || ok {
		return ok, err
	}
	digest := HashToken(strings.ToLower(code))
	hashes := strings.Split(u.OTPRecoveryCodes, ",")
	for i, h := range hashes {
		if h != "" && subtle.ConstantTimeCompare([]byte(h), []byte(digest)) == 1 {
			// Spent only if nobody spent a code in between: a recovery
			// code works once even when two requests bring it at once.
			remaining := strings.Join(append(hashes[:i:i], hashes[i+1:]...), ",")
			ok, err := s.db.UseRecoveryCode(ctx, u.ID, u.OTPRecoveryCodes, remaining, s.Now())
			if ok {
				u.OTPRecoveryCodes = remaining
			}
			return ok, err
		}
	}
	return false, nil
}

// checkTOTP validates a 6-digit code within ±1 step and records the step,
// so a code cannot be replayed.
func (s *Service) checkTOTP(ctx context.Context, u *store.User, code string) (bool, error) {
	if len(code) != 6 || u.OTPSecret == "" {
		return false, nil
	}
	secret, err := s.otpSecret(u)
	if err != nil {
		return false, err
	}
	now := s.Now()
	for d := -totpSkew; d <= totpSkew; d++ {
		at := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return false, fmt.Errorf("compute TOTP: %w", err)
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			step := at.Unix() / totpPeriod
			ok, err := s.db.AdvanceOTPStep(ctx, u.ID, step)
			if ok {
				u.OTPLastStep = step
			}
			return ok, err
		}
	}
	return false, nil
}
