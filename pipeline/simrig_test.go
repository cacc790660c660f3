package pipeline

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/simulator"
)

const (
	simAccount  = "ABCDEF"
	simProvider = "pipeline-test"
)

// simRig is the AXP simulator on loopback, with one dialog whose
// providerDialogId is a conversation's id, as the faces make them.
type simRig struct {
	*simulator.Server
	client *engagement.Client
	eng    *engagement.Engagement
	last   string // the last agent message's id
}

func startSim(t *testing.T) *simRig {
	t.Helper()
	srv, err := simulator.Start(context.Background(), simulator.Config{RedeliveryDelay: 50 * time.Millisecond}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c, err := engagement.NewClient(engagement.Config{BaseURL: srv.URL, AccountID: simAccount, ClientID: "demo-client", ClientSecret: "demo-secret"})
	if err != nil {
		t.Fatal(err)
	}
	return &simRig{Server: srv, client: c}
}

// startReceiver serves the AXP webhook receiver over sink on loopback and
// returns the callback URL.
func startReceiver(t *testing.T, sink engagement.Sink, timeout time.Duration) string {
	t.Helper()
	tok, err := engagement.NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	recv := engagement.NewReceiver(sink, engagement.ReceiverOptions{Token: tok, Timeout: timeout})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: recv.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	return "http://" + ln.Addr().String() + recv.Path()
}

// open makes the dialog of conversation conv, with an agent in it.
func (s *simRig) open(t *testing.T, conv string) {
	t.Helper()
	ctx := context.Background()
	sess, err := s.client.CreateSession(ctx, &engagement.CreateSession{ChannelProviderID: simProvider,
		CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"c@example.com"}}, DisplayName: "C"})
	if err != nil {
		t.Fatal(err)
	}
	if s.eng, err = s.client.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: sess.SessionID, ChannelID: engagement.ChannelChat, ProviderDialogID: conv}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sim.AgentJoin(simAccount, s.eng.EngagementID, simulator.AgentJoin{}); err != nil {
		t.Fatal(err)
	}
}

func (s *simRig) subscribe(t *testing.T, callback string) {
	t.Helper()
	if _, err := s.client.EnsureSubscription(context.Background(), simProvider, callback, []string{engagement.SubscribeCCMessages}); err != nil {
		t.Fatal(err)
	}
}

func (s *simRig) agentMessage(t *testing.T, text string) {
	t.Helper()
	m, err := s.Sim.AgentMessage(simAccount, s.eng.EngagementID, simulator.AgentMessage{Text: text})
	if err != nil {
		t.Fatal(err)
	}
	s.last = m.MessageID
}
