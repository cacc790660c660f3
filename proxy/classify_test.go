package proxy

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/internal/siotest"
)

// httpCall is one request to the proxy or the simulator: the status, the
// Retry-After header and the body.
func httpCall(t *testing.T, method, url string, headers map[string]string, body string) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), raw
}

// AXP's 429 and 5xx mean one thing on every face: the Connector API's SEND,
// the Customer Channel's init and its socket sendMessage, and the legacy
// face's session create all answer a retryable failure, with AXP's
// Retry-After carried through.
func TestOneAXPFailureGetsOneClassificationOnEveryFace(t *testing.T) {
	p, cfg := startDemo(t, "CONNECTOR_PROXY_DEMO_MANUAL_AGENT=true")
	waitReady(t, p)
	pub, sim := "http://"+p.PublicAddr(), p.SimulatorURL()

	// A Connector API conversation.
	_, _, tok := httpCall(t, "POST", pub+"/sentinel/api/account/DEMOAC/app/token?v=1.0&grant_type=client_credentials&client_id="+
		config.DemoAppClientID+"&client_secret="+config.DemoAppClientSecret, nil, "")
	var appJWT struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(tok, &appJWT); err != nil || appJWT.AccessToken == "" {
		t.Fatalf("AppJWT %s: %v", tok, err)
	}
	_, _, cons := httpCall(t, "POST", pub+"/api/account/DEMOAC/consumer?v=1.0", map[string]string{"Authorization": appJWT.AccessToken}, `{"ext_consumer_id":"classify-1"}`)
	var jws struct{ Token string }
	if err := json.Unmarshal(cons, &jws); err != nil || jws.Token == "" {
		t.Fatalf("ConsumerJWS %s: %v", cons, err)
	}
	lp := map[string]string{"Authorization": appJWT.AccessToken, "X-LP-ON-BEHALF": jws.Token}
	code, _, opened := httpCall(t, "POST", pub+"/api/account/DEMOAC/messaging/consumer/conversation?v=3", lp,
		`[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{}},{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"DEMOAC"}}]`)
	var convAnswer []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if err := json.Unmarshal(opened, &convAnswer); code != 200 || err != nil || len(convAnswer) != 2 {
		t.Fatalf("CONVERSATION %d %s: %v", code, opened, err)
	}
	lpConv := convAnswer[1].Body.ConversationID

	// A Customer Channel conversation, joined on a socket.
	code, _, initRaw := httpCall(t, "POST", pub+"/api/customer/init", nil, `{"channel":"web","firstName":"Ada","email":"ada-classify@example.com"}`)
	var initAnswer struct {
		ConversationID string `json:"conversationId"`
		Participant    struct{ ID string }
	}
	if err := json.Unmarshal(initRaw, &initAnswer); code != 200 || err != nil {
		t.Fatalf("init %d %s: %v", code, initRaw, err)
	}
	sock, err := siotest.Dial(pub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if ack, err := sock.Call("joinConversation", map[string]string{"conversationId": initAnswer.ConversationID, "id": initAnswer.Participant.ID, "name": "Ada"}); err != nil || !strings.Contains(string(ack[0]), `"ok"`) {
		t.Fatalf("join: %s %v", ack, err)
	}

	// A legacy /v1 client's token (the proxy's own, no AXP call).
	_, _, legacyTok := httpCall(t, "POST", pub+"/auth/realms/"+cfg.AXP.AccountID+"/protocol/openid-connect/token",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
		"grant_type=client_credentials&client_id="+config.DemoLegacyClientID+"&client_secret="+config.DemoLegacySecret)
	var legacy struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(legacyTok, &legacy); err != nil || legacy.AccessToken == "" {
		t.Fatalf("legacy token %s: %v", legacyTok, err)
	}

	tests := []struct {
		name       string
		fault      string // injected on every AXP POST
		retryAfter string
		lpStatus   int
		lpCode     int
		initStatus int
		code       string // init's code and the socket's
	}{
		{"throttled", `{"status":429,"retryAfter":30,"method":"POST"}`, "30", 429, 42900, 429, "RATE_LIMITED"},
		{"unavailable with Retry-After", `{"status":503,"retryAfter":7,"method":"POST"}`, "7", 503, 50300, 503, "UNAVAILABLE"},
		{"failing without Retry-After", `{"status":502,"method":"POST"}`, "", 503, 50300, 503, "UNAVAILABLE"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, body := httpCall(t, "POST", sim+"/sim/faults", nil, tt.fault); code != 201 {
				t.Fatalf("fault: %d %s", code, body)
			}
			t.Cleanup(func() { httpCall(t, "DELETE", sim+"/sim/faults", nil, "") })

			code, retry, body := httpCall(t, "POST", pub+"/api/account/DEMOAC/messaging/consumer/conversation/send?v=3", lp,
				`{"kind":"req","id":"9","type":"ms.PublishEvent","body":{"dialogId":"`+lpConv+`","event":{"type":"ContentEvent","contentType":"text/plain","message":"hello"}}}`)
			var lpErr struct {
				Body struct {
					ErrorCode int `json:"errorCode"`
				} `json:"body"`
			}
			_ = json.Unmarshal(body, &lpErr)
			if code != tt.lpStatus || lpErr.Body.ErrorCode != tt.lpCode || retry != tt.retryAfter {
				t.Errorf("SEND: %d errorCode %d Retry-After %q, want %d %d %q: %s", code, lpErr.Body.ErrorCode, retry, tt.lpStatus, tt.lpCode, tt.retryAfter, body)
			}

			code, retry, body = httpCall(t, "POST", pub+"/api/customer/init", nil, fmt.Sprintf(`{"channel":"web","email":"new-%d@example.com"}`, i))
			var httpErr struct {
				Status int
				Code   string
			}
			_ = json.Unmarshal(body, &httpErr)
			if code != tt.initStatus || httpErr.Code != tt.code || retry != tt.retryAfter {
				t.Errorf("init: %d %s Retry-After %q, want %d %s %q: %s", code, httpErr.Code, retry, tt.initStatus, tt.code, tt.retryAfter, body)
			}

			code, retry, body = httpCall(t, "POST", pub+"/api/digital/v1/sessions", map[string]string{"Authorization": "Bearer " + legacy.AccessToken},
				fmt.Sprintf(`{"customerIdentifier":"legacy-%d@example.com","displayName":"Lee"}`, i))
			if code != tt.initStatus || retry != tt.retryAfter || !strings.Contains(string(body), `"status":`+fmt.Sprint(tt.initStatus)) {
				t.Errorf("legacy create session: %d Retry-After %q, want %d %q: %s", code, retry, tt.initStatus, tt.retryAfter, body)
			}

			ack, err := sock.Call("sendMessage", map[string]string{"type": "ChatMessage", "conversationId": initAnswer.ConversationID, "text": "hello"})
			if err != nil || len(ack) == 0 {
				t.Fatalf("sendMessage: %v", err)
			}
			var a struct {
				Status string
				Error  struct {
					Code       string
					Retryable  bool
					RetryAfter int
				}
			}
			if err := json.Unmarshal(ack[0], &a); err != nil {
				t.Fatal(err)
			}
			wantAfter := 0
			fmt.Sscan(tt.retryAfter, &wantAfter)
			if a.Status != "error" || a.Error.Code != tt.code || !a.Error.Retryable || a.Error.RetryAfter != wantAfter {
				t.Errorf("sendMessage ack %s, want %s retryable with retryAfter %d", ack[0], tt.code, wantAfter)
			}
		})
	}
}
