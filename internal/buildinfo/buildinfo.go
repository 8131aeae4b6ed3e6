// Package buildinfo tells which gitgate is running: its version, the
// commit it was built from, when, and with which Go. `make build` sets
// them with -ldflags (docs/cli.md#version); a plain `go build` or
// `go install` falls back on what the Go toolchain recorded.
package buildinfo

import (
	"runtime"
	"runtime/debug"
)

// Set by -ldflags "-X github.com/gitgate/gitgate/internal/buildinfo.version=…"
// (and commit, date); empty otherwise.
var (
	version string
	commit  string
	date    string
)

// Info describes one build.
type Info struct {
	Version   string
	Commit    string
	Date      string
	GoVersion string
	Platform  string
}

// Get returns the build's information: the -ldflags values first, then
// the module version and VCS stamps Go recorded, then "unknown".
func Get() Info {
	i := Info{Version: version, Commit: commit, Date: date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if i.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			i.Version = bi.Main.Version
		}
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				if i.Commit == "" {
					i.Commit = s.Value
				}
			case "vcs.time":
				if i.Date == "" {
					i.Date = s.Value
				}
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if modified && commit == "" && i.Commit != "" {
			i.Commit += "-dirty"
		}
	}
	for _, f := range []*string{&i.Version, &i.Commit, &i.Date} {
		if *f == "" {
			*f = "unknown"
		}
	}
	if i.Version == "unknown" {
		i.Version = "devel"
	}
	return i
}

// Revision is the commit as GitLab's /version shows its own: the first
// seven hex digits, or "" when unknown.
func (i Info) Revision() string {
	if i.Commit == "unknown" {
		return ""
	}
	if len(i.Commit) > 7 {
		return i.Commit[:7]
	}
	return i.Commit
}
