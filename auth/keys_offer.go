package auth

import (
	"context"
	"errors"
	"fmt"

	"golang.org/x/crypto/ssh"

	"github.com/gitgate/gitgate/store"
)

// KeyMayAuthenticate answers an SSH client's public-key query (RFC 4252
// §7: "would this key be acceptable?") before the client has proved it
// holds the private key. It reports whether the key is registered, not
// expired, and its owner active — and nothing more: no Principal, no
// last-used update, since anyone can offer anyone's public key. Identity
// comes only from Authenticate with CredSSHKey after the signature check.
func (s *Service) KeyMayAuthenticate(ctx context.Context, key ssh.PublicKey) (bool, error) {
	if key == nil {
		return false, nil
	}
	row, err := s.db.KeyAndUserByFingerprint(ctx, ssh.FingerprintSHA256(key))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look up offered key: %w", err)
	}
	if row.ExpiresAt != nil && !s.Now().Before(*row.ExpiresAt) {
		return false, nil
	}
	return row.User.State == UserActive, nil
}
