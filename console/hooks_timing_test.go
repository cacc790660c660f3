package console

import (
	"strconv"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
)

// BenchmarkSink is one verified notification through the sink, with pages
// listening that keep up.
func BenchmarkSink(b *testing.B) {
	for _, pages := range []int{0, 1, 8} {
		b.Run(strconv.Itoa(pages)+"_pages", func(b *testing.B) {
			c, err := New(Config{Secret: testSecrets, SubscriberBuffer: 1 << 20})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { _ = c.Close() })
			for range pages {
				s, _ := c.hub.subscribe(0, false)
				go drain(s)
			}
			body := []byte(contentBody)
			sig := auth.SignWebhook(testSecret, body)
			var ctx fasthttp.RequestCtx
			b.ReportAllocs()
			for b.Loop() {
				ctx.Request.Reset()
				ctx.Response.Reset()
				ctx.Request.SetRequestURI(HookPath(auth.WebhookContentEvent))
				ctx.Request.Header.SetMethod(fasthttp.MethodPost)
				ctx.Request.Header.Set(auth.SignatureHeader, sig)
				ctx.Request.Header.Set(headerAccount, testAccount)
				ctx.Request.Header.Set(headerClientID, testClientID)
				ctx.Request.SetBody(body)
				c.Handler(&ctx)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("status %d", ctx.Response.StatusCode())
				}
			}
		})
	}
}

// BenchmarkHubPublish is the fan-out alone, to 8 pages that keep up.
func BenchmarkHubPublish(b *testing.B) {
	h := newHub(8, 1<<20, 128, NewMetrics(nil))
	b.Cleanup(h.close)
	for range 8 {
		s, _ := h.subscribe(0, false)
		go drain(s)
	}
	frame := []byte("id: 1\nevent: notification\ndata: {}\n\n")
	b.ReportAllocs()
	for b.Loop() {
		h.publish(func(uint64) []byte { return frame })
	}
}

// drain is a page that keeps up, until it is let go.
func drain(s *subscriber) {
	for {
		select {
		case <-s.ch:
		case <-s.gone:
			return
		}
	}
}
