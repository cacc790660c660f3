package proxy

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
)

const (
	testAdminToken = "test-admin-token-1234567890"
	hookApp        = "outbox-app"
	hookSecret     = "outbox-app-secret"
)

// hookReceiver is a connector's webhook endpoint on the loopback: it
// answers 503 while down, 200 otherwise, and keeps the agent texts it took,
// in order.
type hookReceiver struct {
	srv   *httptest.Server
	down  atomic.Bool
	mu    sync.Mutex
	texts []string
	tries atomic.Int32
}

var agentText = regexp.MustCompile(`You said: [^"]*`)

func newHookReceiver(t *testing.T) *hookReceiver {
	t.Helper()
	h := &hookReceiver{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.tries.Add(1)
		if h.down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if m := agentText.Find(body); m != nil {
			h.mu.Lock()
			h.texts = append(h.texts, string(m))
			h.mu.Unlock()
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) target() string { return h.srv.URL + "/content" }

func (h *hookReceiver) got() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.texts...)
}

// outboxConfig is demo mode with an app whose content notifications go to
// h, kept retention, and the admin token set.
func outboxConfig(t *testing.T, h *hookReceiver, retention string, env ...string) *config.Config {
	t.Helper()
	cfg, err := config.Load(writeConfig(t, `
connector_api:
  apps:
    - client_id: `+hookApp+`
      client_secret: `+hookSecret+`
      account_id: DEMOAC
      retention: `+retention+`
      webhooks:
        ms.MessagingEventNotification.ContentEvent: `+h.target()+`
`), append([]string{
		"CONNECTOR_PROXY_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_ADMIN_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_DEMO_SIM_LISTEN=127.0.0.1:0",
		"CONNECTOR_PROXY_DATA_DIR=" + t.TempDir(),
		"CONNECTOR_PROXY_SHUTDOWN_TIMEOUT=5s",
		"CONNECTOR_PROXY_ADMIN_TOKEN=" + testAdminToken,
	}, env...))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := t.TempDir() + "/config.yaml"
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// connectorConversation opens a Connector API conversation as the app
// and returns a function that SENDs a text in it.
func connectorConversation(t *testing.T, p *Proxy, ext string) (conv string, send func(text string)) {
	t.Helper()
	base := "http://" + p.PublicAddr()
	code, _, body := post(t, base+"/sentinel/api/account/DEMOAC/app/token?v=1.0&grant_type=client_credentials&client_id="+hookApp+"&client_secret="+hookSecret, nil, "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil {
		t.Fatalf("AppJWT: %d %s", code, body)
	}
	code, _, body = post(t, base+"/api/account/DEMOAC/consumer?v=1.0", map[string]string{"Authorization": tok.AccessToken}, `{"ext_consumer_id":"`+ext+`"}`)
	var cons struct{ Token string }
	if code != 201 || json.Unmarshal(body, &cons) != nil {
		t.Fatalf("ConsumerJWS: %d %s", code, body)
	}
	auth := map[string]string{"Authorization": tok.AccessToken, "X-LP-ON-BEHALF": cons.Token}
	code, _, body = post(t, base+"/api/account/DEMOAC/messaging/consumer/conversation?v=3", auth, conversationRequest)
	var answers []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if code != 200 || json.Unmarshal(body, &answers) != nil || len(answers) != 2 || answers[1].Body.ConversationID == "" {
		t.Fatalf("CONVERSATION: %d %s", code, body)
	}
	conv = answers[1].Body.ConversationID
	n := 0
	return conv, func(text string) {
		t.Helper()
		n++
		env, _ := json.Marshal(map[string]any{"kind": "req", "id": n, "type": "ms.PublishEvent",
			"body": map[string]any{"dialogId": conv, "event": map[string]string{"type": "ContentEvent", "contentType": "text/plain", "message": text}}})
		if code, _, body := post(t, base+"/api/account/DEMOAC/messaging/consumer/conversation/send?v=3", auth, string(env)); code != 200 {
			t.Fatalf("SEND %q: %d %s", text, code, body)
		}
	}
}

// adminDo calls the outbox API with the token (none when token is "") and
// decodes the answer into out (when not nil).
func adminDo(t *testing.T, p *Proxy, method, path, token, body string, out any) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+p.AdminAddr()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("X-Admin-Actor", "test-operator")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
	return resp.StatusCode, resp.Header, string(raw)
}

// listedItem is an item of the outbox API's listings.
type listedItem struct {
	State        string     `json:"state"`
	Conversation string     `json:"conversation"`
	Seq          uint64     `json:"seq"`
	App          string     `json:"app"`
	Endpoint     string     `json:"endpoint"`
	Target       string     `json:"target"`
	Paused       bool       `json:"paused"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"lastError"`
	NextAttempt  *time.Time `json:"nextAttempt"`
	CreatedAt    time.Time  `json:"createdAt"`
	ExpiresAt    time.Time  `json:"expiresAt"`
	DroppedAt    *time.Time `json:"droppedAt"`
	DropReason   string     `json:"dropReason"`
}

// listing is a page of the outbox API's listings.
type listing struct {
	Items []listedItem `json:"items"`
	Next  string       `json:"next"`
}

// waitListing polls a listing until ok holds, for at most 20 s.
func waitListing(t *testing.T, p *Proxy, path, what string, ok func(listing) bool) listing {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		var l listing
		code, _, body := adminDo(t, p, "GET", path, testAdminToken, "", &l)
		if code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
		if ok(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 20 s; last %s", what, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
