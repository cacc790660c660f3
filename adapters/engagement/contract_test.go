package engagement_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// Contract tests: the client against the simulator over loopback TCP.

const (
	acct     = "ABCDEF"
	provider = "ChatConnector01"
	clientID = "proxy-client"
	secret   = "proxy-secret"
)

func startSim(t testing.TB) *simulator.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cfg := simulator.Config{
		ClientID: clientID, ClientSecret: secret,
		RedeliveryDelay: 50 * time.Millisecond,
	}
	simGeneration(t, &cfg)
	srv, err := simulator.Start(ctx, cfg, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = srv.Close() })
	return srv
}

func newClient(t *testing.T, sim *simulator.Server, tweak func(*engagement.Config)) *engagement.Client {
	t.Helper()
	cfg := engagement.Config{BaseURL: sim.URL, AccountID: acct, ClientID: clientID, ClientSecret: secret, Timeout: 5 * time.Second}
	clientGeneration(t, &cfg)
	if tweak != nil {
		tweak(&cfg)
	}
	c, err := engagement.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// simCall drives the simulator's /sim API.
func simCall(t *testing.T, sim *simulator.Server, method, path string, body any, out any) int {
	t.Helper()
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(method)
	req.SetRequestURI(sim.URL + path)
	if body != nil {
		b, _ := json.Marshal(body)
		req.SetBodyRaw(b)
		req.Header.SetContentType("application/json")
	}
	if err := fasthttp.DoTimeout(req, resp, 5*time.Second); err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	if out != nil && len(resp.Body()) > 0 {
		if err := json.Unmarshal(resp.Body(), out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, resp.Body())
		}
	}
	return resp.StatusCode()
}

func addFault(t *testing.T, sim *simulator.Server, f map[string]any) {
	t.Helper()
	if code := simCall(t, sim, "POST", "/sim/faults", f, nil); code/100 != 2 {
		t.Fatalf("add fault %v: %d", f, code)
	}
}

func faultsLeft(t *testing.T, sim *simulator.Server) []simulator.Fault {
	t.Helper()
	var out []simulator.Fault
	simCall(t, sim, "GET", "/sim/faults", nil, &out)
	return out
}

func newSession(t *testing.T, c *engagement.Client, email string) *engagement.Session {
	t.Helper()
	s, err := c.CreateSession(context.Background(), &engagement.CreateSession{
		ChannelProviderID:   provider,
		CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {email}},
		DisplayName:         "John Doe",
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func textMessage(s *engagement.Session, dialogID, text string) *engagement.SendMessage {
	return &engagement.SendMessage{
		SessionID: s.SessionID, DialogID: dialogID,
		Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: text, TextFormat: engagement.TextPlain}},
	}
}

func TestContractSessions(t *testing.T) {
	sim := startSim(t)
	c := newClient(t, sim, nil)
	ctx := context.Background()

	s := newSession(t, c, "john@example.com")
	if s.SessionID == "" || s.ParticipantID == "" || s.SessionStatus != engagement.SessionActive || s.AccountID != acct {
		t.Fatalf("CreateSession() = %+v", s)
	}
	got, err := c.GetSession(ctx, s.SessionID)
	if err != nil || got.SessionID != s.SessionID || got.DisplayName != "John Doe" {
		t.Fatalf("GetSession() = %+v, %v", got, err)
	}
	got, err = c.AppendIdentifiers(ctx, s.SessionID, engagement.CustomerIdentifiers{"emailAddresses": {"dave@example.com"}, "phoneNumbers": {"+31 20 5101 9005"}})
	if err != nil || !slices.Equal(got.CustomerIdentifiers["emailAddresses"], []string{"john@example.com", "dave@example.com"}) || len(got.CustomerIdentifiers["phoneNumbers"]) != 1 {
		t.Fatalf("AppendIdentifiers() = %+v, %v", got, err)
	}
	got, err = c.UpdateSessionParameters(ctx, s.SessionID, engagement.Parameters{"country": "Ireland"})
	if err != nil || got.SessionParameters["country"] != "Ireland" {
		t.Fatalf("UpdateSessionParameters() = %+v, %v", got, err)
	}
	if err := c.DeleteSession(ctx, s.SessionID, engagement.ReasonUserClosed); err != nil {
		t.Fatalf("DeleteSession() = %v", err)
	}
	got, err = c.GetSession(ctx, s.SessionID)
	if err != nil || got.SessionStatus != engagement.SessionTerminated {
		t.Fatalf("GetSession() after delete = %+v, %v", got, err)
	}
}

func TestContractEngagementsAndMessages(t *testing.T) {
	sim := startSim(t)
	c := newClient(t, sim, nil)
	ctx := context.Background()
	s := newSession(t, c, "john@example.com")

	e, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat, Conversation: "sell car",
		EngagementParameters: engagement.Parameters{"model": "512GTB"}})
	if err != nil || len(e.Dialogs) == 0 || e.Dialogs[0].DialogStatus != engagement.DialogPending {
		t.Fatalf("CreateEngagement() = %+v, %v", e, err)
	}
	dialog := e.Dialogs[0].DialogID
	list, err := c.ListEngagements(ctx, s.SessionID)
	if err != nil || len(list) != 1 || list[0].EngagementID != e.EngagementID {
		t.Fatalf("ListEngagements() = %+v, %v", list, err)
	}
	got, err := c.GetEngagement(ctx, e.EngagementID)
	if err != nil || got.Dialog(dialog) == nil || got.Conversation != "sell car" {
		t.Fatalf("GetEngagement() = %+v, %v", got, err)
	}

	// A second device of the customer joins the dialog.
	s2 := newSession(t, c, "john@example.com")
	joined, err := c.JoinEngagement(ctx, e.EngagementID, &engagement.JoinEngagement{SessionID: s2.SessionID, DialogID: dialog})
	if err != nil || joined.Dialog(dialog) == nil {
		t.Fatalf("JoinEngagement() = %+v, %v", joined, err)
	}
	customers := 0
	for _, cn := range joined.Dialog(dialog).Connections {
		if cn.ParticipantType == engagement.ParticipantCustomer {
			customers++
		}
	}
	if customers != 2 {
		t.Fatalf("dialog has %d customer connections after join, want 2", customers)
	}

	m, err := c.SendMessage(ctx, e.EngagementID, textMessage(s, dialog, "I need some help to sell my car"))
	if err != nil || m.MessageIndex != 1 || m.SenderParticipantType != engagement.ParticipantCustomer || m.Text() != "I need some help to sell my car" {
		t.Fatalf("SendMessage() = %+v, %v", m, err)
	}
	page, err := c.ListMessages(ctx, e.EngagementID, engagement.ListMessagesQuery{SessionID: s.SessionID, DialogID: dialog})
	if err != nil || page.Pagination.Total != 1 || len(page.Messages) != 1 || page.Messages[0].Text() != m.Text() {
		t.Fatalf("ListMessages() = %+v, %v", page, err)
	}
	n := 0
	for msg, err := range c.AllMessages(ctx, e.EngagementID, s.SessionID, dialog) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		_ = msg
	}
	if n != 1 {
		t.Fatalf("AllMessages() yielded %d", n)
	}

	for _, sess := range []*engagement.Session{s, s2} {
		d, err := c.DisconnectEngagement(ctx, e.EngagementID, &engagement.DisconnectEngagement{SessionID: sess.SessionID, DialogID: dialog, Reason: engagement.ReasonUserClosed})
		if err != nil || d.SessionID != sess.SessionID || d.Reason != engagement.ReasonUserClosed {
			t.Fatalf("DisconnectEngagement() = %+v, %v", d, err)
		}
	}
	got, err = c.GetEngagement(ctx, e.EngagementID)
	if err != nil || got.Dialog(dialog).DialogStatus != engagement.DialogTerminated {
		t.Fatalf("dialog after both customers left = %+v, %v", got, err)
	}
}

func TestContractSubscriptions(t *testing.T) {
	sim := startSim(t)
	c := newClient(t, sim, nil)
	ctx := context.Background()
	const cb = "http://127.0.0.1:1/webhooks/axp/"
	created, err := c.CreateSubscription(ctx, &engagement.Subscription{ChannelProviderID: provider, CallbackURL: cb + "one", EventTypes: []string{engagement.SubscribeAll}})
	if err != nil || created.SubscriptionID == "" {
		t.Fatalf("CreateSubscription() = %+v, %v", created, err)
	}
	got, err := c.GetSubscription(ctx, created.SubscriptionID)
	if err != nil || got.CallbackURL != cb+"one" {
		t.Fatalf("GetSubscription() = %+v, %v", got, err)
	}
	replaced, err := c.ReplaceSubscription(ctx, created.SubscriptionID, &engagement.Subscription{ChannelProviderID: provider, CallbackURL: cb + "two", EventTypes: []string{"CC_MESSAGES"}})
	if err != nil || replaced.CallbackURL != cb+"two" || !slices.Equal(replaced.EventTypes, []string{"CC_MESSAGES"}) {
		t.Fatalf("ReplaceSubscription() = %+v, %v", replaced, err)
	}
	// A duplicate of ours, and another connector's subscription.
	if _, err := c.CreateSubscription(ctx, &engagement.Subscription{ChannelProviderID: provider, CallbackURL: cb + "stale", EventTypes: []string{"ALL"}}); err != nil {
		t.Fatal(err)
	}
	other, err := c.CreateSubscription(ctx, &engagement.Subscription{ChannelProviderID: provider, CallbackURL: "http://127.0.0.1:2/other", EventTypes: []string{"ALL"}})
	if err != nil {
		t.Fatal(err)
	}
	ensured, err := c.EnsureSubscription(ctx, provider, cb+"three", []string{"CC_MESSAGES", "PARTICIPANT_ADDED"})
	if err != nil {
		t.Fatalf("EnsureSubscription() = %v", err)
	}
	list, err := c.ListSubscriptions(ctx, provider)
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, s := range list {
		urls = append(urls, s.CallbackURL)
	}
	slices.Sort(urls)
	if want := []string{cb + "three", "http://127.0.0.1:2/other"}; !slices.Equal(urls, want) {
		t.Fatalf("subscriptions after ensure = %v, want %v", urls, want)
	}
	again, err := c.EnsureSubscription(ctx, provider, cb+"three", []string{"PARTICIPANT_ADDED", "CC_MESSAGES"})
	if err != nil || again.SubscriptionID != ensured.SubscriptionID {
		t.Fatalf("second EnsureSubscription() = %+v, %v; want the same subscription kept", again, err)
	}
	for _, id := range []string{ensured.SubscriptionID, other.SubscriptionID} {
		if err := c.DeleteSubscription(ctx, id); err != nil {
			t.Fatalf("DeleteSubscription(%s) = %v", id, err)
		}
	}
	if list, err := c.ListSubscriptions(ctx, ""); err != nil || len(list) != 0 {
		t.Fatalf("ListSubscriptions() after deletes = %+v, %v", list, err)
	}
}

func TestContractErrorPaths(t *testing.T) {
	sim := startSim(t)
	ctx := context.Background()

	t.Run("400 names the violated field", func(t *testing.T) {
		c := newClient(t, sim, nil)
		s := newSession(t, c, "a@example.com")
		_, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID})
		var p *engagement.Problem
		if !errors.As(err, &p) || p.Status != 400 || p.Violation("channelId") == nil {
			t.Fatalf("CreateEngagement() without channelId = %v, want a 400 naming channelId", err)
		}
	})

	t.Run("404 for an unknown id", func(t *testing.T) {
		c := newClient(t, sim, nil)
		_, err := c.GetSession(ctx, "6f1c2f1e-0000-4000-8000-000000000000")
		var p *engagement.Problem
		if !errors.As(err, &p) || p.Status != 404 {
			t.Fatalf("GetSession(unknown) = %v, want 404", err)
		}
	})

	t.Run("401 refreshes the token and succeeds", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		m := engagement.NewMetrics(reg)
		c := newClient(t, sim, func(cfg *engagement.Config) { cfg.Metrics = m })
		s := newSession(t, c, "b@example.com")
		addFault(t, sim, map[string]any{"status": 401, "count": 1, "pathContains": "/sessions/" + s.SessionID, "method": "GET"})
		got, err := c.GetSession(ctx, s.SessionID)
		if err != nil || got.SessionID != s.SessionID {
			t.Fatalf("GetSession() after a 401 = %v", err)
		}
		if n := len(faultsLeft(t, sim)); n != 0 {
			t.Fatalf("%d faults left, want the 401 consumed", n)
		}
		if got := counterValue(t, reg, "connector_proxy_backend_token_refreshes_total", "ok"); got != 2 {
			t.Fatalf("token fetches = %v, want 2 (the first and the refresh after the 401)", got)
		}
	})

	t.Run("bad credentials are a 401 problem", func(t *testing.T) {
		c := newClient(t, sim, func(cfg *engagement.Config) { cfg.ClientSecret = "wrong" })
		_, err := c.Token(ctx)
		var p *engagement.Problem
		if !errors.As(err, &p) || p.Status != 401 {
			t.Fatalf("Token() with a wrong secret = %v, want 401", err)
		}
	})

	t.Run("429 waits Retry-After and retries once", func(t *testing.T) {
		sl := &engagement.SleepRecorder{}
		c := newClient(t, sim, func(cfg *engagement.Config) { cfg.Sleep = sl.Sleep })
		s := newSession(t, c, "c@example.com")
		addFault(t, sim, map[string]any{"status": 429, "count": 1, "retryAfter": 2, "pathContains": "/sessions/" + s.SessionID})
		if _, err := c.GetSession(ctx, s.SessionID); err != nil {
			t.Fatalf("GetSession() after a 429 = %v", err)
		}
		if got := sl.Waits(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
			t.Fatalf("waits = %v, want [2s]", got)
		}
		addFault(t, sim, map[string]any{"status": 429, "count": 1, "retryAfter": 30, "pathContains": "/sessions/" + s.SessionID})
		_, err := c.GetSession(ctx, s.SessionID)
		var p *engagement.Problem
		if !errors.As(err, &p) || p.Status != 429 {
			t.Fatalf("GetSession() with Retry-After 30 s = %v, want the 429", err)
		}
	})

	t.Run("5xx on a POST is not retried", func(t *testing.T) {
		c := newClient(t, sim, nil)
		s := newSession(t, c, "d@example.com")
		e, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat})
		if err != nil {
			t.Fatal(err)
		}
		// Two faults queued: a retry would consume the second.
		addFault(t, sim, map[string]any{"status": 503, "count": 2, "pathContains": e.EngagementID + "/messages", "method": "POST"})
		_, err = c.SendMessage(ctx, e.EngagementID, textMessage(s, e.Dialogs[0].DialogID, "hello"))
		var p *engagement.Problem
		if !errors.As(err, &p) || p.Status != 503 {
			t.Fatalf("SendMessage() = %v, want the 503", err)
		}
		left := faultsLeft(t, sim)
		if len(left) != 1 || left[0].Count != 1 {
			t.Fatalf("faults left = %+v, want one with count 1 (the POST reached AXP once)", left)
		}
		simCall(t, sim, "DELETE", "/sim/faults", nil, nil)
		page, err := c.ListMessages(ctx, e.EngagementID, engagement.ListMessagesQuery{SessionID: s.SessionID, DialogID: e.Dialogs[0].DialogID})
		if err != nil || page.Pagination.Total != 0 {
			t.Fatalf("messages after the failed send = %+v, %v", page, err)
		}
	})

	t.Run("dial errors are retried", func(t *testing.T) {
		var refused, dials int
		var mu sync.Mutex
		sl := &engagement.SleepRecorder{}
		c := newClient(t, sim, func(cfg *engagement.Config) {
			cfg.Sleep = sl.Sleep
			cfg.Dial = func(addr string, timeout time.Duration) (net.Conn, error) {
				mu.Lock()
				dials++
				refuse := refused < 2
				if refuse {
					refused++
				}
				mu.Unlock()
				if refuse {
					// A port nobody listens on: a real "connection refused".
					return fasthttp.DialTimeout("127.0.0.1:1", timeout)
				}
				return fasthttp.DialTimeout(addr, timeout)
			}
		})
		// The first dial is the token POST: it must be retried, not failed.
		s, err := c.CreateSession(ctx, &engagement.CreateSession{ChannelProviderID: provider, CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"e@example.com"}}})
		if err != nil || s.SessionID == "" {
			t.Fatalf("CreateSession() through refused dials = %+v, %v", s, err)
		}
		if got := sl.Waits(); len(got) != 2 {
			t.Fatalf("waits = %v, want two backoffs", got)
		}
	})

	t.Run("an address that never answers is unreachable", func(t *testing.T) {
		cfg := engagement.Config{BaseURL: "http://127.0.0.1:1", AccountID: acct, ClientID: clientID, ClientSecret: secret,
			Sleep: (&engagement.SleepRecorder{}).Sleep}
		clientGeneration(t, &cfg)
		c, err := engagement.NewClient(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetSession(ctx, "x"); !errors.Is(err, engagement.ErrUnreachable) {
			t.Fatalf("GetSession() = %v, want ErrUnreachable", err)
		}
	})
}

// counterValue reads the counter name{…="label"} from reg.
func counterValue(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetValue() == label {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}
