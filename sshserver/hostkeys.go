package sshserver

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	gossh "golang.org/x/crypto/ssh"
)

// HostKeyDir is where host keys live inside the data directory.
const HostKeyDir = "ssh"

// hostKeySpec is one host key gitgate keeps: ed25519 for every modern
// client, RSA-3072 for old ones that know nothing else.
type hostKeySpec struct {
	file     string
	generate func() (crypto.Signer, error)
}

var hostKeySpecs = []hostKeySpec{
	{"ssh_host_ed25519_key", func() (crypto.Signer, error) {
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	}},
	{"ssh_host_rsa_key", func() (crypto.Signer, error) {
		return rsa.GenerateKey(rand.Reader, 3072)
	}},
}

// LoadOrCreateHostKeys returns the host keys under dataDir, generating
// the missing ones (mode 0600, in a 0700 directory). A key is generated
// once and reused forever: its fingerprint is what every client has
// pinned in known_hosts.
func LoadOrCreateHostKeys(dataDir string) ([]gossh.Signer, error) {
	dir := filepath.Join(dataDir, HostKeyDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create host key directory %s: %w", dir, err)
	}
	var out []gossh.Signer
	for _, spec := range hostKeySpecs {
		path := filepath.Join(dir, spec.file)
		signer, err := loadHostKey(path)
		if errors.Is(err, fs.ErrNotExist) {
			signer, err = createHostKey(path, spec)
		}
		if err != nil {
			return nil, err
		}
		out = append(out, signer)
	}
	return out, nil
}

// HostKeyFingerprints lists the SHA256 fingerprints of the host keys in
// dataDir, one "type SHA256:…" line per key, without creating any: the
// CLI shows what clients will see (an error wrapping fs.ErrNotExist
// means the server has not started there yet).
func HostKeyFingerprints(dataDir string) ([]string, error) {
	var out []string
	for _, spec := range hostKeySpecs {
		signer, err := loadHostKey(filepath.Join(dataDir, HostKeyDir, spec.file))
		if err != nil {
			return nil, err
		}
		out = append(out, fingerprintLine(signer.PublicKey()))
	}
	return out, nil
}

func fingerprintLine(k gossh.PublicKey) string {
	return k.Type() + " " + gossh.FingerprintSHA256(k)
}

func loadHostKey(path string) (gossh.Signer, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read host key: %w", err)
	}
	signer, err := gossh.ParsePrivateKey(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("parse host key %s: %w", path, err)
	}
	return signer, nil
}

// createHostKey writes a new key aside and links it into place, so two
// servers starting together on one data directory never overwrite each
// other's key: the second one loses the link and loads the first one's.
func createHostKey(path string, spec hostKeySpec) (gossh.Signer, error) {
	key, err := spec.generate()
	if err != nil {
		return nil, fmt.Errorf("generate host key %s: %w", spec.file, err)
	}
	block, err := gossh.MarshalPrivateKey(key, "gitgate host key")
	if err != nil {
		return nil, fmt.Errorf("encode host key %s: %w", spec.file, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+spec.file+"-")
	if err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	defer os.Remove(tmp.Name())
	// CreateTemp already uses 0600; Chmod states the requirement.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if _, err := tmp.Write(pem.EncodeToMemory(block)); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return nil, fmt.Errorf("write host key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("install host key %s: %w", path, err)
	}
	return loadHostKey(path)
}
