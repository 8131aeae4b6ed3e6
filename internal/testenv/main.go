package testenv

import (
	"context"
	"os"
	"testing"

	"github.com/gitgate/gitgate/hooks"
)

// Main is TestMain for packages whose tests push to a server: git runs
// gitgate's hooks as the current executable, which in tests is the test
// binary, so when started as a hook it must run the hook and exit instead
// of running the tests.
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	if ran, code := hooks.RunHook(context.Background(), os.Stdin, os.Stdout, os.Stderr); ran {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
