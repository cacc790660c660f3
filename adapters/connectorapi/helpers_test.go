package connectorapi

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/envelope"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/simulator"
)

const (
	lpAccount  = "le12345678"
	axpAccount = "ABCDEF"
	provider   = "connector-proxy-test"
	appID      = "app-a"
	appSecret  = "secret-a"
	waitFor    = 10 * time.Second
)

// clock is a settable clock for the face, so that backoff and retention
// are crossed by moving it, not by sleeping.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock                   { return &clock{t: time.Now()} }
func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// hookRequest is one notification the test receiver got, copied out.
type hookRequest struct {
	Path      string
	Body      []byte
	Signature string
	Account   string
	ClientID  string
}

// hookServer is the connector's webhook endpoint: it records what it gets
// and answers status (200 unless set).
type hookServer struct {
	URL    string
	mu     sync.Mutex
	got    []hookRequest
	status int
	answer []byte // the body of a 200, when set
	ln     net.Listener
	srv    *fasthttp.Server
}

func startHooks(t testing.TB) *hookServer {
	t.Helper()
	h := &hookServer{status: 200}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.ln = ln
	h.URL = "http://" + ln.Addr().String()
	h.srv = &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.status != 200 {
			ctx.SetStatusCode(h.status)
			return
		}
		h.got = append(h.got, hookRequest{
			Path:      string(ctx.Path()),
			Body:      append([]byte(nil), ctx.PostBody()...),
			Signature: string(ctx.Request.Header.Peek("X-Liveperson-Signature")),
			Account:   string(ctx.Request.Header.Peek("X-Liveperson-Account-Id")),
			ClientID:  string(ctx.Request.Header.Peek("X-Liveperson-Client-Id")),
		})
		ctx.SetBody(h.answer)
	}}
	go h.srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { _ = h.srv.Shutdown() })
	return h
}

func (h *hookServer) setStatus(s int) { h.mu.Lock(); h.status = s; h.mu.Unlock() }

// setAnswer makes a 200 carry body.
func (h *hookServer) setAnswer(body []byte) { h.mu.Lock(); h.answer = body; h.mu.Unlock() }

func (h *hookServer) requests() []hookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookRequest(nil), h.got...)
}

// waitHooks waits until pred holds over what was received.
func (h *hookServer) waitHooks(t *testing.T, what string, pred func([]hookRequest) bool) []hookRequest {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for time.Now().Before(deadline) {
		if got := h.requests(); pred(got) {
			return got
		}
		time.Sleep(10 * time.Millisecond)
	}
	got := h.requests()
	var b strings.Builder
	for _, r := range got {
		b.WriteString(r.Path + " " + string(r.Body) + "\n")
	}
	t.Fatalf("timed out waiting for %s; received %d:\n%s", what, len(got), b.String())
	return nil
}

// notif is a received notification, decoded loosely.
type notif struct {
	Kind string `json:"kind"`
	Type string `json:"type"`
	Body struct {
		Changes []struct {
			// messaging
			Sequence           int `json:"sequence"`
			OriginatorMetadata struct {
				ID, Role string
			} `json:"originatorMetadata"`
			Event struct {
				Type, ContentType, Message string
			} `json:"event"`
			ConversationID  string `json:"conversationId"`
			DialogID        string `json:"dialogId"`
			ServerTimestamp int64  `json:"serverTimestamp"`
			// conversation change
			Type   string `json:"type"`
			Result struct {
				ConvID              string `json:"convId"`
				ConversationDetails struct {
					State        string `json:"state"`
					CloseReason  string `json:"closeReason"`
					Participants []struct{ ID, Role string }
				} `json:"conversationDetails"`
			} `json:"result"`
		} `json:"changes"`
	} `json:"body"`
}

func decodeNotif(t *testing.T, r hookRequest) notif {
	t.Helper()
	var n notif
	if err := json.Unmarshal(r.Body, &n); err != nil || len(n.Body.Changes) != 1 {
		t.Fatalf("notification %s: %v", r.Body, err)
	}
	return n
}

func genKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// stack is the proxy wired as the process wires it, on loopback, against
// the simulator.
type stack struct {
	t       testing.TB
	ctx     context.Context
	sim     *simulator.Server
	client  *engagement.Client
	store   *mapping.Bolt
	dbPath  string
	tokens  *auth.Service
	face    *Face
	pipe    *pipeline.Pipeline
	backend *countingBackend
	clock   *clock
	proxy   string // base URL of the face
	hooks   *hookServer
	stopRun context.CancelFunc
	runDone chan struct{}
	http    *fasthttp.Client
}

type stackOpts struct {
	apps      func(hooksURL string) []auth.App
	key       *rsa.PrivateKey
	dbPath    string
	hooks     *hookServer
	sim       *simulator.Server
	retention time.Duration
	face      func(*Config) // changes the face's configuration
	metrics   *pipeline.Metrics
}

func defaultApps(hooksURL string) []auth.App {
	hooks := map[string]string{}
	for _, k := range auth.WebhookKeys() {
		hooks[k] = hooksURL + "/" + k
	}
	return []auth.App{
		{ClientID: appID, ClientSecret: appSecret, AccountID: lpAccount, Webhooks: hooks},
		{ClientID: "app-b", ClientSecret: "secret-b", AccountID: lpAccount, Webhooks: hooks},
		{ClientID: "app-c", ClientSecret: "secret-c", AccountID: "le99999999", Webhooks: hooks},
	}
}

func newStack(t testing.TB, o stackOpts) *stack {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	s := &stack{t: t, ctx: ctx, clock: newClock(), http: &fasthttp.Client{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}}
	var err error
	if s.sim = o.sim; s.sim == nil {
		if s.sim, err = simulator.Start(ctx, simulator.Config{}, "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.sim.Close() })
	}
	if s.client, err = engagement.NewClient(engagement.Config{BaseURL: s.sim.URL, AccountID: axpAccount,
		ClientID: "demo-client", ClientSecret: "demo-secret"}); err != nil {
		t.Fatal(err)
	}
	if s.dbPath = o.dbPath; s.dbPath == "" {
		s.dbPath = filepath.Join(t.TempDir(), "proxy.db")
	}
	if s.store, err = mapping.OpenBolt(s.dbPath); err != nil {
		t.Fatal(err)
	}
	if s.hooks = o.hooks; s.hooks == nil {
		s.hooks = startHooks(t)
	}
	apps := defaultApps
	if o.apps != nil {
		apps = o.apps
	}
	key := o.key
	if key == nil {
		key = genKey(t)
	}
	appList := apps(s.hooks.URL)
	if o.retention > 0 {
		for i := range appList {
			appList[i].Retention = o.retention
		}
	}
	if s.tokens, err = auth.New(auth.Options{Apps: appList, Key: key, Now: s.clock.Now}); err != nil {
		t.Fatal(err)
	}
	s.backend = &countingBackend{backend: s.client}
	cfg := Config{ChannelProviderID: provider, Now: s.clock.Now, DeliveryTimeout: 2 * time.Second,
		Changed: func(conv string) { s.pipe.Poke(conv) }}
	if o.face != nil {
		o.face(&cfg)
	}
	if s.face, err = newFace(cfg, s.backend, s.store, s.tokens); err != nil {
		t.Fatal(err)
	}
	// The AXP webhook receiver, feeding the pipeline, applying the face's
	// changes and delivering its notifications.
	if s.pipe, err = pipeline.New(pipeline.Config{
		Store:       s.store,
		Faces:       map[mapping.Face]pipeline.Face{mapping.FaceConnectorAPI: s.face},
		Senders:     map[mapping.Face]pipeline.Sender{mapping.FaceConnectorAPI: s.face},
		Engagements: s.client,
		Holder:      "test-replica",
		Now:         s.clock.Now,
		// The lease runs on the same clock the tests move by hours.
		LeaseTTL:        24 * 365 * time.Hour,
		PollInterval:    5 * time.Millisecond,
		DeliveryTimeout: 2 * time.Second,
		Metrics:         o.metrics,
	}); err != nil {
		t.Fatal(err)
	}
	tok, err := engagement.NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	recv := engagement.NewReceiver(s.pipe, engagement.ReceiverOptions{Token: tok})
	recvURL := serve(t, recv.Handler)
	if _, err := s.client.EnsureSubscription(ctx, provider, recvURL+recv.Path(), []string{engagement.SubscribeAll}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	s.proxy = serve(t, s.face.Handler)
	s.startRun()
	t.Cleanup(s.stop)
	return s
}

func (s *stack) startRun() {
	rctx, stop := context.WithCancel(s.ctx)
	s.stopRun, s.runDone = stop, make(chan struct{})
	go func() { defer close(s.runDone); _ = s.pipe.Run(rctx) }()
}

// stop ends the delivery worker and closes the store, as a shutdown does.
func (s *stack) stop() {
	if s.stopRun == nil {
		return
	}
	s.stopRun()
	<-s.runDone
	s.stopRun = nil
	_ = s.store.Close()
}

// serve runs a handler on a loopback listener and returns its base URL.
func serve(t testing.TB, h fasthttp.RequestHandler) string {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: h, ReadTimeout: 10 * time.Second, MaxRequestBodySize: 1 << 20}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String()
}

// do sends a request to the proxy and returns status and body.
func (s *stack) do(method, path string, headers map[string]string, body string) (int, []byte) {
	s.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.proxy + path)
	req.Header.SetMethod(method)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBodyString(body)
	if err := s.http.DoTimeout(req, resp, 10*time.Second); err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

func (s *stack) appJWT(account, id, secret string) string {
	s.t.Helper()
	code, body := s.do("POST", "/sentinel/api/account/"+account+"/app/token?v=1.0&grant_type=client_credentials",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "client_id="+id+"&client_secret="+secret)
	var a struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
	}
	if code != 200 || json.Unmarshal(body, &a) != nil || a.AccessToken == "" || a.TokenType != "Bearer" || a.ExpiresIn != 3600 {
		s.t.Fatalf("AppJWT: %d %s", code, body)
	}
	return a.AccessToken
}

func (s *stack) consumerJWS(account, appJWT, ext string) string {
	s.t.Helper()
	code, body := s.do("POST", "/api/account/"+account+"/consumer?v=1.0", map[string]string{"Authorization": appJWT,
		"Content-Type": "application/json"}, `{"ext_consumer_id":"`+ext+`"}`)
	var a struct {
		Token string `json:"token"`
	}
	if code != 201 || json.Unmarshal(body, &a) != nil || a.Token == "" {
		s.t.Fatalf("ConsumerJWS: %d %s", code, body)
	}
	return a.Token
}

// consumer is a connector's consumer: its two tokens.
type consumer struct {
	account, app, jws string
}

func (s *stack) newConsumer(ext string) consumer {
	app := s.appJWT(lpAccount, appID, appSecret)
	return consumer{account: lpAccount, app: app, jws: s.consumerJWS(lpAccount, app, ext)}
}

func (c consumer) headers() map[string]string {
	return map[string]string{"Authorization": c.app, "X-LP-ON-BEHALF": c.jws, "Content-Type": "application/json"}
}

const conversationBody = `[{"kind":"req","id":"1,","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"John","lastname":"Doe","contacts":[{"email":"john@example.com"}]}}]}}},` +
	`{"kind":"req","id":"2,","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + lpAccount + `","channelType":"MESSAGING","skillId":"-1"}}]`

func (s *stack) conversation(c consumer, body string) (int, []byte) {
	s.t.Helper()
	return s.do("POST", "/api/account/"+c.account+"/messaging/consumer/conversation?v=3", c.headers(), body)
}

func (s *stack) openConversation(c consumer) string {
	s.t.Helper()
	code, body := s.conversation(c, conversationBody)
	var rs []struct {
		ReqID string `json:"reqId"`
		Code  string `json:"code"`
		Body  struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if code != 200 || json.Unmarshal(body, &rs) != nil || len(rs) != 2 || rs[1].Body.ConversationID == "" {
		s.t.Fatalf("CONVERSATION: %d %s", code, body)
	}
	if rs[0].ReqID != "1," || rs[1].ReqID != "2," || rs[0].Code != "OK" || rs[1].Code != "OK" {
		s.t.Fatalf("CONVERSATION answers: %s", body)
	}
	return rs[1].Body.ConversationID
}

func (s *stack) send(c consumer, body string) (int, []byte) {
	s.t.Helper()
	return s.do("POST", "/api/account/"+c.account+"/messaging/consumer/conversation/send?v=3", c.headers(), body)
}

func textEnvelope(id, conv, text string) string {
	b, _ := json.Marshal(map[string]any{"kind": "req", "id": id, "type": "ms.PublishEvent",
		"body": map[string]any{"dialogId": conv, "event": map[string]any{"type": "ContentEvent", "contentType": "text/plain", "message": text}}})
	return string(b)
}

func closeEnvelope(id, conv string) string {
	return fmt.Sprintf(`{"kind":"req","id":%s,"type":"cm.UpdateConversationField","body":{"conversationId":%q,"conversationField":{"field":"ConversationStateField","conversationState":"CLOSE"}}}`, id, conv)
}

// sendText sends a text and returns its sequence.
func (s *stack) sendText(c consumer, conv, text string) int {
	s.t.Helper()
	code, body := s.send(c, textEnvelope("m", conv, text))
	var r struct {
		Body struct {
			Sequence *int `json:"sequence"`
		} `json:"body"`
	}
	if code != 200 || json.Unmarshal(body, &r) != nil || r.Body.Sequence == nil {
		s.t.Fatalf("SEND: %d %s", code, body)
	}
	return *r.Body.Sequence
}

// simPost drives the simulator's agent side over HTTP.
func (s *stack) simPost(path, body string) {
	s.t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(s.sim.URL + path)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	if err := s.http.DoTimeout(req, resp, 10*time.Second); err != nil {
		s.t.Fatalf("sim %s: %v", path, err)
	}
	if resp.StatusCode()/100 != 2 {
		s.t.Fatalf("sim %s: %d %s", path, resp.StatusCode(), resp.Body())
	}
}

// simEngagements counts the engagements the simulator holds for the account.
func (s *stack) simEngagements() int {
	s.t.Helper()
	code, body := func() (int, []byte) {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.SetRequestURI(s.sim.URL + "/sim/accounts/" + axpAccount + "/engagements")
		if err := s.http.DoTimeout(req, resp, 10*time.Second); err != nil {
			s.t.Fatal(err)
		}
		return resp.StatusCode(), append([]byte(nil), resp.Body()...)
	}()
	if code != 200 {
		s.t.Fatalf("sim engagements: %d %s", code, body)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(body, &list); err != nil {
		var wrapped struct {
			Engagements []json.RawMessage `json:"engagements"`
		}
		if err := json.Unmarshal(body, &wrapped); err != nil {
			s.t.Fatalf("sim engagements %s: %v", body, err)
		}
		list = wrapped.Engagements
	}
	return len(list)
}

func (s *stack) engagementOf(conv string) string {
	s.t.Helper()
	c, err := s.store.Conversation(s.ctx, conv)
	if err != nil {
		s.t.Fatal(err)
	}
	return c.EngagementID
}

// countingBackend counts the calls that reach the engagement client.
type countingBackend struct {
	backend
	mu sync.Mutex
	n  int
}

func (c *countingBackend) count() { c.mu.Lock(); c.n++; c.mu.Unlock() }

func (c *countingBackend) calls() int { c.mu.Lock(); defer c.mu.Unlock(); return c.n }

func (c *countingBackend) CreateSession(ctx context.Context, in *engagement.CreateSession) (*engagement.Session, error) {
	c.count()
	return c.backend.CreateSession(ctx, in)
}

func (c *countingBackend) DeleteSession(ctx context.Context, id, reason string) error {
	c.count()
	return c.backend.DeleteSession(ctx, id, reason)
}

func (c *countingBackend) AppendIdentifiers(ctx context.Context, id string, ids engagement.CustomerIdentifiers) (*engagement.Session, error) {
	c.count()
	return c.backend.AppendIdentifiers(ctx, id, ids)
}

func (c *countingBackend) UpdateSessionParameters(ctx context.Context, id string, p engagement.Parameters) (*engagement.Session, error) {
	c.count()
	return c.backend.UpdateSessionParameters(ctx, id, p)
}

func (c *countingBackend) CreateEngagement(ctx context.Context, in *engagement.CreateEngagement) (*engagement.Engagement, error) {
	c.count()
	return c.backend.CreateEngagement(ctx, in)
}

func (c *countingBackend) DisconnectEngagement(ctx context.Context, id string, in *engagement.DisconnectEngagement) (*engagement.DisconnectEngagement, error) {
	c.count()
	return c.backend.DisconnectEngagement(ctx, id, in)
}

func (c *countingBackend) SendText(ctx context.Context, id string, m engagement.TextMessage) (engagement.SentMessage, error) {
	c.count()
	return c.backend.SendText(ctx, id, m)
}

func (c *countingBackend) FindMessage(ctx context.Context, engagementID, sessionID, dialogID, providerMessageID string) (*engagement.Message, error) {
	c.count()
	return c.backend.FindMessage(ctx, engagementID, sessionID, dialogID, providerMessageID)
}

func (c *countingBackend) FindDialog(ctx context.Context, sessionID, providerDialogID string) (*engagement.Engagement, *engagement.Dialog, error) {
	c.count()
	return c.backend.FindDialog(ctx, sessionID, providerDialogID)
}

// lpError is LivePerson's error answer.
type lpError struct {
	Kind  string          `json:"kind"`
	ReqID json.RawMessage `json:"reqId"`
	Code  int             `json:"code"`
	Type  string          `json:"type"`
	Body  struct {
		Title     string `json:"title"`
		Details   string `json:"details"`
		ErrorCode int    `json:"errorCode"`
		Field     string `json:"field"`
	} `json:"body"`
}

func decodeLPError(t *testing.T, status int, body []byte) lpError {
	t.Helper()
	var e lpError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body %s: %v", body, err)
	}
	if e.Kind != "resp" || e.Code != status || e.Type != ".ReqBody$ErrorResp" || e.Body.Title == "" || e.Body.Details == "" || e.Body.ErrorCode/100 != status {
		t.Fatalf("not a LivePerson error answer for %d: %s", status, body)
	}
	return e
}

// mustEnvelope decodes a SEND body the general way.
func mustEnvelope(t *testing.T, body string) *envelope.Envelope {
	t.Helper()
	env, err := envelope.DecodeRequest([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	return env
}
