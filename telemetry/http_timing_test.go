package telemetry

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// BenchmarkServerRequest is the cost the tracing hooks add to one request
// that calls AXP once: the server span (taking the client's traceparent),
// the span handed on, one client span with its traceparent written. Off
// is the nil *Tracing every hot path calls when tracing is not configured;
// on records into memory and forgets (the batch exporter's part is not
// measured).
func BenchmarkServerRequest(b *testing.B) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	for _, bc := range []struct {
		name string
		tr   *Tracing
	}{{"off", nil}, {"on", NewWithProvider(tp)}} {
		b.Run(bc.name, func(b *testing.B) {
			req := fasthttp.AcquireRequest()
			defer fasthttp.ReleaseRequest(req)
			req.Header.SetMethod("POST")
			req.SetRequestURI("http://127.0.0.1:8090/api/digital/channel/v1beta/accounts/DEMOAC/engagements/e-1/messages")
			h := bc.tr.Server(func([]byte) Route {
				return Route{Template: "/api/account/{accountId}/messaging/consumer/conversation/send"}
			},
				func(rc *fasthttp.RequestCtx) {
					ctx := RequestContext(context.Background(), rc)
					bc.tr.StartClient(ctx, req, "/api/digital/channel/v1beta/accounts/{accountId}/engagements/{engagementId}/messages", 0).EndHTTP(202, "")
					rc.SetStatusCode(200)
				})
			var rc fasthttp.RequestCtx
			rc.Request.Header.SetMethod("POST")
			rc.Request.SetRequestURI("/api/account/DEMOAC/messaging/consumer/conversation/send?v=3")
			rc.Request.Header.Set("traceparent", clientParent)
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				h(&rc)
				if n++; n%1000 == 0 {
					b.StopTimer()
					rec.Reset()
					b.StartTimer()
				}
			}
		})
	}
}
