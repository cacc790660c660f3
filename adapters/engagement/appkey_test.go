package engagement_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/simulator"
)

// appKeyCounter stands in front of a GA simulator and counts, per path,
// the calls that reached it and those that carried the app key.
type appKeyCounter struct {
	mu           sync.Mutex
	calls, keyed int
	missing      []string
}

func (c *appKeyCounter) wrap(next fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		c.mu.Lock()
		c.calls++
		if string(ctx.Request.Header.Peek(engagement.HeaderAppKey)) == contractAppKey {
			c.keyed++
		} else {
			c.missing = append(c.missing, string(ctx.Method())+" "+string(ctx.Path()))
		}
		c.mu.Unlock()
		next(ctx)
	}
}

// startCountedGASim serves a GA-only simulator behind an appKeyCounter.
func startCountedGASim(t *testing.T) (string, *appKeyCounter) {
	t.Helper()
	sim := simulator.New(simulator.Config{ClientID: clientID, ClientSecret: secret, APIVersion: simulator.APIV1, AppKey: contractAppKey})
	counter := &appKeyCounter{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: counter.wrap(sim.Handler), ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(); _ = sim.Close() })
	return "http://" + ln.Addr().String(), counter
}

func TestEveryGACallCarriesTheAppKey(t *testing.T) {
	url, counter := startCountedGASim(t)
	c, err := engagement.NewClient(engagement.Config{BaseURL: url, AccountID: acct, ClientID: clientID, ClientSecret: secret,
		APIVersion: engagement.APIV1, AppKey: contractAppKey, Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// Every operation of the client, the token request first.
	s := newSession(t, c, "ga@example.com")
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	_, err = c.GetSession(ctx, s.SessionID)
	must("get session", err)
	_, err = c.AppendIdentifiers(ctx, s.SessionID, engagement.CustomerIdentifiers{"phoneNumbers": {"+31 20 5101 9005"}})
	must("append identifiers", err)
	_, err = c.UpdateSessionParameters(ctx, s.SessionID, engagement.Parameters{"country": "Ireland"})
	must("update parameters", err)
	e, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat})
	must("create engagement", err)
	dialog := e.Dialogs[0].DialogID
	_, err = c.ListEngagements(ctx, s.SessionID)
	must("list engagements", err)
	_, err = c.GetEngagement(ctx, e.EngagementID)
	must("get engagement", err)
	s2 := newSession(t, c, "ga@example.com")
	_, err = c.JoinEngagement(ctx, e.EngagementID, &engagement.JoinEngagement{SessionID: s2.SessionID, DialogID: dialog})
	must("join", err)
	_, err = c.SendMessage(ctx, e.EngagementID, textMessage(s, dialog, "hello GA"))
	must("send", err)
	_, err = c.ListMessages(ctx, e.EngagementID, engagement.ListMessagesQuery{SessionID: s.SessionID, DialogID: dialog})
	must("list messages", err)
	sub, err := c.EnsureSubscription(ctx, provider, "http://127.0.0.1:1/webhooks/axp/one", []string{engagement.SubscribeAll})
	must("ensure subscription", err)
	_, err = c.GetSubscription(ctx, sub.SubscriptionID)
	must("get subscription", err)
	_, err = c.ReplaceSubscription(ctx, sub.SubscriptionID, &engagement.Subscription{ChannelProviderID: provider, CallbackURL: "http://127.0.0.1:1/webhooks/axp/two", EventTypes: []string{"CC_MESSAGES"}})
	must("replace subscription", err)
	must("delete subscription", c.DeleteSubscription(ctx, sub.SubscriptionID))
	_, err = c.DisconnectEngagement(ctx, e.EngagementID, &engagement.DisconnectEngagement{SessionID: s.SessionID, DialogID: dialog})
	must("disconnect", err)
	must("delete session", c.DeleteSession(ctx, s.SessionID, ""))

	counter.mu.Lock()
	defer counter.mu.Unlock()
	// 1 token, 2 create session, 16 other calls (EnsureSubscription is a
	// list and a create): every one of them reached the simulator keyed.
	const want = 1 + 2 + 16
	if counter.calls != want || counter.keyed != counter.calls || len(counter.missing) != 0 {
		t.Fatalf("%d calls, %d with the app key (want %d, all); without: %v", counter.calls, counter.keyed, want, counter.missing)
	}
}

func TestTheGASimulatorRefusesCallsWithoutTheAppKey(t *testing.T) {
	url, counter := startCountedGASim(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		cfg    engagement.Config
		status int
		detail string
	}{
		{"a GA client with another app key: the token request is refused", engagement.Config{APIVersion: engagement.APIV1, AppKey: "not-the-key"}, 401, "Appkey"},
		{"a v1beta client (no appkey, v1beta paths): unknown paths", engagement.Config{APIVersion: engagement.APIV1Beta, AppKey: contractAppKey}, 404, "no API method"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.BaseURL, cfg.AccountID, cfg.ClientID, cfg.ClientSecret, cfg.Timeout = url, acct, clientID, secret, 5*time.Second
			cfg.Logger = slog.New(slog.DiscardHandler)
			c, err := engagement.NewClient(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.CreateSession(ctx, &engagement.CreateSession{ChannelProviderID: provider, CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"x@example.com"}}})
			var p *engagement.Problem
			if !errors.As(err, &p) || p.Status != tc.status || !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("CreateSession() = %v, want a %d problem naming %q", err, tc.status, tc.detail)
			}
		})
	}
	counter.mu.Lock()
	keyed := counter.keyed
	counter.mu.Unlock()
	if keyed != 0 {
		t.Fatalf("%d calls carried the right key, want 0", keyed)
	}
	// Refused calls created nothing: the agent side lists no engagement.
	code, body, err := fasthttp.GetTimeout(nil, url+"/sim/accounts/"+acct+"/engagements", 5*time.Second)
	if err != nil || code != 200 || strings.TrimSpace(string(body)) != "[]" {
		t.Fatalf("engagements after refused calls: %d %s %v", code, body, err)
	}
}
