package engagement_test

import (
	"os"
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// envAPIVersion selects the AXP generation the contract suite runs
// against: v1beta (unset) or v1. .ci/run runs the suite once with each.
const envAPIVersion = "CONNECTOR_PROXY_TEST_AXP_API_VERSION"

// contractAppKey is the appkey of the GA simulator and client.
const contractAppKey = "contract-app-key"

// testAPIVersion is the generation of this run.
func testAPIVersion(t testing.TB) string {
	t.Helper()
	switch v := os.Getenv(envAPIVersion); v {
	case "", engagement.APIV1Beta:
		return engagement.APIV1Beta
	case engagement.APIV1:
		return v
	default:
		t.Fatalf("%s=%q: want v1beta or v1", envAPIVersion, v)
		return ""
	}
}

// simGeneration makes cfg a simulator of this run's generation only, so
// that a call of the other generation fails (404) instead of passing.
func simGeneration(t testing.TB, cfg *simulator.Config) {
	t.Helper()
	cfg.APIVersion, cfg.AppKey = testAPIVersion(t), contractAppKey
}

// clientGeneration makes cfg a client of this run's generation.
func clientGeneration(t testing.TB, cfg *engagement.Config) {
	t.Helper()
	cfg.APIVersion = testAPIVersion(t)
	if cfg.APIVersion == engagement.APIV1 {
		cfg.AppKey = contractAppKey
	}
}
