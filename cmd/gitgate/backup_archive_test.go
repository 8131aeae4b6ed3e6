package main_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/store"
)

// archiveMember is one member of a backup archive, read whole.
type archiveMember struct {
	hdr  tar.Header
	body []byte
}

func readArchive(t *testing.T, file string) []archiveMember {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []archiveMember
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, archiveMember{hdr: *h, body: b})
	}
}

func writeArchive(t *testing.T, file string, members []archiveMember) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, m := range members {
		h := m.hdr
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(m.body))
		}
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(m.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// withManifest returns members with the manifest edited by edit.
func withManifest(t *testing.T, members []archiveMember, edit func(m map[string]any)) []archiveMember {
	t.Helper()
	out := append([]archiveMember(nil), members...)
	var m map[string]any
	if err := json.Unmarshal(out[0].body, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out[0].body = b
	return out
}

func TestBackupAndRestoreKeepSecretFilesPrivate(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	c.must("repo", "create", "alice/code")
	hostKeys := filepath.Join(c.dataDir, "ssh")
	if err := os.MkdirAll(hostKeys, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(hostKeys, "ssh_host_ed25519_key"), []byte("a host key\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "gitgate.tar.gz")
	c.must("backup", "--to", archive)
	if st, err := os.Stat(archive); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("the archive: %v, %v", st.Mode(), err)
	}
	for _, m := range readArchive(t, archive) {
		if m.hdr.Mode&0o077 != 0 {
			t.Errorf("member %s has mode %o in the archive", m.hdr.Name, m.hdr.Mode)
		}
	}
	target := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "restored")}
	target.must("restore", archive)
	for _, f := range []struct {
		name string
		perm os.FileMode
	}{
		{"secret_key", 0o600}, {"gitgate.db", 0o600}, {"ssh", 0o700}, {"ssh/ssh_host_ed25519_key", 0o600},
	} {
		st, err := os.Stat(filepath.Join(target.dataDir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm()&^f.perm != 0 {
			t.Errorf("restored %s has mode %o, want at most %o", f.name, st.Mode().Perm(), f.perm)
		}
	}
}

func TestRestoreRefusesArchiveMembersThatLeadOutsideTheRestore(t *testing.T) {
	c := newCLI(t, store.SQLite)
	c.must("user", "create", "--username", "alice", "--email", "alice@example.com")
	archive := filepath.Join(t.TempDir(), "gitgate.tar.gz")
	c.must("backup", "--to", archive)
	good := readArchive(t, archive)
	outside := filepath.Join(t.TempDir(), "outside")
	reg := func(name, body string) archiveMember {
		return archiveMember{hdr: tar.Header{Name: name, Mode: 0o600, Typeflag: tar.TypeReg}, body: []byte(body)}
	}
	cases := []struct {
		name    string
		members []archiveMember
		want    string
	}{
		{"a parent directory member", append(good, reg("ssh/../../escaped", "x")), "unexpected member"},
		{"an absolute member", append(good, reg(outside, "x")), "unexpected member"},
		{"a symbolic link", append(good, archiveMember{hdr: tar.Header{Name: "ssh/ssh_host_rsa_key", Linkname: outside,
			Typeflag: tar.TypeSymlink, Mode: 0o777}}), "unexpected member"},
		{"a hard link", append(good, archiveMember{hdr: tar.Header{Name: "ssh/ssh_host_rsa_key", Linkname: "secret_key",
			Typeflag: tar.TypeLink, Mode: 0o600}}), "unexpected member"},
		{"a member the manifest does not name", append(good, reg("ssh/ssh_host_rsa_key", "x")), "unexpected member"},
		{"a host key named with a parent directory", withManifest(t, good, func(m map[string]any) {
			m["host_keys"] = []string{"../../escaped"}
		}), "bad host key name"},
		{"a bundle named outside the repositories", withManifest(t, good, func(m map[string]any) {
			m["projects"] = []map[string]any{{"id": 1, "head": "refs/heads/main", "refs": 1, "bundle": "../../escaped"}}
		}), "bad bundle name"},
		{"a HEAD that is an option", withManifest(t, good, func(m map[string]any) {
			m["projects"] = []map[string]any{{"id": 1, "head": "--template=/tmp", "refs": 0}}
		}), "bad HEAD"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "hostile.tar.gz")
			writeArchive(t, file, tc.members)
			target := &cli{t: t, dataDir: filepath.Join(t.TempDir(), "restored")}
			r := target.run("restore", file)
			if r.code != 1 || !strings.Contains(r.stderr, tc.want) || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("restore: %+v", r)
			}
			if _, err := os.Lstat(target.dataDir); !os.IsNotExist(err) {
				t.Errorf("the refused restore left the data directory behind: %v", err)
			}
			for _, p := range []string{outside, filepath.Join(filepath.Dir(target.dataDir), "escaped")} {
				if _, err := os.Lstat(p); !os.IsNotExist(err) {
					t.Errorf("the refused restore wrote %s", p)
				}
			}
		})
	}
}
