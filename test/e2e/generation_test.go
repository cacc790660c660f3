package e2e

import (
	"os"
	"testing"
)

// envAPIVersion selects the AXP generation the whole e2e suite runs on:
// v1beta (unset) or v1, the GA API. .ci/run runs the suite once with each.
// On v1 the simulator serves the GA API only, so a proxy that made any
// v1beta call, or any call without the app key, would fail the suite.
const envAPIVersion = "CONNECTOR_PROXY_TEST_AXP_API_VERSION"

// e2eAppKey is the appkey of the GA simulator and proxy.
const e2eAppKey = "e2e-app-key"

// apiVersion is the generation of this run.
func apiVersion(t *testing.T) string {
	t.Helper()
	switch v := os.Getenv(envAPIVersion); v {
	case "", "v1beta":
		return "v1beta"
	case "v1":
		return v
	default:
		t.Fatalf("%s=%q: want v1beta or v1", envAPIVersion, v)
		return ""
	}
}

// simGenerationEnv is the simulator's setting of this run's generation
// (the variables its -api-version and -app-key flags default to).
func simGenerationEnv(t *testing.T) []string {
	return []string{"SIM_API_VERSION=" + apiVersion(t), "SIM_APP_KEY=" + e2eAppKey}
}

// proxyGenerationEnv is the proxy configuration of this run's generation
// (through the environment, so that the YAML the tests write is the same
// for both).
func proxyGenerationEnv(t *testing.T) []string {
	env := []string{"CONNECTOR_PROXY_AXP_API_VERSION=" + apiVersion(t)}
	if apiVersion(t) == "v1" {
		env = append(env, "CONNECTOR_PROXY_AXP_APP_KEY="+e2eAppKey)
	}
	return env
}
