package legacyv1

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// The harness: the legacy face over loopback HTTP, on the real engagement
// client and the simulator, the embedded store and the event pipeline.

const (
	hAccount  = "ABCDEF"
	hProvider = "ChatConnector01"
	hClient   = "legacy-client"
	hSecret   = "legacy-secret"
)

// countingBackend is the real client, counting the calls that go to AXP.
type countingBackend struct {
	*engagement.Client
	calls atomic.Int64
}

func (c *countingBackend) n() int64 { return c.calls.Load() }

func (c *countingBackend) CreateSession(ctx context.Context, in *engagement.CreateSession) (*engagement.Session, error) {
	c.calls.Add(1)
	return c.Client.CreateSession(ctx, in)
}
func (c *countingBackend) GetSession(ctx context.Context, id string) (*engagement.Session, error) {
	c.calls.Add(1)
	return c.Client.GetSession(ctx, id)
}
func (c *countingBackend) DeleteSession(ctx context.Context, id, reason string) error {
	c.calls.Add(1)
	return c.Client.DeleteSession(ctx, id, reason)
}
func (c *countingBackend) CreateEngagement(ctx context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error) {
	c.calls.Add(1)
	return c.Client.CreateEngagement(ctx, in)
}
func (c *countingBackend) ListEngagements(ctx context.Context, id string) ([]engagement.Engagement, error) {
	c.calls.Add(1)
	return c.Client.ListEngagements(ctx, id)
}
func (c *countingBackend) GetEngagement(ctx context.Context, id string) (*engagement.Engagement, error) {
	c.calls.Add(1)
	return c.Client.GetEngagement(ctx, id)
}
func (c *countingBackend) JoinEngagement(ctx context.Context, id string, in *engagement.JoinEngagement) (*engagement.Engagement, error) {
	c.calls.Add(1)
	return c.Client.JoinEngagement(ctx, id, in)
}
func (c *countingBackend) DisconnectEngagement(ctx context.Context, id string, in *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error) {
	c.calls.Add(1)
	return c.Client.DisconnectEngagement(ctx, id, in)
}
func (c *countingBackend) SendMessage(ctx context.Context, id string, in *engagement.SendMessage) (*engagement.Message, error) {
	c.calls.Add(1)
	return c.Client.SendMessage(ctx, id, in)
}
func (c *countingBackend) AllMessages(ctx context.Context, id, sid, did string) iter.Seq2[*engagement.Message, error] {
	c.calls.Add(1)
	return c.Client.AllMessages(ctx, id, sid, did)
}

// harness is one running legacy face and what it talks to: the simulator
// over loopback, the embedded store, the real event pipeline (AXP's
// webhooks through the real receiver, the face's Apply and Send), and the
// legacy client's own webhook endpoint, a real HTTP server.
type harness struct {
	t        *testing.T
	sim      *simulator.Server
	backend  *countingBackend
	store    *mapping.Bolt
	pipe     *pipeline.Pipeline
	face     *Face
	url      string
	hooks    chan map[string]any // what the legacy client's webhook received
	hooksURL string
	// hookStatus is what the legacy webhook answers (0: 200).
	hookStatus atomic.Int32
}

const harnessHolder = "replica-1#test"

func startHarness(t *testing.T, tweak func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Config{ClientID: "axp-client", ClientSecret: "axp-secret", RedeliveryDelay: 50 * time.Millisecond}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	client, err := engagement.NewClient(engagement.Config{BaseURL: sim.URL, AccountID: hAccount, ClientID: "axp-client", ClientSecret: "axp-secret", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	store, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "legacy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	h := &harness{t: t, sim: sim, backend: &countingBackend{Client: client}, store: store, hooks: make(chan map[string]any, 64)}

	cfg := Config{
		Binding:       Binding{AccountID: hAccount, ChannelProviderID: hProvider},
		Clients:       []Client{{ID: hClient, Secret: hSecret}},
		ReplicaID:     harnessHolder,
		SettleTimeout: time.Second,
		Changed:       func(id string) { h.pipe.Poke(id) },
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.face, err = newFace(cfg, h.backend, store)
	if err != nil {
		t.Fatal(err)
	}
	if err := h.face.LoadWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	h.pipe, err = pipeline.New(pipeline.Config{
		Store:        store,
		Faces:        map[mapping.Face]pipeline.Face{OwnerFace: h.face},
		Senders:      map[mapping.Face]pipeline.Sender{OwnerFace: h.face},
		Engagements:  client,
		Holder:       harnessHolder,
		PollInterval: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = h.pipe.Run(pctx) }()
	t.Cleanup(func() { stop(); <-done })
	h.url = serve(t, h.face.Handler)

	// AXP's webhooks reach the pipeline through the real receiver.
	tok, err := engagement.NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	recv := engagement.NewReceiver(h.pipe, engagement.ReceiverOptions{Token: tok})
	callback := serve(t, recv.Handler) + recv.Path()
	if _, err := client.EnsureSubscription(ctx, hProvider, callback, []string{engagement.SubscribeCCMessages,
		engagement.EventParticipantAdded, engagement.EventParticipantDisconnected, engagement.EventEngagementError}); err != nil {
		t.Fatal(err)
	}

	// The legacy client's own webhook endpoint.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if st := h.hookStatus.Load(); st != 0 {
			w.WriteHeader(int(st))
			return
		}
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("legacy webhook body %s: %v", b, err)
		}
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("legacy webhook content type %q", ct)
		}
		v["@path"] = r.URL.Path
		select {
		case h.hooks <- v:
		default:
			t.Errorf("legacy webhook %v not taken: the test reads too few", v)
		}
	}))
	t.Cleanup(hs.Close)
	h.hooksURL = hs.URL + "/allEvents"
	return h
}

// serve runs handler on a loopback listener until the test ends.
func serve(t *testing.T, handler fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// reply is a legacy answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("answer %d %s: %v", r.status, r.body, err)
	}
}

// legacyError decodes a legacy error answer and checks its shape.
func (r reply) legacyError(t *testing.T) *Error {
	t.Helper()
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q (body %s)", ct, r.body)
	}
	var e Error
	r.json(t, &e)
	if e.Status != r.status || e.Title == "" || e.Type == "" {
		t.Fatalf("error document %s", r.body)
	}
	return &e
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// call sends one legacy request; token "" sends none.
func (h *harness) call(method, path, token, body string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, h.url+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

// token fetches a token as S16 does: HTTP Basic and scope=email profile.
func (h *harness) token(id, secret string) reply {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.url+"/auth/realms/"+hAccount+"/protocol/openid-connect/token",
		strings.NewReader("grant_type=client_credentials&scope=email+profile"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(id+":"+secret)))
	resp, err := httpClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

func (h *harness) mustToken() string {
	h.t.Helper()
	r := h.token(hClient, hSecret)
	var tr struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int    `json:"expires_in"`
	}
	r.json(h.t, &tr)
	if r.status != 200 || tr.AccessToken == "" || tr.ExpiresIn != 900 {
		h.t.Fatalf("token: %d %s", r.status, r.body)
	}
	return tr.AccessToken
}

// hook waits for the next legacy webhook of eventType.
func (h *harness) hook(eventType string) map[string]any {
	h.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case v := <-h.hooks:
			if v["eventType"] == eventType {
				return v
			}
		case <-deadline:
			h.t.Fatalf("no %s webhook within 5 s", eventType)
			return nil
		}
	}
}

// engagementCount is how many engagements the simulator's account holds.
func (h *harness) engagementCount() int {
	h.t.Helper()
	code, body, err := fasthttp.GetTimeout(nil, h.sim.URL+"/sim/accounts/"+hAccount+"/engagements", 5*time.Second)
	var list []json.RawMessage
	if err != nil || code != 200 || json.Unmarshal(body, &list) != nil {
		h.t.Fatalf("sim engagements: %d %s %v", code, body, err)
	}
	return len(list)
}

// webhookCount is how many registrations the store holds.
func (h *harness) webhookCount() int {
	h.t.Helper()
	ws, err := h.store.Webhooks(context.Background(), OwnerFace, hProvider)
	if err != nil {
		h.t.Fatal(err)
	}
	return len(ws)
}

// fault injects a simulator fault (simulator.Fault's fields).
func (h *harness) fault(f map[string]any) {
	h.t.Helper()
	b, _ := json.Marshal(f)
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(h.sim.URL + "/sim/faults")
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetBody(b)
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil || resp.StatusCode()/100 != 2 {
		h.t.Fatalf("fault %s: %d %s %v", b, resp.StatusCode(), resp.Body(), err)
	}
}

// newSession makes a legacy session and returns its id and participant.
func (h *harness) newSession(tok string) (string, string) {
	h.t.Helper()
	r := h.call("POST", "/api/digital/v1/sessions", tok, `{"customerIdentifier":"ada@example.com","displayName":"Ada"}`)
	var s Session
	r.json(h.t, &s)
	if r.status != 201 || s.SessionID == "" {
		h.t.Fatalf("create session: %d %s", r.status, r.body)
	}
	return s.SessionID, s.ParticipantID
}

// newEngagement makes an engagement on session sid; extra is more of the
// body (`,"providerDialogId":"x"`).
func (h *harness) newEngagement(tok, sid, extra string) EngagementCreated {
	h.t.Helper()
	r := h.call("POST", "/api/digital/v1/engagements", tok, `{"sessionId":"`+sid+`"`+extra+`}`)
	var e EngagementCreated
	r.json(h.t, &e)
	if r.status != 200 || e.EngagementID == "" || e.DialogID == "" {
		h.t.Fatalf("create engagement: %d %s", r.status, r.body)
	}
	return e
}

// register makes a webhook registration posting eventTypes to the legacy
// webhook endpoint under path.
func (h *harness) register(tok, path string, eventTypes ...string) Webhook {
	h.t.Helper()
	types, _ := json.Marshal(eventTypes)
	r := h.call("POST", "/api/digital/v1/channel-providers/"+hProvider+"/webhooks", tok,
		`[{"callbackUrl":"`+strings.TrimSuffix(h.hooksURL, "/allEvents")+path+`","eventTypes":`+string(types)+`}]`)
	var w Webhook
	r.json(h.t, &w)
	if r.status != 201 || w.WebhookID == "" {
		h.t.Fatalf("register webhook: %d %s", r.status, r.body)
	}
	return w
}

// notes is GET …/notifications of an engagement.
func (h *harness) notes(tok, eid string) []map[string]any {
	h.t.Helper()
	r := h.call("GET", "/api/digital/v1/engagements/"+eid+"/notifications", tok, "")
	var out []map[string]any
	r.json(h.t, &out)
	if r.status != 200 {
		h.t.Fatalf("notifications: %d %s", r.status, r.body)
	}
	return out
}

// conversation is the face's record of a dialog.
func (h *harness) conversation(dialogID string) *mapping.Conversation {
	h.t.Helper()
	c, err := h.store.ConversationByDialog(context.Background(), dialogID)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// until polls cond (a store or AXP read) until it holds, for a bounded time.
func (h *harness) until(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: not within 10 s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// customerMessages counts the customer's messages AXP holds in a dialog.
func (h *harness) customerMessages(tok, eid, sid, did string) int {
	h.t.Helper()
	r := h.call("GET", "/api/digital/v1/engagements/"+eid+"/messages?dialogId="+did+"&sessionId="+sid, tok, "")
	var list []Message
	r.json(h.t, &list)
	n := 0
	for _, m := range list {
		if m.SenderType == "CUSTOMER" {
			n++
		}
	}
	return n
}
