package legacyv1

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// BenchmarkApplyAgentMessage is the face's part in applying an agent's
// MESSAGES event (the reference's sample) with three registrations, two of
// which want it: the legacy payload, its notification record and two
// outbox items.
func BenchmarkApplyAgentMessage(b *testing.B) {
	raw, err := os.ReadFile(filepath.Join("..", "engagement", "testdata", "golden", "Event__ref5_messages.json"))
	if err != nil {
		b.Fatal(err)
	}
	ev, err := engagement.DecodeEvent(raw)
	if err != nil {
		b.Fatal(err)
	}
	hooks := []*Webhook{
		{WebhookID: "w1", Subscriptions: []WebhookRegistration{{CallbackURL: "https://a.example/all", EventTypes: []string{"ALL"}}}},
		{WebhookID: "w2", Subscriptions: []WebhookRegistration{{CallbackURL: "https://b.example/cc", EventTypes: []string{"CC_MESSAGES"}}}},
		{WebhookID: "w3", Subscriptions: []WebhookRegistration{{CallbackURL: "https://c.example/p", EventTypes: []string{"PARTICIPANT_ADDED"}}}},
	}
	conv := legacyConv()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	for b.Loop() {
		eff, err := applyEvent(conv, ev, hooks, now, time.Hour)
		if err != nil || len(eff.Outbox) != 2 {
			b.Fatalf("%d items, %v", len(eff.Outbox), err)
		}
	}
}
