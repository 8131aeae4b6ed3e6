package server

import "testing"

// SSH clone URLs name an address people can reach: the bound port when
// the configuration says 0, the external URL's host when the door
// listens on every interface.
func TestSSHLinkAddressIsOneClientsCanReach(t *testing.T) {
	for _, c := range []struct{ configured, bound, base, want string }{
		{"127.0.0.1:2222", "127.0.0.1:2222", "http://127.0.0.1:8080", "127.0.0.1:2222"},
		{"127.0.0.1:0", "127.0.0.1:0", "http://127.0.0.1:8080", ""},
		{"127.0.0.1:0", "127.0.0.1:40123", "http://127.0.0.1:8080", "127.0.0.1:40123"},
		{"0.0.0.0:2222", "0.0.0.0:2222", "https://git.example.com", "git.example.com:2222"},
		{":22", ":22", "https://git.example.com:8443/", "git.example.com:22"},
		{"[::]:2222", "[::]:2222", "https://git.example.com", "git.example.com:2222"},
		{"git.internal:2222", "10.0.0.5:2222", "https://git.example.com", "git.internal:2222"},
	} {
		if got := sshLinkAddr(c.configured, c.bound, c.base); got != c.want {
			t.Errorf("sshLinkAddr(%q, %q, %q) = %q, want %q", c.configured, c.bound, c.base, got, c.want)
		}
	}
}
