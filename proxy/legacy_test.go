package proxy

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/legacyv1"
	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/internal/redistest"
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

// The legacy face is one of the pipeline's faces in the running proxy: on
// either store, an agent's answer reaches the legacy client's webhook in
// the legacy shape and its notifications, and a disconnect closes the
// conversation (the demo's auto agent answers).
func TestTheLegacyFaceIsWiredIntoThePipeline(t *testing.T) {
	for _, store := range []string{"bolt", "redis"} {
		t.Run(store, func(t *testing.T) {
			env := []string{}
			if store == "redis" {
				env = append(env, "CONNECTOR_PROXY_STORE_DRIVER=redis", "CONNECTOR_PROXY_STORE_REDIS_URL="+redistest.Start(t).URL)
			}
			p, cfg := startDemo(t, env...)
			waitReady(t, p)
			hooks := make(chan map[string]any, 32)
			hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				var v map[string]any
				if err := json.NewDecoder(r.Body).Decode(&v); err != nil {
					t.Errorf("legacy webhook: %v", err)
				}
				select {
				case hooks <- v:
				default:
				}
			}))
			t.Cleanup(hs.Close)
			l := legacyClient{t: t, base: "http://" + p.PublicAddr()}
			l.token(cfg.AXP.AccountID)

			var hook struct{ WebhookID string }
			l.do("POST", "/api/digital/v1/channel-providers/"+cfg.AXP.ChannelProviderID+"/webhooks",
				`[{"callbackUrl":"`+hs.URL+`/legacy","eventTypes":["MESSAGES"]}]`, 201, &hook)
			var sess struct{ SessionID string }
			l.do("POST", "/api/digital/v1/sessions", `{"customerIdentifier":"ada@example.com","displayName":"Ada"}`, 201, &sess)
			var eng struct{ EngagementID, DialogID, ProviderDialogID string }
			l.do("POST", "/api/digital/v1/engagements", `{"sessionId":"`+sess.SessionID+`","providerDialogId":"ada-1"}`, 200, &eng)
			l.do("POST", "/api/digital/v1/engagements/"+eng.EngagementID+"/messages",
				`{"sessionId":"`+sess.SessionID+`","dialogId":"`+eng.DialogID+`","body":"hello","providerMessageId":"m-1"}`, 200, nil)

			var msg map[string]any
			select {
			case msg = <-hooks:
			case <-time.After(10 * time.Second):
				t.Fatal("no legacy webhook within 10 s")
			}
			text := msg["body"].(map[string]any)["elementText"].(map[string]any)["text"]
			if msg["eventType"] != "MESSAGES" || msg["senderType"] != "AGENT" || msg["channelId"] != "CHAT" || msg["tenantId"] != cfg.AXP.AccountID ||
				msg["providerDialogId"] != "ada-1" || !strings.Contains(text.(string), "hello") {
				t.Fatalf("legacy webhook %v", msg)
			}
			var notes []map[string]any
			l.do("GET", "/api/digital/v1/engagements/"+eng.EngagementID+"/notifications", "", 200, &notes)
			if len(notes) == 0 || notes[len(notes)-1]["messageId"] != msg["messageId"] {
				t.Fatalf("notifications %v, want the webhook's message last", notes)
			}
			l.do("POST", "/api/digital/v1/engagements/"+eng.EngagementID+":disconnect",
				`{"sessionId":"`+sess.SessionID+`","dialogId":"`+eng.DialogID+`"}`, 200, nil)
			conv, err := p.store.ConversationByDialog(context.Background(), eng.DialogID)
			if err != nil || conv.Open() || conv.Owner.Face != legacyv1.OwnerFace {
				t.Fatalf("conversation after disconnect: %+v, %v", conv, err)
			}
		})
	}
}

// legacyClient calls the proxy's legacy face.
type legacyClient struct {
	t      *testing.T
	base   string
	bearer string
}

func (l *legacyClient) token(account string) {
	l.t.Helper()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	l.do("POST", "/auth/realms/"+account+"/protocol/openid-connect/token",
		"grant_type=client_credentials&client_id="+config.DemoLegacyClientID+"&client_secret="+config.DemoLegacySecret, 200, &tok)
	l.bearer = tok.AccessToken
}

// do sends one request and decodes the answer into out, failing unless
// its status is want.
func (l *legacyClient) do(method, path, body string, want int, out any) {
	l.t.Helper()
	req, _ := http.NewRequest(method, l.base+path, strings.NewReader(body))
	if strings.HasPrefix(path, "/auth/") {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+l.bearer)
	}
	c := http.Client{Timeout: 15 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		l.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			l.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
}
