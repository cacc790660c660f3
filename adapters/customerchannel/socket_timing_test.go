package customerchannel

import (
	"encoding/json"
	"runtime"
	"testing"
)

// BenchmarkSocketTyping measures a joined socket's typing activity over
// loopback: decoded, checked against the conversation and acked, with no
// AXP call (v1beta has none). Allocations include the test client's.
func BenchmarkSocketTyping(b *testing.B) {
	r := newRig(b, nil)
	res := r.init(b, InitRequest{FirstName: "Bench", Email: "typing@example.com", Channel: "web"})
	c, err := dialSIO(r.proxyURL, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	if a, err := c.call(EventJoinConversation, JoinRequest{ConversationID: res.ConversationID, ID: res.Participant.ID}); err != nil || a.Status != "ok" {
		b.Fatalf("join: %+v %v", a, err)
	}
	typing := SendRequest{Type: TypeActivityMessage, ActivityType: ActivityTyping, ConversationID: res.ConversationID}
	b.ReportAllocs()
	for b.Loop() {
		if a, err := c.call(EventSendMessage, typing); err != nil || a.Status != "ok" {
			b.Fatalf("typing: %+v %v", a, err)
		}
	}
}

// BenchmarkSendMessageHandler measures the face's sendMessage handler
// alone, from the event's arguments to its ack, against a fake AXP: the
// decoding, the checks and the ack, without the network; the store is
// behind its cache and the event runs under the socket server's context,
// as in the process.
func BenchmarkSendMessageHandler(b *testing.B) {
	for _, tc := range []struct{ name, payload string }{
		{"text", `{"type":"ChatMessage","conversationId":"c-1","text":"hello there, how are you?","from":{"id":"p-1","name":"Ada"}}`},
		{"typing", `{"type":"ActivityMessage","activityType":"typing","conversationId":"c-1"}`},
	} {
		b.Run(tc.name, func(b *testing.B) {
			f, store := newCachedUnitFace(b, &fakeBackend{})
			openConv(b, store, "c-1", "web", "")
			s := &fakeSocket{id: "s-1"}
			f.hub.join(s, "c-1")
			args := []json.RawMessage{json.RawMessage(tc.payload)}
			var acked int
			ack := ackFunc(func(a ...any) error {
				if a[0].(Ack).Status != "ok" { // the ok ack comes boxed
					b.Fatalf("ack %+v", a[0])
				}
				acked++
				return nil
			})
			ctx := f.sock.Context()
			b.ReportAllocs()
			for b.Loop() {
				f.handleEvent(ctx, s, EventSendMessage, args, ack)
			}
			if acked != b.N {
				b.Fatalf("%d acks for %d events", acked, b.N)
			}
		})
	}
}

// BenchmarkSendMessageEndToEnd is sendMessage over a WebSocket on
// loopback through the face, acked once AXP (the simulator, in a process
// of its own) answered, and typing (acked, no AXP call): from 64 sockets,
// each waiting for its ack, as the comparison with Node runs it.
// Allocations are the proxy's (the client allocates nothing per message).
func BenchmarkSendMessageEndToEnd(b *testing.B) {
	for _, bc := range []struct {
		name   string
		typing bool
	}{{"send", false}, {"typing", true}} {
		b.Run(bc.name, func(b *testing.B) {
			per := max(64/runtime.GOMAXPROCS(0), 1)
			sb := newSioBench(b, per*runtime.GOMAXPROCS(0))
			sb.run(b, per, bc.typing)
		})
	}
}
