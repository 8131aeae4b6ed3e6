package server_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/gitgate/gitgate/logging"
	"github.com/gitgate/gitgate/server"
)

// New builds every part before it returns, so a bad setting fails there,
// named, and what was built before it (the pack cache's socket directory
// among them) is released rather than left behind.
func TestNewFailsOnABadSettingNamingItAndLeavesNothingBehind(t *testing.T) {
	for _, tc := range []struct {
		name      string
		configure func(*server.Config)
		want      string
	}{
		{"lockout allow-list", func(c *server.Config) { c.AuthLockoutAllowList = []string{"not-a-cidr"} }, "GITGATE_AUTH_LOCKOUT_ALLOWLIST"},
		{"trusted proxies", func(c *server.Config) { c.TrustedProxies = []string{"10.0.0.0/33"} }, "GITGATE_TRUSTED_PROXIES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := server.Config{DataDir: t.TempDir(), HTTPAddr: "127.0.0.1:0", SSHAddr: "127.0.0.1:0",
				InitialRootPassword: "root-password-for-tests"}
			tc.configure(&cfg)
			// Short: the pack cache's unix socket lives below it.
			tmp, err := os.MkdirTemp("", "gg")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(tmp) })
			t.Setenv("TMPDIR", tmp)
			srv, err := server.New(context.Background(), cfg, logging.Discard())
			if err == nil {
				_ = srv.Shutdown(context.Background())
				t.Fatalf("New accepted a bad %s", tc.name)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v; want an error naming %s", err, tc.want)
			}
			if left, _ := os.ReadDir(tmp); len(left) != 0 {
				t.Fatalf("New left %d entries in the temporary directory (first %s)", len(left), left[0].Name())
			}
		})
	}
}
