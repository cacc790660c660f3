package connectorapi

import (
	"testing"

	"github.com/connector-proxy/connector-proxy/internal/simproc"
)

// TestMain lets a benchmark run the simulator in a child process (see
// simproc).
func TestMain(m *testing.M) { simproc.Main(m) }
