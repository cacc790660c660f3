package envelope

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode checks that no input panics the decoders and that whatever
// decodes echoes its id back exactly, inside valid JSON.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"c","event":{"type":"ContentEvent","contentType":"text/plain","message":"hi"}}}`,
		`[{"kind":"req","id":"1,","type":"userprofile.SetUserProfile","body":{}},{"kind":"req","id":2,"type":"cm.ConsumerRequestConversation","body":{"brandId":"a"}}]`,
		`{"kind":"req","id":-1.5e3,"type":"t","body":{}}`,
		`{"kind":"req","id":"\ud800","type":"t","body":{}}`,
		`[]`, `{}`, `null`, `[null]`, `{"kind":"resp"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var envs []*Envelope
		if env, err := DecodeRequest(data); err == nil {
			envs = append(envs, env)
		}
		if batch, err := DecodeBatch(data); err == nil {
			envs = append(envs, batch...)
		}
		for _, env := range envs {
			if env.Kind != KindRequest || env.Type == "" || len(env.Body) == 0 || env.Body[0] != '{' {
				t.Fatalf("accepted an invalid envelope %+v", env)
			}
			out, err := (&Response{ReqID: env.ID, Code: 200, Body: env.Body}).AppendJSON(nil)
			if err != nil {
				t.Fatalf("encode: %v", err)
			}
			var back struct {
				ReqID json.RawMessage `json:"reqId"`
			}
			if err := json.Unmarshal(out, &back); err != nil {
				t.Fatalf("answer %q is not JSON: %v", out, err)
			}
			if !bytes.Equal(back.ReqID, env.ID) {
				t.Fatalf("reqId %s, sent id %s", back.ReqID, env.ID)
			}
		}
	})
}
