package simulator

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

const (
	acct = "ABCDEF"
	cpid = "ChatConnector01"

	webhookBase = "/api/digital/webhook/v1beta/accounts/"
	simBase     = "/sim/accounts/"
)

// testHTTP is a tiny raw HTTP client: the tests check the wire, not the
// engagement client.
var testHTTP = &fasthttp.Client{ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}

type reply struct {
	status int
	header map[string]string
	body   []byte
}

func (r reply) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func (r reply) problem(t *testing.T) Problem {
	t.Helper()
	if ct := r.header["Content-Type"]; ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (body %s)", ct, r.body)
	}
	var p Problem
	r.decode(t, &p)
	if p.Status != r.status {
		t.Fatalf("problem status %d, HTTP status %d", p.Status, r.status)
	}
	return p
}

// do sends a request; body may be nil, a string (sent as is) or a value (JSON).
func do(t testing.TB, method, url, token string, body any) reply {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(method)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	switch b := body.(type) {
	case nil:
	case string:
		req.Header.SetContentType("application/json")
		req.SetBodyString(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.SetContentType("application/json")
		req.SetBody(raw)
	}
	if err := testHTTP.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	r := reply{status: resp.StatusCode(), header: map[string]string{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		r.header[string(k)] = string(v)
	}
	return r
}

func startSim(t *testing.T, cfg Config) *Server {
	t.Helper()
	srv, err := Start(context.Background(), cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv
}

func tokenFor(t *testing.T, srv *Server, account string) string {
	t.Helper()
	r := postForm(t, srv.URL+"/auth/realms/"+account+"/protocol/openid-connect/token",
		"grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret", "")
	var tr engagement.TokenResponse
	if err := json.Unmarshal(r.body, &tr); err != nil || r.status != 200 {
		t.Fatalf("token: %d %s", r.status, r.body)
	}
	return tr.AccessToken
}

// postForm posts a form to the token endpoint; basic, when set, is sent as
// HTTP Basic credentials ("id:secret").
func postForm(t *testing.T, url, form, basic string) reply {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod("POST")
	req.Header.SetContentType("application/x-www-form-urlencoded")
	if basic != "" {
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(basic)))
	}
	req.SetBodyString(form)
	if err := testHTTP.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	return reply{status: resp.StatusCode(), body: append([]byte(nil), resp.Body()...)}
}

// api is a test's view of one account of a running simulator.
type api struct {
	t     *testing.T
	srv   *Server
	token string
}

func newAPI(t *testing.T, cfg Config) *api {
	srv := startSim(t, cfg)
	return &api{t: t, srv: srv, token: tokenFor(t, srv, acct)}
}

// run runs f as a subtest with a's helpers reporting to it: a failure must
// stop the subtest, and FailNow on the parent from a subtest's goroutine
// is not allowed. Subtests run one at a time, so swapping a.t is safe.
func (a *api) run(name string, f func(t *testing.T)) {
	parent := a.t
	parent.Run(name, func(t *testing.T) {
		a.t = t
		defer func() { a.t = parent }()
		f(t)
	})
}

func (a *api) channel(method, rest string, body any) reply {
	a.t.Helper()
	return do(a.t, method, a.srv.URL+channelBase+acct+rest, a.token, body)
}

func (a *api) webhook(method, rest string, body any) reply {
	a.t.Helper()
	return do(a.t, method, a.srv.URL+webhookBase+acct+rest, a.token, body)
}

// face sends to the webhook API when webhook is set, else to the channel API.
func (a *api) face(webhook bool, method, rest string, body any) reply {
	a.t.Helper()
	if webhook {
		return a.webhook(method, rest, body)
	}
	return a.channel(method, rest, body)
}

func (a *api) sim(method, rest string, body any) reply {
	a.t.Helper()
	return do(a.t, method, a.srv.URL+rest, "", body)
}

func (a *api) expect(r reply, status int) reply {
	a.t.Helper()
	if r.status != status {
		a.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

func (a *api) createSession(name string) engagement.Session {
	a.t.Helper()
	var s engagement.Session
	a.expect(a.channel("POST", "/sessions", engagement.CreateSession{
		ChannelProviderID:   cpid,
		CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {name + "@example.com"}},
		DisplayName:         name,
	}), 201).decode(a.t, &s)
	return s
}

func (a *api) createEngagement(sessionID string) engagement.Engagement {
	a.t.Helper()
	var e engagement.Engagement
	a.expect(a.channel("POST", "/engagements", engagement.CreateEngagement{
		SessionID: sessionID, ChannelID: "Chat", Conversation: "sell car",
	}), 201).decode(a.t, &e)
	return e
}

func (a *api) send(e engagement.Engagement, sessionID, text string) engagement.Message {
	a.t.Helper()
	var m engagement.Message
	a.expect(a.channel("POST", "/engagements/"+e.EngagementID+"/messages", engagement.SendMessage{
		SessionID: sessionID, DialogID: e.Dialogs[0].DialogID,
		Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: text}},
	}), 202).decode(a.t, &m)
	return m
}

func (a *api) subscribe(callback string, types ...string) engagement.Subscription {
	a.t.Helper()
	var sub engagement.Subscription
	a.expect(a.webhook("POST", "/subscriptions", engagement.Subscription{
		ChannelProviderID: cpid, CallbackURL: callback, EventTypes: types,
	}), 201).decode(a.t, &sub)
	return sub
}

// received is one callback a receiver got.
type received struct {
	EventType             string `json:"eventType"`
	CorrelationID         string `json:"correlationId"`
	MessageID             string `json:"messageId"`
	MessageIndex          int    `json:"messageIndex"`
	SenderParticipantType string `json:"senderParticipantType"`
	ParticipantType       string `json:"participantType"`
	DialogID              string `json:"dialogId"`
	Body                  struct {
		ElementText struct {
			Text string `json:"text"`
		} `json:"elementText"`
	} `json:"body"`
	CustomData map[string]string `json:"customData"`
	Type       string            `json:"type"`
	raw        []byte
}

// receiver is a webhook endpoint on loopback. behave decides, per attempt
// (counted from 1 across all callbacks), what to answer and how long to wait.
type receiver struct {
	URL    string
	events chan received

	mu       sync.Mutex
	attempts int
	behave   func(attempt int) (status int, delay time.Duration)
}

func newReceiver(t *testing.T, behave func(attempt int) (int, time.Duration)) *receiver {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &receiver{URL: "http://" + ln.Addr().String() + "/hook/secret", events: make(chan received, 256), behave: behave}
	srv := &fasthttp.Server{Handler: r.handle}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return r
}

func (r *receiver) handle(ctx *fasthttp.RequestCtx) {
	r.mu.Lock()
	r.attempts++
	n := r.attempts
	r.mu.Unlock()
	status, delay := 200, time.Duration(0)
	if r.behave != nil {
		status, delay = r.behave(n)
	}
	if delay > 0 {
		time.Sleep(delay)
	}
	if status == 200 && string(ctx.Path()) == "/hook/secret" {
		var ev received
		ev.raw = append([]byte(nil), ctx.PostBody()...)
		if err := json.Unmarshal(ev.raw, &ev); err == nil {
			select {
			case r.events <- ev:
			default:
			}
		}
	}
	ctx.SetStatusCode(status)
}

// next waits for the next accepted event.
func (r *receiver) next(t *testing.T) received {
	t.Helper()
	select {
	case ev := <-r.events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no webhook event within 5s")
	}
	return received{}
}

// nextOf skips events until one of the given type arrives.
func (r *receiver) nextOf(t *testing.T, eventType string) received {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-r.events:
			if ev.EventType == eventType {
				return ev
			}
		case <-deadline:
			t.Fatalf("no %s event within 5s", eventType)
		}
	}
}

// quiet asserts that no event arrives for d (used after a synchronisation
// point that guarantees earlier events were delivered).
func (r *receiver) quiet(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case ev := <-r.events:
		t.Fatalf("unexpected event %s: %s", ev.EventType, ev.raw)
	case <-time.After(d):
	}
}

// decodeInto decodes the raw callback into each value (a MESSAGES callback
// is an EventHeader and a Message side by side).
func (ev received) decodeInto(t *testing.T, vs ...any) {
	t.Helper()
	for _, v := range vs {
		if err := json.Unmarshal(ev.raw, v); err != nil {
			t.Fatalf("decode %s: %v", ev.raw, err)
		}
	}
}

// waitStats polls the delivery counters (they are updated just after the
// receiver has answered) until ok holds, for at most 5 s.
func waitStats(t *testing.T, s *Simulator, ok func(DeliveryStats) bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		st := s.DeliveryStats()
		if ok(st) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery stats %+v never matched", st)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// doHeaders sends body (a form when the path is a token endpoint, else
// JSON) with exactly the given headers; the generation tests use it to
// send or leave out appkey.
func doHeaders(t testing.TB, method, url string, headers map[string]string, body string) reply {
	t.Helper()
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod(method)
	if body != "" {
		req.Header.SetContentType("application/json")
		if strings.HasSuffix(url, "/openid-connect/token") {
			req.Header.SetContentType("application/x-www-form-urlencoded")
		}
		req.SetBodyString(body)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if err := testHTTP.DoTimeout(req, resp, 10*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	r := reply{status: resp.StatusCode(), header: map[string]string{}, body: append([]byte(nil), resp.Body()...)}
	for k, v := range resp.Header.All() {
		r.header[string(k)] = string(v)
	}
	return r
}
