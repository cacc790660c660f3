package envelope

import (
	"encoding/json"
	"testing"
)

func BenchmarkDecodeRequest(b *testing.B) {
	in := []byte(`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"5491244f-e462-4c63-bf4e-faf4b2d3e7b5","event":{"type":"ContentEvent","contentType":"text/plain","message":"Text message from messaging connector"}}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeRequest(in); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAppendResponse(b *testing.B) {
	r := Response{ReqID: json.RawMessage(`"1"`), Code: 200, Body: json.RawMessage(`{"sequence":3}`)}
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if buf, err = r.AppendJSON(buf[:0]); err != nil {
			b.Fatal(err)
		}
	}
}
