package proxy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/simulator"
)

func postContent(t *testing.T, url, contentType, body string, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// sseEvents reads the console's notification stream: each "notification"
// event's data, decoded.
func sseEvents(t *testing.T, url string) <-chan map[string]any {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream; charset=utf-8" {
		t.Fatalf("stream = %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	ready := make(chan struct{})
	out := make(chan map[string]any, 16)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		var event string
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "event: "):
				event = line[7:]
				if event == "ready" {
					close(ready)
				}
			case strings.HasPrefix(line, "data: ") && event == "notification":
				var n map[string]any
				if json.Unmarshal([]byte(line[6:]), &n) == nil {
					out <- n
				}
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(5 * time.Second):
		t.Fatal("the stream never said ready")
	}
	return out
}

func nextNote(t *testing.T, notes <-chan map[string]any, key string) map[string]any {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case n := <-notes:
			if n["key"] == key {
				return n
			}
		case <-deadline:
			t.Fatalf("no %s notification reached the console", key)
		}
	}
}

// The whole loop the console shows, without a browser: a connector's
// conversation, the agent desk answering through /demo/agent/, and the
// notifications arriving at the console's sink, verified, on its stream.
func TestDemoConsoleShowsTheConnectorLoop(t *testing.T) {
	p, cfg := startDemo(t, "CONNECTOR_PROXY_DEMO_MANUAL_AGENT=true")
	waitReady(t, p)
	base := "http://" + p.PublicAddr()
	if p.ConsoleURL() != base+"/demo/" {
		t.Fatalf("ConsoleURL %q", p.ConsoleURL())
	}
	app, _ := p.tokens.App(config.DemoAccount, config.DemoAppClientID)
	for _, key := range []string{auth.WebhookContentEvent, auth.WebhookConversationChange} {
		if got, want := app.Webhook(key), base+"/demo/hooks/"+key; got != want {
			t.Fatalf("demo app's %s webhook = %q, want %q", key, got, want)
		}
	}
	var banner bytes.Buffer
	Announce(&banner, cfg, p)
	if !strings.Contains(banner.String(), "OPEN THE DEMO CONSOLE: "+base+"/demo/") {
		t.Fatalf("the banner does not name the console:\n%s", banner.String())
	}
	if code, body := get(t, base+"/demo/"); code != 200 || !strings.Contains(body, "<title>connector-proxy demo console</title>") {
		t.Fatalf("/demo/ = %d", code)
	}
	notes := sseEvents(t, base+"/demo/notifications")

	code, body := postContent(t, base+"/sentinel/api/account/DEMOAC/app/token?v=1.0&grant_type=client_credentials", "application/x-www-form-urlencoded",
		"client_id=demo-app&client_secret=demo-app-secret")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil {
		t.Fatalf("AppJWT = %d %s", code, body)
	}
	code, body = postContent(t, base+"/api/account/DEMOAC/consumer?v=1.0", "application/json", `{"ext_consumer_id":"console-loop"}`, "Authorization", tok.AccessToken)
	var jws struct{ Token string }
	if code != 201 || json.Unmarshal(body, &jws) != nil {
		t.Fatalf("ConsumerJWS = %d %s", code, body)
	}
	code, body = postContent(t, base+"/api/account/DEMOAC/messaging/consumer/conversation?v=3", "application/json",
		`[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"Loop","lastname":"Test"}}]}}},
		  {"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"DEMOAC"}}]`,
		"Authorization", tok.AccessToken, "X-LP-ON-BEHALF", jws.Token)
	var answers []struct {
		Body struct{ ConversationID string }
	}
	if code != 200 || json.Unmarshal(body, &answers) != nil || len(answers) != 2 || answers[1].Body.ConversationID == "" {
		t.Fatalf("CONVERSATION = %d %s", code, body)
	}
	conv := answers[1].Body.ConversationID

	code, body = func() (int, []byte) {
		c, b := get(t, base+"/demo/agent/accounts/DEMOAC/engagements")
		return c, []byte(b)
	}()
	var engs []simulatorEngagement
	if code != 200 || json.Unmarshal(body, &engs) != nil || len(engs) != 1 {
		t.Fatalf("agent desk list = %d %s", code, body)
	}
	verb := base + "/demo/agent/accounts/DEMOAC/engagements/" + engs[0].EngagementID + ":"
	if code, body := postContent(t, verb+"agentJoin", "application/json", `{"displayName":"Desk"}`); code != 200 {
		t.Fatalf("agentJoin = %d %s", code, body)
	}
	joined := nextNote(t, notes, auth.WebhookConversationChange)
	if joined["verified"] != true || joined["clientId"] != config.DemoAppClientID || !strings.Contains(mustJSON(t, joined["body"]), conv) {
		t.Fatalf("join notification %v", joined)
	}
	if code, body := postContent(t, verb+"agentMessage", "application/json", `{"text":"Hello from the desk"}`); code != 200 {
		t.Fatalf("agentMessage = %d %s", code, body)
	}
	msg := nextNote(t, notes, auth.WebhookContentEvent)
	if msg["verified"] != true || !strings.Contains(mustJSON(t, msg["body"]), `"message":"Hello from the desk"`) {
		t.Fatalf("content notification %v", msg)
	}
}

type simulatorEngagement struct {
	EngagementID string `json:"engagementId"`
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestDemoConsoleSwitch(t *testing.T) {
	t.Run("off in demo mode", func(t *testing.T) {
		p, cfg := startDemo(t, "CONNECTOR_PROXY_DEMO_CONSOLE=false")
		if code, body := get(t, "http://"+p.PublicAddr()+"/demo/"); code != 404 || body != `{"error":"not found"}` {
			t.Fatalf("/demo/ = %d %s", code, body)
		}
		if p.ConsoleURL() != "" {
			t.Fatalf("ConsoleURL %q", p.ConsoleURL())
		}
		if app, _ := p.tokens.App(config.DemoAccount, config.DemoAppClientID); len(app.Webhooks) != 0 {
			t.Fatalf("with the console off the demo app's webhooks were set: %v", app.Webhooks)
		}
		var banner bytes.Buffer
		Announce(&banner, cfg, p)
		if strings.Contains(banner.String(), "/demo/") {
			t.Fatalf("the banner names a console that is off:\n%s", banner.String())
		}
	})

	// A real AXP (here a stand-alone simulator, as cmd/engagement-sim runs).
	realAXP := func(t *testing.T, env ...string) *Proxy {
		sim := startSimulator(t)
		p, _ := startDemo(t, append([]string{
			"CONNECTOR_PROXY_AXP_BASE_URL=" + sim.URL,
			"CONNECTOR_PROXY_AXP_ACCOUNT_ID=ABCDEF",
			"CONNECTOR_PROXY_AXP_CLIENT_ID=demo-client",
			"CONNECTOR_PROXY_AXP_CLIENT_SECRET=demo-secret",
			"CONNECTOR_PROXY_AXP_CHANNEL_PROVIDER_ID=Chat01",
		}, env...)...)
		return p
	}
	t.Run("off with a real AXP", func(t *testing.T) {
		p := realAXP(t)
		if code, _ := get(t, "http://"+p.PublicAddr()+"/demo/"); code != 404 {
			t.Fatalf("/demo/ = %d", code)
		}
	})
	t.Run("on with a real AXP when configured: no credentials, no agent desk", func(t *testing.T) {
		p := realAXP(t, "CONNECTOR_PROXY_DEMO_CONSOLE=true")
		base := "http://" + p.PublicAddr()
		if code, _ := get(t, base+"/demo/"); code != 200 {
			t.Fatalf("/demo/ = %d", code)
		}
		_, body := get(t, base+"/demo/config.json")
		if body != `{"demo":false,"account":"","agentDesk":false,"notifications":false}` {
			t.Fatalf("config.json = %s", body)
		}
		if code, body := get(t, base+"/demo/agent/auto-agent"); code != 404 || !strings.Contains(body, "demo mode") {
			t.Fatalf("agent desk = %d %s", code, body)
		}
	})
}

func startSimulator(t *testing.T) *simulator.Server {
	t.Helper()
	sim, err := simulator.Start(t.Context(), simulator.Config{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func TestDemoRouteNames(t *testing.T) {
	for path, want := range map[string]string{
		"/demo":               "demo",
		"/demo/":              "demo",
		"/demo/console.js":    "demo",
		"/demo/notifications": "demo_notifications",
		"/demo/agent/accounts/X/engagements/5f0c:agentJoin":      "demo_agent",
		"/demo/hooks/ms.MessagingEventNotification.ContentEvent": "demo_hooks",
	} {
		if got := routeName([]byte(path)); got != want {
			t.Errorf("routeName(%q) = %q, want %q", path, got, want)
		}
	}
}

// The sink is in the process itself: notifications go over the loopback
// whatever public_url the world uses (a plain-http public_url to another
// host would not even be allowed as a webhook).
func TestDemoConsoleSinkStaysOnTheLoopback(t *testing.T) {
	p, _ := startDemo(t, "CONNECTOR_PROXY_PUBLIC_URL=http://proxy.example.com:8080")
	app, _ := p.tokens.App(config.DemoAccount, config.DemoAppClientID)
	want := "http://" + p.PublicAddr() + "/demo/hooks/" + auth.WebhookContentEvent
	if got := app.Webhook(auth.WebhookContentEvent); got != want {
		t.Fatalf("webhook %q, want %q", got, want)
	}
	if got := p.ConsoleURL(); got != "http://proxy.example.com:8080/demo/" {
		t.Fatalf("ConsoleURL %q: the banner names the public URL", got)
	}
}
