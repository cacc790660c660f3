package telemetry

import (
	"context"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

// A carried context comes from the store, a traceparent from any client:
// neither may panic, and what reads as valid is carried back as read (the sampled flag being
// the only one of version 00, as the propagator sends it).
func FuzzCarried(f *testing.F) {
	f.Add(clientParent)
	f.Add(clientParent + "\nvendor=x,other=a b")
	f.Add("00-" + clientTraceID + "-" + clientSpanID + "-00\n")
	f.Add("01-" + clientTraceID + "-" + clientSpanID + "-01-future")
	f.Add("\n\n\n")
	rec := &Tracing{} // Carried and carry need no tracer
	f.Fuzz(func(t *testing.T, s string) {
		sc := rec.Carried(s)
		if !sc.IsValid() {
			return
		}
		again := carry(sc)
		if sc2 := rec.Carried(again); sc2.TraceID() != sc.TraceID() || sc2.SpanID() != sc.SpanID() || sc2.IsSampled() != sc.IsSampled() || sc2.TraceState().String() != sc.TraceState().String() {
			t.Fatalf("%q read as %v, carried as %q, read back as %v", s, sc, again, sc2)
		}
		if strings.Count(again, "\n") > 1 {
			t.Fatalf("carried %q has more than one newline", again)
		}
		var h fasthttp.RequestHeader
		tp, ts, _ := strings.Cut(s, "\n")
		h.Set("traceparent", tp)
		h.Set("tracestate", ts)
		_ = rec.HeaderCarry(&h)
		_ = rec.Resume(context.Background(), s)
	})
}
