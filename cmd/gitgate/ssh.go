package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/sshserver"
)

func newSSHCmd(a *app) *cobra.Command {
	hostKeys := &cobra.Command{
		Use:     "host-keys",
		Short:   "Print the SSH host key fingerprints, for known_hosts",
		Example: "  gitgate ssh host-keys\n  gitgate --data-dir /srv/gitgate ssh host-keys",
		Args:    exactArgs(0),
		RunE: func(*cobra.Command, []string) error {
			dataDir := a.cfg.Defaults().DataDir
			fps, err := sshserver.HostKeyFingerprints(dataDir)
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("no SSH host keys in %s yet: gitgate serve creates them on its first start", dataDir)
			}
			if err != nil {
				return err
			}
			for _, fp := range fps {
				fmt.Fprintln(a.stdout, fp)
			}
			return nil
		},
	}
	return parentCmd("ssh", "Inspect the SSH door", "  gitgate ssh host-keys", hostKeys)
}
