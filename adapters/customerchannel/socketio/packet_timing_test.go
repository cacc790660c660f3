package socketio

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"testing"
)

func BenchmarkDecodeEvent(b *testing.B) {
	in := []byte(`212["sendMessage",{"conversationId":"c-1","text":"hello there","type":"PLAIN"}]`)
	b.ReportAllocs()
	b.SetBytes(int64(len(in)))
	for b.Loop() {
		if _, err := decodePacket(in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodeEvent is an emit's packet (what Conn.Emit queues): a
// struct argument, marshalled, and an ack's, which writes itself.
func BenchmarkEncodeEvent(b *testing.B) {
	type message struct {
		Type           string `json:"type"`
		ConversationID string `json:"conversationId"`
		Text           string `json:"text"`
	}
	b.Run("event", func(b *testing.B) {
		args := []any{message{Type: "ChatMessage", ConversationID: "c-1", Text: "hello there"}}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendMessage(nil, sioEvent, -1, "messageArrived", args); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ack", func(b *testing.B) {
		args := []any{json.RawMessage(`{"status":"ok","id":"m-1"}`)}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := appendMessage(nil, sioAck, 7, "", args); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkSplitPayload(b *testing.B) {
	body := bytes.Repeat([]byte("42[\"sendMessage\",{\"text\":\"hello\"}]\x1e"), 16)
	body = body[:len(body)-1]
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if _, err := splitPayload(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEventToAck measures one client event through the session: the
// Engine.IO and Socket.IO decoding, the worker, a handler that acks at
// once, and the ack queued for the transport.
func BenchmarkEventToAck(b *testing.B) {
	s := NewServer(Options{})
	defer s.Close()
	ok := json.RawMessage(`{"status":"ok"}`)
	s.On("sendMessage", func(_ context.Context, _ *Conn, args []json.RawMessage, ack Ack) {
		if len(args) != 1 || ack == nil {
			b.Fatalf("args %q", args)
		}
		_ = ack(ok)
	})
	c := s.newConn(transportPolling)
	s.register(c)
	c.start()
	take := func() [][]byte {
		for {
			c.mu.Lock()
			q := c.queue
			c.queue = nil
			c.mu.Unlock()
			if len(q) > 0 {
				return q
			}
			runtime.Gosched()
		}
	}
	if err := c.onEngine([]byte("40")); err != nil {
		b.Fatal(err)
	}
	take()
	in := []byte(`421["sendMessage",{"type":"ChatMessage","conversationId":"c-1","text":"hello there, how are you?"}]`)
	b.ReportAllocs()
	for b.Loop() {
		if err := c.onEngine(bytes.Clone(in)); err != nil { // a transport hands over a copy of its own
			b.Fatal(err)
		}
		if q := take(); string(q[0]) != `431[{"status":"ok"}]` {
			b.Fatalf("queued %q", q)
		}
	}
}
