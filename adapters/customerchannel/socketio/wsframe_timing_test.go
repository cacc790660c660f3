package socketio

import "testing"

// BenchmarkReadFrame is a client's sendMessage WebSocket frame read: the
// header parsed, the payload unmasked and handed over (as its own copy).
func BenchmarkReadFrame(b *testing.B) {
	pkt := []byte(`421["sendMessage",{"type":"ChatMessage","conversationId":"c-1","text":"hello there, how are you?"}]`)
	frame := clientFrame(true, opText, pkt, [4]byte{1, 2, 3, 4})
	buf := make([]byte, len(frame))
	var r frameReader
	var sink frameSinkNop
	b.SetBytes(int64(len(frame)))
	b.ReportAllocs()
	for b.Loop() {
		copy(buf, frame) // feed unmasks in place
		if err := r.feed(buf, 1<<20, &sink); err != nil {
			b.Fatal(err)
		}
	}
	if sink.n != b.N {
		b.Fatalf("%d messages for %d frames", sink.n, b.N)
	}
}

// BenchmarkWriteFrame is an ack's WebSocket frame written into the
// writer's buffer.
func BenchmarkWriteFrame(b *testing.B) {
	pkt := []byte(`431[{"status":"ok"}]`)
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendFrame(buf[:0], opText, pkt)
	}
}
