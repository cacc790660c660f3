package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
)

// In demo mode the legacy /api/digital/v1 face is served with the demo
// client, on whichever AXP generation the configuration names.
func TestDemoModeServesTheLegacyFace(t *testing.T) {
	for _, version := range []string{"v1beta", "v1"} {
		t.Run(version, func(t *testing.T) {
			p, cfg := startDemo(t, "CONNECTOR_PROXY_AXP_API_VERSION="+version)
			waitReady(t, p)
			base := "http://" + p.PublicAddr()
			c := http.Client{Timeout: 5 * time.Second}
			req, _ := http.NewRequest("POST", base+"/auth/realms/"+cfg.AXP.AccountID+"/protocol/openid-connect/token",
				strings.NewReader("grant_type=client_credentials&client_id="+config.DemoLegacyClientID+"&client_secret="+config.DemoLegacySecret))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			var tok struct {
				AccessToken string `json:"access_token"`
			}
			err = json.NewDecoder(resp.Body).Decode(&tok)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || tok.AccessToken == "" {
				t.Fatalf("token: %d %v", resp.StatusCode, err)
			}
			req, _ = http.NewRequest("POST", base+"/api/digital/v1/sessions", strings.NewReader(`{"customerIdentifier":"ada@example.com","displayName":"Ada"}`))
			req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 201 || !strings.Contains(string(body), `"sessionStatus":"ACTIVE"`) {
				t.Fatalf("legacy create session: %d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestLegacyRouteNames(t *testing.T) {
	for path, want := range map[string]string{
		"/api/digital/v1/engagements/d3c8400d/messages":     "legacyv1",
		"/auth/realms/DEMOAC/protocol/openid-connect/token": "legacyv1_token",
	} {
		if got := routeName([]byte(path)); got != want {
			t.Errorf("routeName(%q) = %q, want %q", path, got, want)
		}
	}
}
