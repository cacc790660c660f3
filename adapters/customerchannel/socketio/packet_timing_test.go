package socketio

import (
	"bytes"
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

func BenchmarkEncodeEvent(b *testing.B) {
	msg := map[string]any{"conversationId": "c-1", "text": "hello there", "type": "PLAIN"}
	b.ReportAllocs()
	for b.Loop() {
		data, err := encodeArgs("messageArrived", []any{msg})
		if err != nil {
			b.Fatal(err)
		}
		_ = messagePacket(packet{typ: sioEvent, id: -1, data: data})
	}
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
