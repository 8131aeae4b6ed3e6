package web_test

import (
	"context"
	"os"
	"testing"

	"github.com/gitgate/gitgate/hooks"
	"github.com/gitgate/gitgate/internal/browser"
)

// TestMain runs git hooks when git starts this binary as one (pushes in
// the tests go to a real server), and stops the shared browser at the end.
func TestMain(m *testing.M) {
	if ran, code := hooks.RunHook(context.Background(), os.Stdin, os.Stdout, os.Stderr); ran {
		os.Exit(code)
	}
	code := m.Run()
	browser.Close()
	os.Exit(code)
}
