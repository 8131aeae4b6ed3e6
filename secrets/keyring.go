// Package secrets keeps the secrets gitgate must be able to read back —
// the TOTP secrets of users with two-factor authentication — encrypted at
// rest with AES-256-GCM under a key derived from the instance's secret key
// base (GITGATE_SECRET_KEY_BASE, or the key file <data-dir>/secret_key).
// A key check value stored in the database makes every process prove it
// holds the instance's key before it starts or writes (docs/secrets.md).
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// SealedPrefix starts every value Seal produces; the version lets a later
// format live beside this one.
const SealedPrefix = "v1:"

// MinKeyBaseLength is the shortest key base accepted, in bytes.
const MinKeyBaseLength = 32

// Purpose labels for HKDF: one key base derives an independent key per
// use, so new uses can be added without new settings.
const (
	columnKeyLabel = "gitgate: encrypted database columns v1"
	checkKeyLabel  = "gitgate: secret key check v1"
	checkText      = "gitgate secret key check"
)

// ErrUndecryptable means a sealed value does not open under the keys this
// process holds (the wrong key, a value moved to another row, or damage).
var ErrUndecryptable = errors.New("cannot decrypt: the value was not sealed for this row under this secret key")

// key is everything derived from one key base.
type key struct {
	aead  cipher.AEAD
	check string
}

func deriveKey(base string) (*key, error) {
	enc, err := hkdf.Key(sha256.New, []byte(base), nil, columnKeyLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("derive encryption key: %w", err)
	}
	block, err := aes.NewCipher(enc)
	if err != nil {
		return nil, fmt.Errorf("derive encryption key: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("derive encryption key: %w", err)
	}
	mk, err := hkdf.Key(sha256.New, []byte(base), nil, checkKeyLabel, 32)
	if err != nil {
		return nil, fmt.Errorf("derive key check: %w", err)
	}
	m := hmac.New(sha256.New, mk)
	m.Write([]byte(checkText))
	return &key{aead: aead, check: SealedPrefix + hex.EncodeToString(m.Sum(nil))}, nil
}

// Keyring is the current key, and during a rotation the previous one,
// which only ever decrypts.
type Keyring struct {
	current  *key
	previous *key
	// source names where the current key came from, for error messages.
	source string
}

// NewKeyring derives the keys of a key base and, when previous is not
// empty, of the previous key base. source names where base came from
// ("GITGATE_SECRET_KEY_BASE" or the key file's path).
func NewKeyring(base, previous, source string) (*Keyring, error) {
	if err := validBase(base); err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	cur, err := deriveKey(base)
	if err != nil {
		return nil, err
	}
	k := &Keyring{current: cur, source: source}
	if previous != "" {
		if err := validBase(previous); err != nil {
			return nil, fmt.Errorf("GITGATE_SECRET_KEY_BASE_PREVIOUS: %w", err)
		}
		if previous == base {
			return nil, errors.New("GITGATE_SECRET_KEY_BASE_PREVIOUS is the current secret key: set it to the key being replaced, or unset it")
		}
		if k.previous, err = deriveKey(previous); err != nil {
			return nil, err
		}
	}
	return k, nil
}

func validBase(base string) error {
	if len(base) < MinKeyBaseLength {
		return fmt.Errorf("the secret key must be at least %d characters (generate one with: openssl rand -hex 64)", MinKeyBaseLength)
	}
	return nil
}

// CheckValue identifies the current key: an HMAC of a fixed text under a
// key derived from the key base. It reveals nothing about the key.
func (k *Keyring) CheckValue() string { return k.current.check }

// matchesPrevious reports whether check identifies the previous key.
func (k *Keyring) matchesPrevious(check string) bool {
	return k.previous != nil && hmac.Equal([]byte(check), []byte(k.previous.check))
}

// matchesCurrent reports whether check identifies the current key.
func (k *Keyring) matchesCurrent(check string) bool {
	return hmac.Equal([]byte(check), []byte(k.current.check))
}

// Source names where the current key came from.
func (k *Keyring) Source() string { return k.source }

// Mismatch is the error a process reports when the database's key check
// value is not its key's.
func (k *Keyring) Mismatch() error { return &KeyMismatchError{Source: k.source} }

// OTPSecretBinding is the additional data that binds a sealed TOTP secret
// to its user: a value copied to another user's row does not open.
func OTPSecretBinding(userID int64) string {
	return "users.otp_secret:" + strconv.FormatInt(userID, 10)
}

// Seal encrypts plaintext under the current key, bound to binding, as
// "v1:" + base64(nonce | ciphertext | tag).
func (k *Keyring) Seal(plaintext, binding string) (string, error) {
	nonce := make([]byte, k.current.aead.NonceSize(), k.current.aead.NonceSize()+len(plaintext)+k.current.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal: %w", err)
	}
	out := k.current.aead.Seal(nonce, nonce, []byte(plaintext), []byte(binding))
	return SealedPrefix + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value sealed for binding, under the current key or else
// the previous one. Errors never contain the value.
func (k *Keyring) Open(sealed, binding string) (string, error) {
	pt, _, err := k.open(sealed, binding)
	return pt, err
}

// open also reports whether only the previous key opened the value.
func (k *Keyring) open(sealed, binding string) (plaintext string, byPrevious bool, err error) {
	if !IsSealed(sealed) {
		return "", false, errors.New("cannot decrypt: the value is not sealed (restart gitgate or run gitgate migrate to encrypt it)")
	}
	raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, SealedPrefix))
	if err != nil {
		return "", false, ErrUndecryptable
	}
	for _, kk := range []*key{k.current, k.previous} {
		if kk == nil || len(raw) < kk.aead.NonceSize()+kk.aead.Overhead() {
			continue
		}
		n := kk.aead.NonceSize()
		if pt, err := kk.aead.Open(nil, raw[:n], raw[n:], []byte(binding)); err == nil {
			return string(pt), kk == k.previous, nil
		}
	}
	return "", false, ErrUndecryptable
}

// IsSealed reports whether a stored value is in a sealed format rather
// than plaintext.
func IsSealed(s string) bool { return strings.HasPrefix(s, SealedPrefix) }

// KeyMismatchError is the one-line refusal of a process whose secret key
// is not the one the database's secrets are encrypted with.
type KeyMismatchError struct {
	// Source is where this process's key came from.
	Source string
	// Missing means the process has no key at all (no variable, no key
	// file) while the database already has one.
	Missing bool
}

func (e *KeyMismatchError) Error() string {
	if e.Missing {
		return fmt.Sprintf("the database already has a secret key, but GITGATE_SECRET_KEY_BASE is unset and %s does not exist; use the key the other gitgate processes use", e.Source)
	}
	return fmt.Sprintf("the secret key does not match this database (%s); use the key the other gitgate processes use", e.Source)
}
