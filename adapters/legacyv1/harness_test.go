package legacyv1

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// The harness: the legacy face over loopback HTTP, on the real engagement
// client and the simulator, with the embedded store as its registry. The
// event pipeline that the proxy is getting elsewhere is stood in for by
// testPipeline: AXP's webhook → Apply → notifications kept in memory and
// deliveries POSTed at once (no retries, no durability: that is the
// pipeline's job, not the face's).

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

// testPipeline stands in for the event pipeline: Webhooks and
// Notifications in memory, and the engagement.Sink that applies AXP's
// events of the face's conversations.
type testPipeline struct {
	reg mapping.Registry

	mu    sync.Mutex
	hooks map[string]*Webhook
	notes map[string][]json.RawMessage
}

var (
	_ Webhooks        = (*testPipeline)(nil)
	_ Notifications   = (*testPipeline)(nil)
	_ engagement.Sink = (*testPipeline)(nil)
)

func (p *testPipeline) RegisterWebhook(_ context.Context, w *Webhook) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hooks[w.WebhookID] = w
	return nil
}

func (p *testPipeline) DeleteWebhook(_ context.Context, cp, id string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if w, ok := p.hooks[id]; !ok || w.ChannelProviderID != cp {
		return mapping.ErrNotFound
	}
	delete(p.hooks, id)
	return nil
}

func (p *testPipeline) Webhooks(_ context.Context, cp string) ([]*Webhook, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []*Webhook
	for _, w := range p.hooks {
		if w.ChannelProviderID == cp {
			out = append(out, w)
		}
	}
	return out, nil
}

func (p *testPipeline) Notifications(_ context.Context, engagementID string) ([]json.RawMessage, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]json.RawMessage(nil), p.notes[engagementID]...), nil
}

func (p *testPipeline) HandleEvent(ctx context.Context, ev *engagement.Event) error {
	conv, err := p.reg.ConversationByDialog(ctx, ev.DialogID())
	if errors.Is(err, mapping.ErrNotFound) {
		return nil
	}
	if err != nil || conv.Owner.Face != OwnerFace {
		return err
	}
	hooks, err := p.Webhooks(ctx, ContextOf(conv).ChannelProviderID)
	if err != nil {
		return err
	}
	eff, err := Apply(conv, ev, hooks)
	if err != nil || eff.Notification == nil {
		return err
	}
	p.mu.Lock()
	p.notes[eff.EngagementID] = append(p.notes[eff.EngagementID], eff.Notification)
	p.mu.Unlock()
	for _, d := range eff.Deliveries {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, d.Target, strings.NewReader(string(d.Body)))
		for k, v := range d.Headers {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
	}
	return nil
}

// harness is one running legacy face and what it talks to.
type harness struct {
	t        *testing.T
	sim      *simulator.Server
	backend  *countingBackend
	reg      *mapping.Bolt
	pipeline *testPipeline
	face     *Face
	url      string
	hooks    chan map[string]any // what the legacy client's webhook received
	hooksURL string
}

func startHarness(t *testing.T, tweak func(*Config)) *harness {
	t.Helper()
	ctx := context.Background()
	sim, err := simulator.Start(ctx, simulator.Config{ClientID: "axp-client", ClientSecret: "axp-secret", RedeliveryDelay: 50 * time.Millisecond}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	client, err := engagement.NewClient(engagement.Config{BaseURL: sim.URL, AccountID: hAccount, ClientID: "axp-client", ClientSecret: "axp-secret", Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "legacy.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close() })
	h := &harness{t: t, sim: sim, backend: &countingBackend{Client: client}, reg: reg,
		pipeline: &testPipeline{reg: reg, hooks: map[string]*Webhook{}, notes: map[string][]json.RawMessage{}},
		hooks:    make(chan map[string]any, 64)}

	cfg := Config{
		Binding:       Binding{AccountID: hAccount, ChannelProviderID: hProvider},
		Clients:       []Client{{ID: hClient, Secret: hSecret}},
		Webhooks:      h.pipeline,
		Notifications: h.pipeline,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	h.face, err = newFace(cfg, h.backend, reg)
	if err != nil {
		t.Fatal(err)
	}
	h.url = serve(t, h.face.Handler)

	// AXP's webhooks reach the stand-in pipeline through the real receiver.
	tok, err := engagement.NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	recv := engagement.NewReceiver(h.pipeline, engagement.ReceiverOptions{Token: tok})
	callback := serve(t, recv.Handler) + recv.Path()
	if _, err := client.EnsureSubscription(ctx, hProvider, callback, []string{engagement.SubscribeCCMessages,
		engagement.EventParticipantAdded, engagement.EventParticipantDisconnected, engagement.EventEngagementError}); err != nil {
		t.Fatal(err)
	}

	// The legacy client's own webhook endpoint.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Errorf("legacy webhook body %s: %v", b, err)
		}
		select {
		case h.hooks <- v:
		default:
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

// webhookCount is how many registrations the pipeline holds.
func (h *harness) webhookCount() int {
	h.pipeline.mu.Lock()
	defer h.pipeline.mu.Unlock()
	return len(h.pipeline.hooks)
}
