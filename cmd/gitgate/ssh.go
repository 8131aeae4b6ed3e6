package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/gitgate/gitgate/sshserver"
)

func cmdSSH(_ context.Context, a *app, args []string) error {
	const usage = "ssh host-keys"
	if len(args) == 0 || args[0] != "host-keys" {
		return usagef("usage: gitgate %s", usage)
	}
	flags := newFlagSet("ssh host-keys", a)
	if _, err := parseExact(flags, args[1:], 0, usage); err != nil {
		return err
	}
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
}
