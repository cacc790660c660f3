package customerchannel

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/simproc"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// sioBench is the Customer Channel face as the process wires it (over the
// engagement client, the embedded store behind its cache, served by
// fasthttp on loopback), against a simulator in another process, with
// customers that each joined their conversation on a WebSocket of their
// own (rawSocket): what a benchmark counts is the proxy's.
type sioBench struct {
	face    *Face
	clients []*sioBenchClient
	next    atomic.Int64
}

type sioBenchClient struct {
	s             *rawSocket
	send, typing  []byte // the sendMessage payloads
	conversation  string
	participantID string
}

func newSioBench(tb testing.TB, customers int) *sioBench {
	tb.Helper()
	backend, err := engagement.NewClient(engagement.Config{BaseURL: simproc.Start(tb, "rig-client", "rig-secret"),
		AccountID: rigAccount, ClientID: "rig-client", ClientSecret: "rig-secret", Metrics: engagement.NewMetrics(nil)})
	if err != nil {
		tb.Fatal(err)
	}
	bolt, err := mapping.OpenBolt(filepath.Join(tb.TempDir(), "state.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = bolt.Close() })
	face, err := New(Config{ChannelProviderID: rigProvider, AllowedOrigins: []string{"*"}, Logger: slog.New(slog.DiscardHandler),
		Metrics: NewMetrics(nil)}, backend, mapping.NewCached(bolt, 10_000, false, nil))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = face.Close() })
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: face.Handler, ReadTimeout: 30 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	tb.Cleanup(func() { _ = srv.Shutdown() })
	addr := ln.Addr().String()
	sb := &sioBench{face: face}
	for i := range customers {
		body, _ := json.Marshal(InitRequest{FirstName: "Bench", LastName: fmt.Sprint(i), Email: fmt.Sprintf("bench%d@example.com", i), Channel: "web"})
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		req.Header.SetMethod("POST")
		req.SetRequestURI("http://" + addr + "/api/customer/init")
		req.Header.SetContentType("application/json")
		req.SetBody(body)
		err := fasthttp.DoTimeout(req, resp, 30*time.Second)
		var res InitResponse
		if err == nil && (resp.StatusCode() != 200 || json.Unmarshal(resp.Body(), &res) != nil) {
			err = fmt.Errorf("init: %d %s", resp.StatusCode(), resp.Body())
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		if err != nil {
			tb.Fatal(err)
		}
		s, err := dialRaw(addr)
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { _ = s.Close() })
		join, _ := json.Marshal(JoinRequest{ConversationID: res.ConversationID, ID: res.Participant.ID, Name: "Bench"})
		ack, err := s.call(EventJoinConversation, join)
		if err != nil || !bytes.Contains(ack, []byte(`"status":"ok"`)) {
			tb.Fatalf("join: %s %v", ack, err)
		}
		// What the Node peer's clients send (perf/perfkit sio-load).
		send, _ := json.Marshal(map[string]any{"type": TypeChatMessage, "conversationId": res.ConversationID,
			"from": map[string]string{"id": res.Participant.ID, "name": "Bench"}, "text": "load"})
		typing, _ := json.Marshal(map[string]any{"type": TypeActivityMessage, "activityType": ActivityTyping, "conversationId": res.ConversationID})
		sb.clients = append(sb.clients, &sioBenchClient{s: s, send: send, typing: typing, conversation: res.ConversationID, participantID: res.Participant.ID})
	}
	return sb
}

// run sends sendMessage (or typing) with an ack from parallel loops, each
// on a socket of its own, waiting for each ack; any ack but ok fails.
func (sb *sioBench) run(b *testing.B, parallelism int, typing bool) {
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c := sb.clients[int(sb.next.Add(1)-1)%len(sb.clients)]
		payload := c.send
		if typing {
			payload = c.typing
		}
		for pb.Next() {
			ack, err := c.s.call(EventSendMessage, payload)
			if err != nil {
				b.Error(err)
				return
			}
			if !bytes.HasPrefix(ack, []byte(`{"status":"ok"`)) {
				b.Errorf("ack %s", ack)
				return
			}
		}
	})
}
