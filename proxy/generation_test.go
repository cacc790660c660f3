package proxy

import (
	"bytes"
	"strings"
	"testing"
)

// Demo mode runs on the generation the configuration names: on GA the
// embedded simulator serves only the GA API, so the proxy becoming ready
// (token fetched, subscription made) shows its calls are GA calls with
// the app key.
func TestDemoModeRunsOnTheConfiguredGeneration(t *testing.T) {
	cases := []struct {
		name, version   string
		servedPrefix    string
		notServedPrefix string
	}{
		{"v1beta (the default)", "", "/api/digital/channel/v1beta/", "/api/digital/channel/v1/"},
		{"GA v1", "v1", "/api/digital/channel/v1/", "/api/digital/channel/v1beta/"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var env []string
			if tc.version != "" {
				env = append(env, "CONNECTOR_PROXY_AXP_API_VERSION="+tc.version)
			}
			p, cfg := startDemo(t, env...)
			waitReady(t, p)
			// The other generation's paths are unknown to the simulator.
			code, body := get(t, p.SimulatorURL()+tc.notServedPrefix+"accounts/"+cfg.AXP.AccountID+"/engagements?sessionId=x")
			if code != 404 {
				t.Fatalf("simulator answered %d %s on %s, want 404", code, body, tc.notServedPrefix)
			}
			// Its own answer 401 without credentials, not 404.
			if code, body := get(t, p.SimulatorURL()+tc.servedPrefix+"accounts/"+cfg.AXP.AccountID+"/engagements?sessionId=x"); code != 401 {
				t.Fatalf("simulator answered %d %s on %s, want 401", code, body, tc.servedPrefix)
			}
			var out bytes.Buffer
			Announce(&out, cfg, p)
			if want := "(API " + cfg.AXP.APIVersion + ";"; !strings.Contains(out.String(), want) {
				t.Fatalf("announcement lacks %q:\n%s", want, out.String())
			}
		})
	}
}
