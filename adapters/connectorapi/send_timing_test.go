package connectorapi

import (
	"runtime"
	"sync/atomic"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkHandlerSend is a SEND text through the handler alone: tokens
// from the cache, conversation from the LRU, a backend with no network,
// the embedded store. Each SEND is a new message (its own request id):
// without Client-Properties, with the header a connector repeats on every
// SEND (the features kept already), and from 32 parallel callers, whose
// store writes share commits as a loaded proxy's do. "retry" sends one
// request again and again: each is answered from its send record.
func BenchmarkHandlerSend(b *testing.B) {
	uri := "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
	for _, bc := range []struct {
		name    string
		headers []string
	}{
		{"plain", nil},
		{"client_properties", []string{"Client-Properties", clientProperties}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			u := newUnit(b)
			fresh := newFreshSend(b, u.conv, benchText)
			var (
				ctx fasthttp.RequestCtx
				n   uint64
			)
			send := func() {
				n++
				u.requestBytes(&ctx, uri, fresh.next(n), bc.headers...)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
			send() // the features kept
			b.ReportAllocs()
			for b.Loop() {
				send()
			}
		})
	}
	b.Run("retry", func(b *testing.B) {
		u := newUnit(b)
		body := textEnvelope("1", u.conv, benchText)
		var ctx fasthttp.RequestCtx
		u.request(&ctx, uri, body)
		b.ReportAllocs()
		for b.Loop() {
			u.request(&ctx, uri, body)
			if ctx.Response.StatusCode() != 200 {
				b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
			}
		}
	})
	b.Run("parallel", func(b *testing.B) {
		u := newUnit(b)
		var id atomic.Uint64
		b.SetParallelism(32)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			fresh := newFreshSend(b, u.conv, benchText)
			var ctx fasthttp.RequestCtx
			for pb.Next() {
				u.requestBytes(&ctx, uri, fresh.next(id.Add(1)))
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
