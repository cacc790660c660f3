package console

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
)

// FuzzSink feeds the notification sink any key, body and signature: it
// must never panic, must accept exactly the signed JSON notifications of a
// known key, and must stream each as one SSE frame whose data is JSON and
// carries the body unchanged (compacted).
func FuzzSink(f *testing.F) {
	f.Add(auth.WebhookContentEvent, []byte(contentBody), true, "")
	f.Add(auth.WebhookConversationChange, []byte("{\n\"a\":\n[1,2]}"), true, "")
	f.Add(auth.WebhookContentEvent, []byte(`{"a":1}`), false, "sha1=AAAA")
	f.Add(auth.WebhookContentEvent, []byte(`not json`), true, "")
	f.Add("ms.Nope", []byte(`{}`), true, "")
	f.Add(auth.WebhookChatStateEvent, []byte("\"line\\nbreak\""), true, "")
	f.Add("../../x", []byte(`{}`), true, "sha256=")
	c, err := New(Config{Secret: testSecrets, MaxHookBody: 4096})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, key string, body []byte, sign bool, signature string) {
		if sign {
			signature = auth.SignWebhook(testSecret, body)
		}
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI(HookPath(key))
		ctx.Request.Header.SetMethod(fasthttp.MethodPost)
		ctx.Request.Header.Set(auth.SignatureHeader, signature)
		ctx.Request.Header.Set(headerAccount, testAccount)
		ctx.Request.Header.Set(headerClientID, testClientID)
		ctx.Request.SetBody(body)
		before := c.hub.seq
		c.Handler(&ctx)

		parsed, isHook := strings.CutPrefix(string(ctx.Path()), HookPath(""))
		want := isHook && slices.Contains(auth.WebhookKeys(), parsed) && len(body) <= 4096 &&
			auth.VerifyWebhook(testSecret, body, signature) && json.Valid(body)
		got := ctx.Response.StatusCode() == fasthttp.StatusOK
		if got != want {
			t.Fatalf("key %q (path %q), signed %v: status %d, want accepted=%v: %s", key, ctx.Path(), sign, ctx.Response.StatusCode(), want, ctx.Response.Body())
		}
		if !got {
			if c.hub.seq != before {
				t.Fatal("a refused notification was streamed")
			}
			return
		}
		if c.hub.seq != before+1 {
			t.Fatalf("seq %d after %d", c.hub.seq, before)
		}
		frame := c.hub.ring[c.hub.seq%uint64(len(c.hub.ring))].b
		if !bytes.HasSuffix(frame, []byte("\n\n")) || bytes.Count(frame, []byte("\n")) != 4 {
			t.Fatalf("frame is not id/event/data lines: %q", frame)
		}
		data := frame[bytes.Index(frame, []byte("\ndata: "))+7 : len(frame)-2]
		var n notification
		if err := json.Unmarshal(data, &n); err != nil {
			t.Fatalf("frame data is not JSON: %v: %q", err, data)
		}
		var compact bytes.Buffer
		_ = json.Compact(&compact, body)
		if !bytes.Equal(n.Body, compact.Bytes()) {
			t.Fatalf("streamed body %q, want %q", n.Body, compact.Bytes())
		}
	})
}
