package engagement_test

import (
	"context"
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// BenchmarkSendMessage is the client's send-message round trip against the
// simulator over loopback TCP (token cached, keep-alive connection).
func BenchmarkSendMessage(b *testing.B) {
	sim := startSim(b)
	cfg := engagement.Config{BaseURL: sim.URL, AccountID: acct, ClientID: clientID, ClientSecret: secret}
	clientGeneration(b, &cfg)
	c, err := engagement.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	// The simulator bounds a dialog's messages, so a fresh dialog is opened
	// (off the clock) every dialogMessages sends.
	const dialogMessages = 5000
	var engagementID string
	var msg *engagement.SendMessage
	open := func() {
		s, err := c.CreateSession(ctx, &engagement.CreateSession{ChannelProviderID: provider, CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"bench@example.com"}}})
		if err != nil {
			b.Fatal(err)
		}
		e, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat})
		if err != nil {
			b.Fatal(err)
		}
		engagementID, msg = e.EngagementID, textMessage(s, e.Dialogs[0].DialogID, "How much is my car worth?")
	}
	open()
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for b.Loop() {
		if n++; n%dialogMessages == 0 {
			b.StopTimer()
			open()
			b.StartTimer()
		}
		if _, err := c.SendMessage(ctx, engagementID, msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendText is the faces' send of a customer text (hand-written
// request, only messageId and messageIndex read from the answer) against
// the simulator over loopback TCP; allocations include the simulator's,
// which runs in this process.
func BenchmarkSendText(b *testing.B) {
	sim := startSim(b)
	cfg := engagement.Config{BaseURL: sim.URL, AccountID: acct, ClientID: clientID, ClientSecret: secret}
	clientGeneration(b, &cfg)
	c, err := engagement.NewClient(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const dialogMessages = 5000
	var engagementID string
	var msg engagement.TextMessage
	open := func() {
		s, err := c.CreateSession(ctx, &engagement.CreateSession{ChannelProviderID: provider, CustomerIdentifiers: engagement.CustomerIdentifiers{"emailAddresses": {"bench@example.com"}}})
		if err != nil {
			b.Fatal(err)
		}
		e, err := c.CreateEngagement(ctx, &engagement.CreateEngagement{SessionID: s.SessionID, ChannelID: engagement.ChannelChat})
		if err != nil {
			b.Fatal(err)
		}
		engagementID = e.EngagementID
		msg = engagement.TextMessage{SessionID: s.SessionID, DialogID: e.Dialogs[0].DialogID, Text: "How much is my car worth?", ProviderMessageID: "p-1"}
	}
	open()
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if n++; n%dialogMessages == 0 {
			b.StopTimer()
			open()
			b.StartTimer()
		}
		if _, err := c.SendText(ctx, engagementID, msg); err != nil {
			b.Fatal(err)
		}
	}
}

var benchEvent = []byte(`{"eventType":"MESSAGES","correlationId":"zc38400d-c44f-4451-8316-e75c4efbt779","eventDate":"2018-11-13T20:25:39.734Z","messageId":"f314569c-710b-11eb-9439-0242ac130002","accountId":"ABCDEF","dialogId":"fc741b00-710b-11eb-9439-0242ac130002","engagementId":"8d7cf5b8-70ad-11eb-9439-0242ac130002","status":"SENT","sessionId":"10494b78-710c-11eb-9439-0242ac130002","channelProviderId":"ChatConnector01","channelId":"Chat","senderParticipantId":"277cacfe-710c-11eb-9439-0242ac130002","senderParticipantName":"Jane Doe","senderParticipantType":"AGENT","body":{"elementType":"text","elementText":{"text":"What is the make and model?","textFormat":"PLAINTEXT"}},"customData":{"sentiment":"Neutral"},"messageIndex":4,"recipientParticipants":[{"participantId":"johndoe@example.com","connectionId":"1349bcb1-fbf4-457c-af26-376da7bedc3c","displayName":"John Doe","participantType":"CUSTOMER"}],"receivedAt":"2018-11-13T20:25:39.534Z","lastUpdatedAt":"2018-11-13T20:25:39.734Z"}`)

// BenchmarkDecodeEvent is the webhook decoding of an agent's MESSAGES callback.
func BenchmarkDecodeEvent(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchEvent)))
	for b.Loop() {
		if _, err := engagement.DecodeEvent(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}
