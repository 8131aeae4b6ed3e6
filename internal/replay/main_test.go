package replay_test

import (
	"testing"

	"github.com/gitgate/gitgate/internal/testenv"
)

// TestMain lets git run gitgate's hooks as this test binary.
func TestMain(m *testing.M) { testenv.Main(m) }
