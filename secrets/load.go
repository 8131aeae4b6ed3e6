package secrets

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gitgate/gitgate/store"
)

// KeyFileName is the key file's name inside the data directory.
const KeyFileName = "secret_key"

// Config says where a process finds its secret key.
type Config struct {
	// KeyBase is GITGATE_SECRET_KEY_BASE; empty means the key file.
	KeyBase string
	// PreviousKeyBase is GITGATE_SECRET_KEY_BASE_PREVIOUS: the key being
	// rotated away from, used only to decrypt and re-encrypt.
	PreviousKeyBase string
	// DataDir holds the key file when KeyBase is empty.
	DataDir string
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Report says what Load changed.
type Report struct {
	// KeyFileCreated is the path of the key file Load generated, if any.
	KeyFileCreated string
	// Encrypted counts plaintext secrets Load encrypted.
	Encrypted int
	// Reencrypted counts secrets moved from the previous key to the
	// current one.
	Reencrypted int
	// Rotated is true when Load replaced the key check value of the
	// previous key with the current key's.
	Rotated bool
	// Undecryptable lists users whose stored secret opens under neither
	// key; they are left as they are (disable and re-enrol their 2FA).
	Undecryptable []int64
}

// errLostRace means another process stored a key check value (or created
// the key file) between our read and our write; Load starts over once.
var errLostRace = errors.New("another process created the secret key at the same time")

// Load finds the process's secret key, proves it against the database's key
// check value, and brings the encrypted columns up to date with it. It runs
// after the schema migrations, at every start and for every CLI command,
// so that no process with the wrong key ever starts or writes:
//
//   - the key comes from cfg.KeyBase, else the key file in cfg.DataDir;
//   - with neither, a key file is generated only when the database has no
//     key check value and no encrypted secret; otherwise Load refuses and
//     creates nothing;
//   - a key whose check value differs from the stored one is refused,
//     unless it is the previous key of a rotation (cfg.PreviousKeyBase),
//     in which case every secret is re-encrypted under the current key
//     and the check value replaced, in one transaction;
//   - plaintext secrets (from before encryption) are encrypted, in the same
//     transaction. Running Load again changes nothing.
func Load(ctx context.Context, db *store.DB, cfg Config) (*Keyring, Report, error) {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	var (
		ring    *Keyring
		created string
		err     error
	)
	for attempt := 0; attempt < 2; attempt++ {
		ring, created, err = resolve(ctx, db, cfg)
		if !errors.Is(err, errLostRace) {
			break
		}
	}
	if err != nil {
		return nil, Report{}, err
	}
	rep, err := update(ctx, db, ring, cfg.Now().UTC())
	rep.KeyFileCreated = created
	if err != nil {
		return nil, rep, err
	}
	return ring, rep, nil
}

// resolve returns the keyring and, when it generated one, the key file.
func resolve(ctx context.Context, db *store.DB, cfg Config) (*Keyring, string, error) {
	base, source, err := readKeyBase(cfg)
	if err != nil {
		return nil, "", err
	}
	check, err := db.SecretKeyCheck(ctx)
	if err != nil {
		return nil, "", err
	}
	// Without a check value, encrypted secrets can still exist (a check
	// value lost with a partial restore): they decide as the check would.
	var sealed []store.OTPSecret
	if check == "" {
		all, err := db.OTPSecrets(ctx, "")
		if err != nil {
			return nil, "", err
		}
		sealed = onlySealed(all)
	}
	if base == "" {
		if check != "" || len(sealed) > 0 {
			return nil, "", &KeyMismatchError{Source: source, Missing: true}
		}
		return generate(ctx, db, cfg, source)
	}
	ring, err := NewKeyring(base, cfg.PreviousKeyBase, source)
	if err != nil {
		return nil, "", err
	}
	switch {
	case check == "":
		// The first process with a key: it must open what is already
		// encrypted, if anything is.
		if len(sealed) > 0 {
			if _, err := ring.Open(sealed[0].Value, OTPSecretBinding(sealed[0].UserID)); err != nil {
				return nil, "", ring.Mismatch()
			}
		}
		stored, err := db.InsertSecretKeyCheck(ctx, ring.CheckValue(), cfg.Now().UTC())
		if err != nil {
			return nil, "", err
		}
		if !stored {
			return nil, "", errLostRace
		}
	case ring.matchesCurrent(check), ring.matchesPrevious(check):
	default:
		return nil, "", ring.Mismatch()
	}
	return ring, "", nil
}

// readKeyBase returns the key base and where it came from; "" when the
// key file does not exist (source is then its path).
func readKeyBase(cfg Config) (base, source string, err error) {
	if b := strings.TrimSpace(cfg.KeyBase); b != "" {
		return b, "GITGATE_SECRET_KEY_BASE", nil
	}
	path := filepath.Join(cfg.DataDir, KeyFileName)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", path, nil
	}
	if err != nil {
		return "", path, fmt.Errorf("read the secret key: %w", err)
	}
	b := strings.TrimSpace(string(raw))
	if b == "" {
		return "", path, fmt.Errorf("%s is empty: restore the key the other gitgate processes use", path)
	}
	return b, path, nil
}

// generate makes a new key, stores its check value and writes the key
// file, all or nothing: the file appears only once the check value is
// committed as this key's.
func generate(ctx context.Context, db *store.DB, cfg Config, path string) (*Keyring, string, error) {
	raw := make([]byte, 64)
	if _, err := rand.Read(raw); err != nil {
		return nil, "", fmt.Errorf("generate the secret key: %w", err)
	}
	base := hex.EncodeToString(raw)
	ring, err := NewKeyring(base, cfg.PreviousKeyBase, path)
	if err != nil {
		return nil, "", err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, "", fmt.Errorf("create data directory: %w", err)
	}
	written := false
	err = db.InTx(ctx, func(tx *store.DB) error {
		stored, err := tx.InsertSecretKeyCheck(ctx, ring.CheckValue(), cfg.Now().UTC())
		if err != nil {
			return err
		}
		if !stored {
			return errLostRace
		}
		if err := writeKeyFile(path, base); err != nil {
			return err
		}
		written = true
		return nil
	})
	if err != nil {
		if written {
			// The check value was not committed: a key file for it would
			// be a key no database knows.
			_ = os.Remove(path)
		}
		return nil, "", err
	}
	return ring, path, nil
}

// writeKeyFile creates path with mode 0600 holding base, atomically: the
// key is written to a temporary file that is then linked into place, so
// no process ever reads a half-written key, and an existing file is never
// replaced.
func writeKeyFile(path, base string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+KeyFileName+"-*")
	if err != nil {
		return fmt.Errorf("write the secret key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write the secret key: %w", err)
	}
	if _, err := tmp.WriteString(base + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write the secret key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write the secret key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write the secret key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return errLostRace
		}
		return fmt.Errorf("write the secret key: %w", err)
	}
	return nil
}

// update encrypts plaintext secrets and finishes a rotation, in one
// transaction that holds the key check value against concurrent writers.
func update(ctx context.Context, db *store.DB, ring *Keyring, now time.Time) (Report, error) {
	var rep Report
	err := db.InTx(ctx, func(tx *store.DB) error {
		rep = Report{}
		check, err := tx.LockSecretKeyCheck(ctx)
		if err != nil {
			return err
		}
		rotating := ring.matchesPrevious(check)
		if !rotating && !ring.matchesCurrent(check) {
			// Another process rotated to a key this one does not have.
			return ring.Mismatch()
		}
		// Only a rotation or a previous key can leave sealed values that
		// need rewriting; otherwise just the plaintext ones are read.
		except := SealedPrefix
		if ring.previous != nil {
			except = ""
		}
		rows, err := tx.OTPSecrets(ctx, except)
		if err != nil {
			return err
		}
		for _, r := range rows {
			binding := OTPSecretBinding(r.UserID)
			plain := r.Value
			if IsSealed(r.Value) {
				pt, byPrevious, err := ring.open(r.Value, binding)
				if err != nil {
					rep.Undecryptable = append(rep.Undecryptable, r.UserID)
					continue
				}
				if !byPrevious {
					continue
				}
				plain = pt
				rep.Reencrypted++
			} else {
				rep.Encrypted++
			}
			sealed, err := ring.Seal(plain, binding)
			if err != nil {
				return err
			}
			if err := tx.ReplaceOTPSecret(ctx, r.UserID, sealed); err != nil {
				return err
			}
		}
		if rotating {
			rep.Rotated = true
			return tx.UpdateSecretKeyCheck(ctx, ring.CheckValue(), now)
		}
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	return rep, nil
}

func onlySealed(rows []store.OTPSecret) []store.OTPSecret {
	var out []store.OTPSecret
	for _, r := range rows {
		if IsSealed(r.Value) {
			out = append(out, r)
		}
	}
	return out
}
