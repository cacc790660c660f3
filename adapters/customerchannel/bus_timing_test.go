package customerchannel

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// BenchmarkRedisBusRoundTrip measures one event crossing replicas: published
// by one RedisBus, received by another's subscriber, on a loopback Redis.
func BenchmarkRedisBusRoundTrip(b *testing.B) {
	srv := redistest.Start(b)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pub, err := NewRedisBus(ctx, srv.URL, RedisBusOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer pub.Close()
	sub, err := NewRedisBus(ctx, srv.URL, RedisBusOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer sub.Close()
	got := make(chan struct{}, 1)
	if err := sub.Subscribe(ctx, func(*BusMessage) { got <- struct{}{} }); err != nil {
		b.Fatal(err)
	}
	room, _ := json.Marshal(&ChatMessage{Type: TypeChatMessage, ConversationID: "c1", ID: "m1", Text: "Hello from the agent", Timestamp: "2026-05-01T12:00:00.000Z"})
	m := &BusMessage{Kind: BusDeliver, Origin: "a", Conversation: "c1", Channel: "web", Room: room, Connector: room}
	b.ReportAllocs()
	for b.Loop() {
		if err := pub.Publish(ctx, m); err != nil {
			b.Fatal(err)
		}
		select {
		case <-got:
		case <-time.After(5 * time.Second):
			b.Fatal("message not received")
		}
	}
}
