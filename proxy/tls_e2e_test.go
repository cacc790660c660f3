package proxy

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/internal/testca"
)

const (
	e2eAccount = "le31457780"
	e2eApp     = "tls-connector"
	e2eSecret  = "rl9hacst6kqilbofup64n11ga3"
)

// received is one notification the connector's webhook endpoint got.
type received struct {
	path     string
	body     []byte
	signedOK bool
	account  string
	clientID string
}

// connectorHooks is the connector's webhook endpoint, on plain
// http://127.0.0.1 as a connector under development listens.
type connectorHooks struct {
	url string
	mu  sync.Mutex
	got []received
}

func startConnectorHooks(t *testing.T) *connectorHooks {
	t.Helper()
	h := &connectorHooks{}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.url = "http://" + ln.Addr().String()
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		h.mu.Lock()
		h.got = append(h.got, received{
			path:     r.URL.Path,
			body:     body,
			signedOK: auth.VerifyWebhook(e2eSecret, body, r.Header.Get("X-Liveperson-Signature")),
			account:  r.Header.Get("X-Liveperson-Account-Id"),
			clientID: r.Header.Get("X-Liveperson-Client-Id"),
		})
		h.mu.Unlock()
	})}
	go srv.Serve(ln) //nolint:errcheck // ends with Close
	t.Cleanup(func() { _ = srv.Close() })
	return h
}

// wait returns the first notification pred accepts, within 10 s.
func (h *connectorHooks) wait(t *testing.T, what string, pred func(received) bool) received {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		h.mu.Lock()
		for _, r := range h.got {
			if pred(r) {
				h.mu.Unlock()
				return r
			}
		}
		h.mu.Unlock()
		time.Sleep(10 * time.Millisecond)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []string
	for _, r := range h.got {
		all = append(all, r.path+" "+string(r.body))
	}
	t.Fatalf("timed out waiting for %s; got:\n%s", what, strings.Join(all, "\n"))
	return received{}
}

// startTLSProxy runs the whole process in demo mode with its public
// listener on TLS (a certificate for 127.0.0.1 signed by ca) and a plain
// listener beside it; it returns once the proxy is ready.
func startTLSProxy(t *testing.T, ca *testca.CA, hooksURL string) (*Proxy, func() error) {
	t.Helper()
	dir := t.TempDir()
	cert, key, err := ca.Issue(dir, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var hooks strings.Builder
	for _, k := range auth.WebhookKeys() {
		fmt.Fprintf(&hooks, "        %s: %s/%s\n", k, hooksURL, k)
	}
	path := filepath.Join(dir, "config.yaml")
	yaml := fmt.Sprintf(`listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
data_dir: %s
shutdown_timeout: 5s
demo:
  sim_listen: 127.0.0.1:0
  manual_agent: true
tls:
  cert_file: %s
  key_file: %s
  plain_listen: 127.0.0.1:0
connector_api:
  apps:
    - client_id: %s
      client_secret: %s
      account_id: %s
      webhooks:
%s`, filepath.Join(dir, "data"), cert, key, e2eApp, e2eSecret, e2eAccount, hooks.String())
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, stop := startProxy(t, cfg)
	// Ready means the AXP subscription is in place, so no agent event is
	// missed.
	waitReady(t, p)
	return p, stop
}

// lpClient is a connector that trusts only the test's CA.
type lpClient struct {
	t    *testing.T
	http *http.Client
}

func newLPClient(t *testing.T, ca *testca.CA) *lpClient {
	return &lpClient{t: t, http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12},
	}}}
}

func (c *lpClient) call(method, url string, headers map[string]string, body string, into any) int {
	c.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if into != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, into); err != nil {
			c.t.Fatalf("%s %s: %s: %v", method, url, raw, err)
		}
	}
	if resp.StatusCode/100 != 2 {
		c.t.Logf("%s %s: %d %s", method, url, resp.StatusCode, raw)
	}
	return resp.StatusCode
}

type notification struct {
	Type string `json:"type"`
	Body struct {
		Changes []struct {
			ConversationID     string `json:"conversationId"`
			OriginatorMetadata struct {
				Role string `json:"role"`
			} `json:"originatorMetadata"`
			Event struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"event"`
			Result struct {
				ConvID              string `json:"convId"`
				ConversationDetails struct {
					State       string `json:"state"`
					CloseReason string `json:"closeReason"`
				} `json:"conversationDetails"`
			} `json:"result"`
		} `json:"changes"`
	} `json:"body"`
}

func decode(r received) notification {
	var n notification
	_ = json.Unmarshal(r.body, &n)
	return n
}

// TestConnectorOverTLSKnowingOnlyTheDomainAPIHost is a connector as
// LivePerson's samples write it: it knows one host, resolves sentinel, idp
// and asyncMessagingEnt from the Domain API, and calls each over https.
func TestConnectorOverTLSKnowingOnlyTheDomainAPIHost(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	hooks := startConnectorHooks(t)
	p, stop := startTLSProxy(t, ca, hooks.url)
	c := newLPClient(t, ca)
	domainHost := p.PublicAddr() // the one host the connector is given

	// 1. The Domain API.
	var domains struct {
		BaseURIs []struct{ Service, Account, BaseURI string } `json:"baseURIs"`
	}
	if code := c.call("GET", "https://"+domainHost+"/api/account/"+e2eAccount+"/service/baseURI.json?version=1.0", nil, "", &domains); code != 200 {
		t.Fatalf("Domain API: %d", code)
	}
	hosts := map[string]string{}
	for _, d := range domains.BaseURIs {
		if d.Account != e2eAccount {
			t.Fatalf("Domain API entry %+v names another account", d)
		}
		hosts[d.Service] = d.BaseURI
	}
	for _, svc := range []string{"sentinel", "idp", "asyncMessagingEnt"} {
		if hosts[svc] == "" {
			t.Fatalf("Domain API lacks %s: %+v", svc, domains)
		}
	}

	// 2. AppJWT from sentinel.
	var tok struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if code := c.call("POST", "https://"+hosts["sentinel"]+"/sentinel/api/account/"+e2eAccount+"/app/token?v=1.0&grant_type=client_credentials",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "client_id="+e2eApp+"&client_secret="+e2eSecret, &tok); code != 200 || tok.ExpiresIn <= 0 {
		t.Fatalf("AppJWT: %d %+v", code, tok)
	}
	// 3. ConsumerJWS from idp.
	var jws struct {
		Token string `json:"token"`
	}
	if code := c.call("POST", "https://"+hosts["idp"]+"/api/account/"+e2eAccount+"/consumer?v=1.0",
		map[string]string{"Authorization": tok.AccessToken, "Content-Type": "application/json"}, `{"ext_consumer_id":"tls-consumer"}`, &jws); code != 201 {
		t.Fatalf("ConsumerJWS: %d", code)
	}
	msgs := "https://" + hosts["asyncMessagingEnt"] + "/api/account/" + e2eAccount + "/messaging/consumer/conversation"
	h := map[string]string{"Authorization": tok.AccessToken, "X-LP-ON-BEHALF": jws.Token, "Content-Type": "application/json",
		"Client-Properties": `{"type":".ClientProperties","features":["AUTO_MESSAGES"]}`}

	// 4. CONVERSATION.
	var answers []struct {
		ReqID string `json:"reqId"`
		Body  struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if code := c.call("POST", msgs+"?v=3", h, `[{"kind":"req","id":"1,","type":"userprofile.SetUserProfile","body":{}},`+
		`{"kind":"req","id":"2,","type":"cm.ConsumerRequestConversation","body":{"brandId":"`+e2eAccount+`","channelType":"MESSAGING"}}]`, &answers); code != 200 ||
		len(answers) != 2 || answers[1].ReqID != "2," || answers[1].Body.ConversationID == "" {
		t.Fatalf("CONVERSATION: %d %+v", code, answers)
	}
	conv := answers[1].Body.ConversationID

	// 5. SEND.
	var sent struct {
		ReqID string `json:"reqId"`
		Body  struct {
			Sequence *int `json:"sequence"`
		} `json:"body"`
	}
	if code := c.call("POST", msgs+"/send?v=3", h, `{"kind":"req","id":"3","type":"ms.PublishEvent","body":{"dialogId":"`+conv+
		`","event":{"type":"ContentEvent","contentType":"text/plain","message":"Hello over TLS"}}}`, &sent); code != 200 || sent.Body.Sequence == nil {
		t.Fatalf("SEND: %d %+v", code, sent)
	}

	// 6. The agent (the simulator's, by hand) joins and replies.
	var engs []struct {
		EngagementID string `json:"engagementId"`
	}
	if code := c.call("GET", p.SimulatorURL()+"/sim/accounts/"+config.DemoAccount+"/engagements", nil, "", &engs); code != 200 || len(engs) != 1 {
		t.Fatalf("simulator engagements: %d %+v", code, engs)
	}
	agent := p.SimulatorURL() + "/sim/accounts/" + config.DemoAccount + "/engagements/" + engs[0].EngagementID
	if code := c.call("POST", agent+":agentJoin", map[string]string{"Content-Type": "application/json"}, `{"displayName":"Andy"}`, nil); code/100 != 2 {
		t.Fatalf("agentJoin: %d", code)
	}
	if code := c.call("POST", agent+":agentMessage", map[string]string{"Content-Type": "application/json"}, `{"text":"Hello from the agent"}`, nil); code/100 != 2 {
		t.Fatalf("agentMessage: %d", code)
	}
	reply := hooks.wait(t, "the agent's reply", func(r received) bool {
		n := decode(r)
		return n.Type == "ms.MessagingEventNotification" && len(n.Body.Changes) == 1 &&
			n.Body.Changes[0].ConversationID == conv && n.Body.Changes[0].Event.Message == "Hello from the agent"
	})
	if !reply.signedOK || reply.account != e2eAccount || reply.clientID != e2eApp || reply.path != "/"+auth.WebhookContentEvent {
		t.Fatalf("reply notification: signature ok %v, account %q, client %q, path %q", reply.signedOK, reply.account, reply.clientID, reply.path)
	}
	if role := decode(reply).Body.Changes[0].OriginatorMetadata.Role; role != auth.RoleAssignedAgent {
		t.Fatalf("agent role %q", role)
	}

	// 7. CLOSE.
	if code := c.call("POST", msgs+"/send?v=3", h, `{"kind":"req","id":4,"type":"cm.UpdateConversationField","body":{"conversationId":"`+conv+
		`","conversationField":{"field":"ConversationStateField","conversationState":"CLOSE"}}}`, nil); code != 200 {
		t.Fatalf("CLOSE: %d", code)
	}
	closed := hooks.wait(t, "the CLOSE notification", func(r received) bool {
		n := decode(r)
		return n.Type == "cqm.ExConversationChangeNotification" && len(n.Body.Changes) == 1 &&
			n.Body.Changes[0].Result.ConvID == conv && n.Body.Changes[0].Result.ConversationDetails.State == "CLOSE"
	})
	if !closed.signedOK {
		t.Fatal("CLOSE notification is not signed with the app's secret")
	}

	// Graceful shutdown stops both public listeners.
	tlsAddr, plainAddr := p.PublicAddr(), p.PlainAddr()
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	for _, addr := range []string{tlsAddr, plainAddr} {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections after shutdown", addr)
		}
	}
}

func TestTLSListenerRefusesOldVersionsAndUntrustingClients(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := startTLSProxy(t, ca, startConnectorHooks(t).url)
	for _, tt := range []struct {
		name string
		cfg  *tls.Config
		ok   bool
	}{
		{"TLS 1.2", &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12}, true},
		{"TLS 1.3", &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS13}, true},
		{"TLS 1.1", &tls.Config{RootCAs: ca.Pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, false}, //nolint:gosec // the old version is the point
		{"a client that does not trust the CA", &tls.Config{MinVersion: tls.VersionTLS12}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := &net.Dialer{Timeout: 5 * time.Second}
			conn, err := tls.DialWithDialer(d, "tcp", p.PublicAddr(), tt.cfg)
			if conn != nil {
				conn.Close()
			}
			if (err == nil) != tt.ok {
				t.Fatalf("handshake error %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

// A client that calls the Domain API over plain http is pointed at the TLS
// listener, since connectors call the services over https.
func TestDomainAPIOverPlainHTTPNamesTheTLSListener(t *testing.T) {
	ca, err := testca.New()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := startTLSProxy(t, ca, startConnectorHooks(t).url)
	c := newLPClient(t, ca)
	var one struct{ Service, Account, BaseURI string }
	if code := c.call("GET", "http://"+p.PlainAddr()+"/api/account/"+e2eAccount+"/service/sentinel/baseURI?version=1.0", nil, "", &one); code != 200 {
		t.Fatalf("Domain API over http: %d", code)
	}
	if one.BaseURI != p.PublicAddr() || one.Service != "sentinel" || one.Account != e2eAccount {
		t.Fatalf("answer %+v, want baseURI %s (the TLS listener)", one, p.PublicAddr())
	}
	// And that address does serve the token endpoint over https.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	u := url.URL{Scheme: "https", Host: one.BaseURI, Path: "/sentinel/api/account/" + e2eAccount + "/app/token",
		RawQuery: "v=1.0&grant_type=client_credentials&client_id=" + e2eApp + "&client_secret=" + e2eSecret}
	if code := c.call("POST", u.String(), map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "", &tok); code != 200 || tok.AccessToken == "" {
		t.Fatalf("AppJWT at the resolved host: %d", code)
	}
}
