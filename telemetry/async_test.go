package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/trace"
)

func TestCarryRoundTrips(t *testing.T) {
	tr, _ := recorded(t)
	var h fasthttp.RequestHeader
	h.Set("traceparent", clientParent)
	h.Set("tracestate", "vendor=a b,other=1")
	carried := tr.HeaderCarry(&h)
	if carried != clientParent+"\nvendor=a b,other=1" {
		t.Fatalf("HeaderCarry = %q", carried)
	}
	sc := tr.Carried(carried)
	if !sc.IsValid() || !sc.IsRemote() || sc.TraceID().String() != clientTraceID || sc.SpanID().String() != clientSpanID || !sc.IsSampled() || sc.TraceState().Get("vendor") != "a b" {
		t.Fatalf("Carried = %+v", sc)
	}
	if again := carry(sc); again != carried {
		t.Fatalf("carry(Carried(x)) = %q, want %q", again, carried)
	}
	ctx := tr.Resume(context.Background(), carried)
	if trace.SpanContextFromContext(ctx).SpanID() != sc.SpanID() {
		t.Fatal("Resume does not make the carried context the parent")
	}
	if got := tr.Carry(ctx); got != carried {
		t.Fatalf("Carry(Resume(x)) = %q", got)
	}
}

func TestCarriedRefusesWhatIsNotATraceContext(t *testing.T) {
	tr, _ := recorded(t)
	for _, s := range []string{
		"", "garbage", "00-" + clientTraceID + "-" + clientSpanID, // no flags
		"00-00000000000000000000000000000000-" + clientSpanID + "-01", // zero trace id
		"00-" + clientTraceID + "-0000000000000000-01",
		"ff-" + clientTraceID + "-" + clientSpanID + "-01", // version ff is invalid
	} {
		if sc := tr.Carried(s); sc.IsValid() {
			t.Errorf("Carried(%q) = %v, want invalid", s, sc)
		}
		if ctx := tr.Resume(context.Background(), s); ctx != context.Background() {
			t.Errorf("Resume(%q) changed the context", s)
		}
	}
	var h fasthttp.RequestHeader
	if tr.HeaderCarry(&h) != "" {
		t.Fatal("no header, yet a carried context")
	}
	h.Set("traceparent", "nonsense")
	if tr.HeaderCarry(&h) != "" {
		t.Fatal("a bad traceparent was carried")
	}
}

func TestApplyIsChildOfOneEventAndLinksABatch(t *testing.T) {
	tr, rec := recorded(t)
	webhook, ws := tr.StartEmit(context.Background(), "webhook") // stands for the webhook's server span
	ws.End()
	a := tr.Carry(webhook)
	_, other := tr.StartEmit(context.Background(), "other")
	other.End()
	b := carry(other.s.SpanContext())

	// Queued, one event: its context is the parent, and a link.
	_, s1 := tr.StartApply(context.Background(), []string{a}, "conv-1", "connectorapi", 1)
	s1.End()
	// Queued, a batch of events from two traces: a new trace, linked to both.
	_, s2 := tr.StartApply(context.Background(), []string{a, "", b}, "conv-1", "connectorapi", 3)
	s2.End()
	// Applied as it arrives, inside the webhook: its child.
	_, s3 := tr.StartApply(webhook, nil, "conv-1", "customerchannel", 1)
	s3.End()

	var applies []trace.SpanContext
	for _, s := range rec.Ended() {
		if s.Name() != "apply inbox" {
			continue
		}
		applies = append(applies, s.SpanContext())
		if s.SpanKind() != trace.SpanKindConsumer || attr(s, "messaging.operation.type") != "process" || attr(s, "messaging.message.conversation_id") != "conv-1" {
			t.Fatalf("apply span %v", s.Attributes())
		}
		switch s.SpanContext().SpanID() {
		case s1.s.SpanContext().SpanID():
			if s.Parent().SpanID() != trace.SpanContextFromContext(webhook).SpanID() || len(s.Links()) != 1 {
				t.Fatalf("one queued event: parent %v, %d links", s.Parent(), len(s.Links()))
			}
		case s2.s.SpanContext().SpanID():
			if s.Parent().IsValid() || len(s.Links()) != 2 || attr(s, "messaging.batch.message_count") != "3" {
				t.Fatalf("a batch: parent %v, %d links, count %q", s.Parent(), len(s.Links()), attr(s, "messaging.batch.message_count"))
			}
		case s3.s.SpanContext().SpanID():
			if s.Parent().SpanID() != trace.SpanContextFromContext(webhook).SpanID() || s.Parent().IsRemote() || attr(s, AttrFace) != "customerchannel" {
				t.Fatalf("applied inline: parent %v", s.Parent())
			}
		}
	}
	if len(applies) != 3 {
		t.Fatalf("%d apply spans", len(applies))
	}
}

func TestSocketEventFollowsTheHandshake(t *testing.T) {
	tr, rec := recorded(t)
	ctx, sp := tr.StartEvent(context.Background(), clientParent, "sendMessage")
	_, emit := tr.StartEmit(ctx, "messageArrived")
	emit.SetInt(AttrRecipients, 2)
	emit.End()
	Fail(ctx, "not_found")
	sp.End()
	ev := only(t, rec, "process sendMessage")
	if ev.Parent().SpanID().String() != clientSpanID || ev.SpanKind() != trace.SpanKindConsumer || attr(ev, "messaging.system") != "socket.io" || attr(ev, "error.type") != "not_found" {
		t.Fatalf("event span parent %v attrs %v", ev.Parent(), ev.Attributes())
	}
	em := only(t, rec, "send messageArrived")
	if em.Parent().SpanID() != ev.SpanContext().SpanID() || em.SpanKind() != trace.SpanKindProducer || attr(em, AttrRecipients) != "2" {
		t.Fatalf("emit span parent %v attrs %v", em.Parent(), em.Attributes())
	}
	_, root := tr.StartEvent(context.Background(), "", "joinConversation")
	root.End()
	if only(t, rec, "process joinConversation").Parent().IsValid() {
		t.Fatal("an event of a handshake without traceparent must start a trace")
	}
}

func TestLogsCarryTheTraceID(t *testing.T) {
	tr, _ := recorded(t)
	var buf bytes.Buffer
	log := slog.New(NewLogHandler(slog.NewJSONHandler(&buf, nil))).With("component", "test")
	ctx, sp := tr.StartEmit(context.Background(), "x")
	defer sp.End()
	log.InfoContext(ctx, "traced", "k", "v")
	log.Info("untraced")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("log: %s", buf.String())
	}
	var traced, untraced map[string]any
	if json.Unmarshal([]byte(lines[0]), &traced) != nil || json.Unmarshal([]byte(lines[1]), &untraced) != nil {
		t.Fatalf("log: %s", buf.String())
	}
	sc := sp.s.SpanContext()
	if traced[LogTraceID] != sc.TraceID().String() || traced[LogSpanID] != sc.SpanID().String() || traced["component"] != "test" || traced["k"] != "v" {
		t.Fatalf("traced record %v", traced)
	}
	if _, ok := untraced[LogTraceID]; ok {
		t.Fatalf("a record without a span got a trace id: %v", untraced)
	}
}

// Off, the hooks the hot paths call cost no allocation.
func TestTracingOffAllocatesNothing(t *testing.T) {
	var tr *Tracing
	ctx := context.Background()
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://127.0.0.1/x")
	var rc fasthttp.RequestCtx
	carried := []string{clientParent}
	allocs := testing.AllocsPerRun(100, func() {
		c := RequestContext(ctx, &rc)
		sp := tr.StartClient(c, req, "/x", 1)
		sp.SetInt(AttrRecipients, 1)
		sp.SetString(AttrFace, "x")
		sp.Fail("x")
		sp.EndHTTP(200, "")
		c = tr.Resume(c, clientParent)
		c, a := tr.StartApply(c, carried, "conv", "face", 1)
		a.End()
		c, e := tr.StartEvent(c, clientParent, "sendMessage")
		_, m := tr.StartEmit(c, "messageArrived")
		m.End()
		e.End()
		Fail(c, "x")
		if tr.Carry(c) != "" || tr.HeaderCarry(&req.Header) != "" || tr.Carried(clientParent).IsValid() {
			t.Fatal("off, yet a trace context")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call with tracing off", allocs)
	}
}
