package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// ErrBadFingerprint is a fingerprint in neither of the forms
// KeyByFingerprint reads.
var ErrBadFingerprint = errors.New("fingerprint is neither SHA256:<base64> nor an MD5 aa:bb:…:ff")

// KeyByFingerprint finds the key with a fingerprint, as GitLab Shell asks
// for it: "SHA256:<base64>" (or "sha256:…"), or the legacy MD5 form of 16
// hex pairs. ErrBadFingerprint for anything else, ErrNotFound when no
// key has it. The MD5 form is not stored: it is computed over every key,
// which is fine for an admin's lookup but not for a hot path.
func (s *Service) KeyByFingerprint(ctx context.Context, fingerprint string) (*SSHKey, error) {
	fingerprint = strings.TrimSpace(fingerprint)
	if rest, ok := cutPrefixFold(fingerprint, "SHA256:"); ok {
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(rest, "="))
		if err != nil || len(raw) != 32 {
			return nil, ErrBadFingerprint
		}
		row, err := s.db.KeyAndUserByFingerprint(ctx, "SHA256:"+base64.RawStdEncoding.EncodeToString(raw))
		if err != nil {
			return nil, mapStoreErr(err, "key "+fingerprint)
		}
		return keyFrom(&row.SSHKey), nil
	}
	if !isMD5Fingerprint(fingerprint) {
		return nil, ErrBadFingerprint
	}
	rows, err := s.db.AllKeys(ctx)
	if err != nil {
		return nil, err
	}
	want := strings.ToLower(fingerprint)
	for i := range rows {
		pub, _, _, _, err := ssh.ParseAuthorizedKey([]byte(rows[i].Key))
		if err != nil {
			continue
		}
		if ssh.FingerprintLegacyMD5(pub) == want {
			return keyFrom(&rows[i]), nil
		}
	}
	return nil, fmt.Errorf("key %s: %w", fingerprint, ErrNotFound)
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// isMD5Fingerprint reports whether s is 16 colon-separated hex pairs.
func isMD5Fingerprint(s string) bool {
	parts := strings.Split(s, ":")
	if len(parts) != 16 {
		return false
	}
	for _, p := range parts {
		if len(p) != 2 || !isHex(p[0]) || !isHex(p[1]) {
			return false
		}
	}
	return true
}

func isHex(b byte) bool {
	return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F')
}
