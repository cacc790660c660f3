package connectorapi

import (
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandlerSend is a SEND text through the handler alone: tokens
// from the cache, conversation from the LRU, a backend with no network,
// the embedded store; without Client-Properties, with the header a
// connector repeats on every SEND (the features kept already), and from 64
// parallel callers, whose store writes share commits as a loaded proxy's
// do.
func BenchmarkHandlerSend(b *testing.B) {
	for _, bc := range []struct {
		name    string
		headers []string
	}{
		{"plain", nil},
		{"client_properties", []string{"Client-Properties", clientProperties}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			u := newUnit(b)
			body := textEnvelope("1", u.conv, "Text message from messaging connector")
			uri := "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
			var ctx fasthttp.RequestCtx
			u.request(&ctx, uri, body, bc.headers...) // the features kept
			b.ReportAllocs()
			for b.Loop() {
				u.request(&ctx, uri, body, bc.headers...)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		u := newUnit(b)
		uri := "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
		var caller atomic.Int64
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			// Each caller's request has its own id: one request's retry
			// would wait for the first.
			body := textEnvelope(strconv.FormatInt(caller.Add(1), 10), u.conv, "Text message from messaging connector")
			var ctx fasthttp.RequestCtx
			for pb.Next() {
				u.request(&ctx, uri, body)
				if ctx.Response.StatusCode() != 200 {
					b.Errorf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
					return
				}
			}
		})
	})
}

// BenchmarkSendEndToEnd is a SEND over loopback through the proxy to the
// simulator, in a process of its own, and back: one caller at a time, and
// 64 (each on its own consumer and connection, as wrk -c64), whose store
// writes share commits. Allocations are the proxy's (and the benchmark's
// client, which allocates nothing per request).
func BenchmarkSendEndToEnd(b *testing.B) {
	for _, bc := range []struct {
		name        string
		parallelism int
	}{{"serial", 0}, {"parallel64", 64}} {
		b.Run(bc.name, func(b *testing.B) {
			per := max(bc.parallelism/runtime.GOMAXPROCS(0), 1)
			sb := newSendBench(b, per*runtime.GOMAXPROCS(0))
			if bc.parallelism == 0 {
				sb.serial(b)
				return
			}
			sb.run(b, per)
		})
	}
}
