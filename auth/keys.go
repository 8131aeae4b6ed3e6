package auth

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/store"
)

// MinRSABits is the smallest RSA key accepted.
const MinRSABits = 2048

// ParsedKey is a validated public key in authorized_keys form.
type ParsedKey struct {
	Key         ssh.PublicKey
	Comment     string
	Fingerprint string
	// Normalized is "type base64" without the comment.
	Normalized string
}

// ParsePublicKey parses one authorized_keys line, refusing DSA and RSA
// keys under 2048 bits.
func ParsePublicKey(text string) (*ParsedKey, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return nil, inputErr("key", "key is required")
	}
	if strings.ContainsAny(text, "\r\n") {
		return nil, inputErr("key", "key must be a single line")
	}
	// x/crypto no longer parses DSA at all; say why rather than "invalid".
	if strings.HasPrefix(text, "ssh-dss ") {
		return nil, inputErr("key", "DSA keys are not allowed; use ed25519 or RSA of at least %d bits", MinRSABits)
	}
	pub, comment, opts, _, err := ssh.ParseAuthorizedKey([]byte(text))
	if err != nil {
		return nil, inputErr("key", "key is not a valid OpenSSH public key")
	}
	if len(opts) > 0 {
		return nil, inputErr("key", "key must not carry authorized_keys options")
	}
	switch pub.Type() {
	case ssh.KeyAlgoRSA:
		ck, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return nil, inputErr("key", "key is not a valid RSA key")
		}
		rk, ok := ck.CryptoPublicKey().(*rsa.PublicKey)
		if !ok || rk.N.BitLen() < MinRSABits {
			return nil, inputErr("key", "RSA keys must be at least %d bits", MinRSABits)
		}
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521,
		ssh.KeyAlgoSKED25519, ssh.KeyAlgoSKECDSA256:
	default:
		return nil, inputErr("key", "key type %s is not allowed", pub.Type())
	}
	return &ParsedKey{Key: pub, Comment: comment, Fingerprint: ssh.FingerprintSHA256(pub),
		Normalized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}, nil
}

// NewKey is the input of AddKey.
type NewKey struct {
	UserID    int64
	Title     string
	Key       string
	ExpiresAt *time.Time
}

// AddKey registers a public key to a user; a key may belong to only one
// user of the instance.
func (s *Service) AddKey(ctx context.Context, in NewKey) (*SSHKey, error) {
	if _, err := s.userRow(ctx, in.UserID); err != nil {
		return nil, err
	}
	pk, err := ParsePublicKey(in.Key)
	if err != nil {
		return nil, err
	}
	title := strings.TrimSpace(in.Title)
	if title == "" {
		title = pk.Comment
	}
	if title == "" {
		return nil, inputErr("title", "title is required")
	}
	if len(title) > 255 {
		return nil, inputErr("title", "title is too long (maximum is 255 characters)")
	}
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.Now()) {
		return nil, inputErr("expires_at", "key expiry must be in the future")
	}
	k := &store.SSHKey{UserID: in.UserID, Title: title, Key: pk.Normalized, Fingerprint: pk.Fingerprint,
		KeyType: pk.Key.Type(), CreatedAt: s.Now().Truncate(time.Millisecond), ExpiresAt: in.ExpiresAt}
	if err := s.db.InsertKey(ctx, k); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, &ConflictError{Field: "key", Msg: fmt.Sprintf("key %s is already in use", pk.Fingerprint)}
		}
		return nil, err
	}
	return keyFrom(k), nil
}

// Keys lists a user's keys.
func (s *Service) Keys(ctx context.Context, userID int64) ([]SSHKey, error) {
	rows, err := s.db.KeysByUser(ctx, userID)
	if err != nil {
		return nil, err
	}
	return keysFrom(rows), nil
}

// Key loads one key.
func (s *Service) Key(ctx context.Context, id int64) (*SSHKey, error) {
	k, err := s.db.KeyByID(ctx, id)
	if err != nil {
		return nil, mapStoreErr(err, fmt.Sprintf("key %d", id))
	}
	return keyFrom(k), nil
}

// DeleteKey removes a key of a user.
func (s *Service) DeleteKey(ctx context.Context, userID, id int64) error {
	return mapStoreErr(s.db.DeleteKey(ctx, userID, id), fmt.Sprintf("key %d", id))
}

// AllKeys lists every user's keys, ordered by id.
func (s *Service) AllKeys(ctx context.Context) ([]SSHKey, error) {
	rows, err := s.db.AllKeys(ctx)
	if err != nil {
		return nil, err
	}
	return keysFrom(rows), nil
}
