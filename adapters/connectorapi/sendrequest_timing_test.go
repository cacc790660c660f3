package connectorapi

import (
	"testing"

	"github.com/connector-proxy/connector-proxy/envelope"
)

// BenchmarkDecodeSend is a SEND text's decoding: in one pass (what the
// handler does), and through the envelope package and encoding/json (what
// it did, and does for anything unusual).
func BenchmarkDecodeSend(b *testing.B) {
	body := []byte(textEnvelope("1", "5491244f-e462-4c63-bf4e-faf4b2d3e7b5", "Text message from messaging connector"))
	b.Run("one_pass", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, _, ok := scanSend(body); !ok {
				b.Fatal("not read")
			}
		}
	})
	b.Run("general", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			env, err := envelope.DecodeRequest(body)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := decodePublish(env); err != nil {
				b.Fatal(err)
			}
		}
	})
}
