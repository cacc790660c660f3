// Package telemetry is connector-proxy's tracing: OpenTelemetry spans for
// one message's way across the hop, exported over OTLP/HTTP.
//
// Tracing is off unless configured (Config.Enabled, or the standard OTEL_*
// variables: see Enabled). Off, New returns a nil *Tracing, and every method
// of a nil *Tracing, and of the zero Span, does nothing and allocates
// nothing, so that the faces call them unconditionally on their hot paths.
//
// The spans, with OpenTelemetry's semantic conventions:
//
//   - Server wraps the public listener: one SERVER span per request named
//     "{method} {http.route}" (Socket.IO's transport requests excepted; its
//     events have spans of their own). The client's W3C traceparent and
//     tracestate are its parent. A face hands the span on to its work with
//     RequestContext.
//   - StartClient makes a CLIENT span for each HTTP request the proxy sends
//     (every AXP call attempt, every webhook delivery attempt) and writes
//     its traceparent into the request.
//   - An AXP event is answered before it is applied, so its trace context
//     travels with it through the inbox (Carry, kept in mapping.InboxEntry):
//     StartApply makes the CONSUMER span of the conversation worker's apply,
//     a child of the event's context when it applies one event, linked to
//     every event's context always. The notifications the apply causes carry
//     the apply span's context in mapping.OutboxItem, and each delivery
//     attempt's CLIENT span is its child (Resume).
//   - StartEvent and StartEmit are the Socket.IO events a client sends
//     (CONSUMER, parent the handshake's traceparent) and those the proxy
//     emits to sockets (PRODUCER).
//
// What is never recorded: message texts, tokens and secrets of any kind
// (the AXP webhook's path token is replaced by its route template; query
// values are redacted), names, emails, phone numbers, consumer ids, client
// addresses, error messages (they may quote a URL). Only W3C Trace Context
// is propagated: baggage is neither read nor sent, since it may carry
// personal data.
//
// NewLogHandler puts trace_id and span_id on every log record whose context
// holds a span.
package telemetry
