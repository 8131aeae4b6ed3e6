package buildinfo

import (
	"runtime"
	"testing"
)

// A test binary has no -ldflags values: what Get reports then comes from
// the toolchain, and nothing is ever empty.
func TestWithoutLdflagsNothingIsEmptyAndGoIsTheRuntimes(t *testing.T) {
	i := Get()
	if i.GoVersion != runtime.Version() || i.Platform != runtime.GOOS+"/"+runtime.GOARCH {
		t.Errorf("Go %q on %q", i.GoVersion, i.Platform)
	}
	for name, v := range map[string]string{"version": i.Version, "commit": i.Commit, "date": i.Date} {
		if v == "" {
			t.Errorf("empty %s", name)
		}
	}
}

func TestLdflagsValuesWin(t *testing.T) {
	version, commit, date = "v1.2.3", "abcdef0123456789", "2026-11-30T00:00:00Z"
	t.Cleanup(func() { version, commit, date = "", "", "" })
	if i := Get(); i.Version != "v1.2.3" || i.Commit != "abcdef0123456789" || i.Date != "2026-11-30T00:00:00Z" {
		t.Errorf("Get() = %+v", i)
	}
}

func TestRevisionIsSevenDigitsOrNothing(t *testing.T) {
	for commit, want := range map[string]string{"abcdef0123456789": "abcdef0", "abc": "abc", "unknown": ""} {
		if got := (Info{Commit: commit}).Revision(); got != want {
			t.Errorf("Revision of %q = %q, want %q", commit, got, want)
		}
	}
}
