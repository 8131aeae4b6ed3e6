package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/gitgate/gitgate/internal/buildinfo"
)

// writeVersion prints what `gitgate version` and `gitgate --version`
// print: the version on the first line, then the build's details.
func writeVersion(w io.Writer) {
	i := buildinfo.Get()
	fmt.Fprintf(w, "gitgate %s\n  commit: %s\n  built:  %s\n  go:     %s %s\n", i.Version, i.Commit, i.Date, i.GoVersion, i.Platform)
}

func newVersionCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print gitgate's version, the commit and date it was built from, and its Go version",
		Example: "  gitgate version\n  gitgate --version",
		Args:    exactArgs(0),
		// The version must answer even when the configuration does not.
		PersistentPreRunE: func(*cobra.Command, []string) error { return nil },
		RunE: func(*cobra.Command, []string) error {
			writeVersion(a.stdout)
			return nil
		},
	}
}
