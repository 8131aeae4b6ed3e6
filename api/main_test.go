package api_test

import (
	"testing"

	"github.com/gitgate/gitgate/internal/testenv"
)

// TestMain lets git run gitgate's hooks as this test binary: the
// repository tests push with real git, whose receive hook is gitgate.
func TestMain(m *testing.M) { testenv.Main(m) }
