package telemetry

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Values of the messaging attributes of the proxy's own queues and of
// Socket.IO.
const (
	systemProxy    = "connector_proxy"
	systemSocketIO = "socket.io"
	// AttrFace is the client face a conversation belongs to.
	AttrFace = "connector_proxy.face"
	// AttrRecipients counts the sockets (and replicas) an emit reached.
	AttrRecipients = "connector_proxy.socketio.recipients"
	// AttrAXPOperation names the AXP call (the operation label of the
	// backend metrics).
	AttrAXPOperation = "connector_proxy.axp.operation"
	// AttrAXPEventType is an AXP webhook's eventType.
	AttrAXPEventType = "connector_proxy.axp.event_type"
	// AttrNotificationKind is an outbox item's kind (ContentEvent, …).
	AttrNotificationKind = "connector_proxy.notification.kind"
	// AttrOutcome is what became of an event applied as it arrived when it
	// was not applied (duplicate, or queued for the worker).
	AttrOutcome = "connector_proxy.pipeline.outcome"
)

// Carry is the trace context of ctx as a queued record keeps it: the W3C
// traceparent, then a newline and the tracestate when there is one (""
// when ctx holds no span, or tracing is off). Resume and StartApply read it
// back.
func (t *Tracing) Carry(ctx context.Context) string {
	if t == nil {
		return ""
	}
	return carry(trace.SpanContextFromContext(ctx))
}

func carry(sc trace.SpanContext) string {
	if !sc.IsValid() {
		return ""
	}
	tid, sid, flags := sc.TraceID(), sc.SpanID(), [1]byte{byte(sc.TraceFlags() & trace.FlagsSampled)}
	s := "00-" + hex.EncodeToString(tid[:]) + "-" + hex.EncodeToString(sid[:]) + "-" + hex.EncodeToString(flags[:])
	if ts := sc.TraceState().String(); ts != "" {
		s += "\n" + ts
	}
	return s
}

// Carried is the span context a Carry string holds (remote; invalid when
// s holds none or is damaged).
func (t *Tracing) Carried(s string) trace.SpanContext {
	if t == nil || s == "" {
		return trace.SpanContext{}
	}
	tp, ts, _ := strings.Cut(s, "\n")
	c := propagation.MapCarrier{"traceparent": tp}
	if ts != "" {
		c["tracestate"] = ts
	}
	return trace.SpanContextFromContext(t.prop.Extract(context.Background(), c))
}

// Resume returns ctx with the carried context as its (remote) parent, so
// that the spans of work done later for a queued record join its trace.
func (t *Tracing) Resume(ctx context.Context, carried string) context.Context {
	if t == nil || carried == "" {
		return ctx
	}
	if sc := t.Carried(carried); sc.IsValid() {
		return trace.ContextWithRemoteSpanContext(ctx, sc)
	}
	return ctx
}

// HeaderCarry is the trace context a request's headers carry (its
// traceparent and tracestate), as Carry keeps it: what a Socket.IO
// handshake says for the events of its connection.
func (t *Tracing) HeaderCarry(h *fasthttp.RequestHeader) string {
	if t == nil || len(h.Peek("traceparent")) == 0 {
		return ""
	}
	return carry(trace.SpanContextFromContext(t.prop.Extract(context.Background(), requestCarrier{h})))
}

// StartApply starts the CONSUMER span of a conversation worker applying
// events of its inbox ("apply inbox"). carried are the events' Carry
// strings. When ctx already holds a span (an event applied as it arrives,
// inside its webhook), the apply is its child; otherwise, applying one
// traced event, the event's context is the parent; and the span links to
// every traced event's context, as OpenTelemetry's messaging conventions
// ask of a batch.
func (t *Tracing) StartApply(ctx context.Context, carried []string, conversation, face string, events int) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	var links []trace.Link
	for _, c := range carried {
		if sc := t.Carried(c); sc.IsValid() {
			links = append(links, trace.Link{SpanContext: sc})
		}
	}
	if !trace.SpanContextFromContext(ctx).IsValid() && len(links) == 1 && events == 1 {
		ctx = trace.ContextWithRemoteSpanContext(ctx, links[0].SpanContext)
	}
	attrs := []attribute.KeyValue{
		semconv.MessagingSystemKey.String(systemProxy),
		semconv.MessagingOperationTypeKey.String("process"),
		semconv.MessagingOperationNameKey.String("apply"),
		semconv.MessagingDestinationNameKey.String("inbox"),
		semconv.MessagingMessageConversationIDKey.String(conversation),
		attribute.String(AttrFace, face),
	}
	if events > 1 {
		attrs = append(attrs, semconv.MessagingBatchMessageCountKey.Int(events))
	}
	ctx, span := t.tracer.Start(ctx, "apply inbox", trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attrs...), trace.WithLinks(links...))
	return ctx, Span{s: span}
}

// StartEvent starts the CONSUMER span of a Socket.IO event a client sent
// ("process sendMessage"); handshake is the Carry string of the
// connection's handshake (HeaderCarry), its parent when set.
func (t *Tracing) StartEvent(ctx context.Context, handshake, event string) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	return t.startSocketIO(t.Resume(ctx, handshake), "process", trace.SpanKindConsumer, event)
}

// StartEmit starts the PRODUCER span of an event the proxy emits to
// sockets ("send messageArrived").
func (t *Tracing) StartEmit(ctx context.Context, event string) (context.Context, Span) {
	if t == nil {
		return ctx, Span{}
	}
	return t.startSocketIO(ctx, "send", trace.SpanKindProducer, event)
}

// startSocketIO starts a messaging span of a Socket.IO event: op is the
// operation's type and name ("process", "send").
func (t *Tracing) startSocketIO(ctx context.Context, op string, kind trace.SpanKind, event string) (context.Context, Span) {
	ctx, span := t.tracer.Start(ctx, op+" "+event, trace.WithSpanKind(kind), trace.WithAttributes(
		semconv.MessagingSystemKey.String(systemSocketIO),
		semconv.MessagingOperationTypeKey.String(op),
		semconv.MessagingOperationNameKey.String(op),
		semconv.MessagingDestinationNameKey.String(event),
	))
	return ctx, Span{s: span}
}

// TransportErrorType is the error.type of an HTTP exchange that got no
// answer: "timeout", or "_OTHER" as the conventions name the rest.
func TransportErrorType(err error) string {
	var to interface{ Timeout() bool }
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) || errors.As(err, &to) && to.Timeout() {
		return "timeout"
	}
	return "_OTHER"
}
