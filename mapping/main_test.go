package mapping

import (
	"os"
	"testing"
)

// TestMain runs the test binary as a child that writes send records until
// it is killed, when sendChildEnv names its store (see
// TestAcknowledgedSendRecordsSurviveSIGKILL).
func TestMain(m *testing.M) {
	if path := os.Getenv(sendChildEnv); path != "" {
		os.Exit(runSendChild(path, os.Getenv(sendChildRound)))
	}
	os.Exit(m.Run())
}
