package telemetry

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// Log keys of the trace context, as OpenTelemetry's log data model names
// them.
const (
	LogTraceID = "trace_id"
	LogSpanID  = "span_id"
)

// logHandler adds the trace context of a record's context to it.
type logHandler struct{ h slog.Handler }

// NewLogHandler wraps h so that a record logged with a context holding a
// span (logger.InfoContext(ctx, …)) carries trace_id and span_id. Records
// without one pass unchanged.
func NewLogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

var _ slog.Handler = logHandler{}

func (l logHandler) Enabled(ctx context.Context, level slog.Level) bool {
	return l.h.Enabled(ctx, level)
}

func (l logHandler) Handle(ctx context.Context, r slog.Record) error {
	if ctx != nil {
		if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
			// Clone: the record's attributes may share storage with the
			// caller's.
			r = r.Clone()
			r.AddAttrs(slog.String(LogTraceID, sc.TraceID().String()), slog.String(LogSpanID, sc.SpanID().String()))
		}
	}
	return l.h.Handle(ctx, r)
}

func (l logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{l.h.WithAttrs(attrs)}
}

func (l logHandler) WithGroup(name string) slog.Handler {
	return logHandler{l.h.WithGroup(name)}
}
