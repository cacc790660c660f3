package telemetry

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// Route is what a request's path says about its span.
type Route struct {
	// Template is http.route, the path with its ids as {placeholders};
	// "" when no route fits.
	Template string
	// SecretPath says the path itself holds a secret (the AXP webhook's
	// token): url.path is then the template.
	SecretPath bool
	// Skip leaves the request without a span (Socket.IO's polling and
	// upgrade requests: a GET held open for the ping interval says nothing;
	// the events they carry have spans of their own).
	Skip bool
}

// spanKey is the RequestCtx user value the server span is kept under.
type spanKey struct{}

// Server wraps h so that each request it serves is a SERVER span, a child
// of the client's traceparent when it sent one. Off, it returns h itself.
// route names each path's route and must not keep the path.
func (t *Tracing) Server(route func(path []byte) Route, h fasthttp.RequestHandler) fasthttp.RequestHandler {
	if t == nil {
		return h
	}
	return func(rc *fasthttp.RequestCtx) {
		r := route(rc.Path())
		if r.Skip {
			h(rc)
			return
		}
		method := methodOf(rc.Method())
		name := method
		if r.Template != "" {
			name = method + " " + r.Template
		}
		path := string(rc.Path())
		if r.SecretPath {
			path = r.Template // "" leaves url.path out
		}
		scheme := "http"
		if rc.IsTLS() {
			scheme = "https"
		}
		attrs := make([]attribute.KeyValue, 0, 6)
		attrs = append(attrs,
			semconv.HTTPRequestMethodKey.String(method),
			semconv.URLSchemeKey.String(scheme),
			semconv.NetworkProtocolVersionKey.String(protocolVersion(rc)))
		if path != "" {
			attrs = append(attrs, semconv.URLPathKey.String(path))
		}
		if r.Template != "" {
			attrs = append(attrs, semconv.HTTPRouteKey.String(r.Template))
		}
		parent := t.prop.Extract(context.Background(), requestCarrier{&rc.Request.Header})
		_, span := t.tracer.Start(parent, name, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
		rc.SetUserValue(spanKey{}, span)
		h(rc)
		status := rc.Response.StatusCode()
		span.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(status))
		if status >= 500 {
			// A server's 4xx is the client's fault, not the span's.
			span.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
			span.SetStatus(codes.Error, "")
		}
		span.End()
	}
}

// RequestContext returns parent carrying the server span of rc, when
// Server made one, for the work a face does for the request beyond the
// handler's RequestCtx (nothing of which may be kept). Off, it returns
// parent.
func RequestContext(parent context.Context, rc *fasthttp.RequestCtx) context.Context {
	if s, ok := rc.UserValue(spanKey{}).(trace.Span); ok {
		return trace.ContextWithSpan(parent, s)
	}
	return parent
}

func protocolVersion(rc *fasthttp.RequestCtx) string {
	if rc.Request.Header.IsHTTP11() {
		return "1.1"
	}
	return "1.0"
}

// methodOf is http.request.method: a known method, else _OTHER (a client's
// invention is not a label).
func methodOf(m []byte) string {
	switch string(m) {
	case "GET":
		return "GET"
	case "POST":
		return "POST"
	case "PUT":
		return "PUT"
	case "DELETE":
		return "DELETE"
	case "HEAD":
		return "HEAD"
	case "OPTIONS":
		return "OPTIONS"
	case "PATCH":
		return "PATCH"
	case "CONNECT":
		return "CONNECT"
	case "TRACE":
		return "TRACE"
	}
	return "_OTHER"
}

// StartClient starts the CLIENT span of one HTTP request about to be sent
// and writes its traceparent (and tracestate) into req. template is
// url.template, the path with its ids as {placeholders} ("" when none);
// resend counts the earlier attempts of the same request. The URL is
// recorded without user info and with its query values redacted.
func (t *Tracing) StartClient(ctx context.Context, req *fasthttp.Request, template string, resend int) Span {
	if t == nil {
		return Span{}
	}
	method := methodOf(req.Header.Method())
	name := method
	if template != "" {
		name = method + " " + template
	}
	uri := req.URI()
	host, port := hostPort(string(uri.Host()), string(uri.Scheme()))
	attrs := make([]attribute.KeyValue, 0, 7)
	attrs = append(attrs,
		semconv.HTTPRequestMethodKey.String(method),
		semconv.URLFullKey.String(RedactURL(uri)),
		semconv.ServerAddressKey.String(host))
	if port > 0 {
		attrs = append(attrs, semconv.ServerPortKey.Int(port))
	}
	if template != "" {
		attrs = append(attrs, semconv.URLTemplateKey.String(template))
	}
	if resend > 0 {
		attrs = append(attrs, semconv.HTTPRequestResendCountKey.Int(resend))
	}
	ctx, span := t.tracer.Start(ctx, name, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	t.prop.Inject(ctx, requestCarrier{&req.Header})
	return Span{s: span}
}

// hostPort is server.address and server.port of a URI's host.
func hostPort(hostport, scheme string) (string, int) {
	host, p, err := net.SplitHostPort(hostport)
	if err != nil {
		host = hostport
		switch scheme {
		case "https":
			return host, 443
		case "http":
			return host, 80
		}
		return host, 0
	}
	n, _ := strconv.Atoi(p)
	return host, n
}

// RedactURL is uri as url.full may show it: no user info, and each query
// value (a webhook endpoint's token may be one) replaced by REDACTED.
func RedactURL(uri *fasthttp.URI) string {
	var b strings.Builder
	b.Write(uri.Scheme())
	b.WriteString("://")
	b.Write(uri.Host())
	b.Write(uri.PathOriginal())
	if q := uri.QueryString(); len(q) > 0 {
		b.WriteByte('?')
		for i, kv := range strings.Split(string(q), "&") {
			if i > 0 {
				b.WriteByte('&')
			}
			k, _, hasValue := strings.Cut(kv, "=")
			b.WriteString(k)
			if hasValue {
				b.WriteString("=REDACTED")
			}
		}
	}
	return b.String()
}

// Span is one span of the proxy's; the zero Span (tracing off) does
// nothing.
type Span struct{ s trace.Span }

// End ends the span.
func (s Span) End() {
	if s.s != nil {
		s.s.End()
	}
}

// Recording reports whether the span records (tracing on and sampled).
func (s Span) Recording() bool { return s.s != nil && s.s.IsRecording() }

// EndHTTP ends a CLIENT span with the answer's status (0: none came) or
// the failure's low-cardinality type (timeout, dial_error, …). A status
// of 400 or more, or a failure, marks it failed. Error messages are never
// recorded: they may quote a URL with a token.
func (s Span) EndHTTP(status int, errType string) {
	if s.s == nil {
		return
	}
	if status > 0 {
		s.s.SetAttributes(semconv.HTTPResponseStatusCodeKey.Int(status))
	}
	switch {
	case errType != "":
		s.s.SetAttributes(semconv.ErrorTypeKey.String(errType))
		s.s.SetStatus(codes.Error, "")
	case status >= 400:
		s.s.SetAttributes(semconv.ErrorTypeKey.String(strconv.Itoa(status)))
		s.s.SetStatus(codes.Error, "")
	}
	s.s.End()
}

// Fail marks the span failed with a low-cardinality error type.
func (s Span) Fail(errType string) {
	if s.s == nil || !s.s.IsRecording() {
		return
	}
	s.s.SetAttributes(semconv.ErrorTypeKey.String(errType))
	s.s.SetStatus(codes.Error, "")
}

// SetInt records a count or number under key.
func (s Span) SetInt(key string, v int) {
	if s.s != nil {
		s.s.SetAttributes(attribute.Int(key, v))
	}
}

// SetString records a low-cardinality, non-personal value under key.
func (s Span) SetString(key, v string) {
	if s.s != nil {
		s.s.SetAttributes(attribute.String(key, v))
	}
}

// Fail marks the span in ctx failed with a low-cardinality error type;
// nothing when ctx holds none that records.
func Fail(ctx context.Context, errType string) {
	Span{s: trace.SpanFromContext(ctx)}.Fail(errType)
}

// requestCarrier reads and writes the trace context headers of a fasthttp
// request.
type requestCarrier struct{ h *fasthttp.RequestHeader }

func (c requestCarrier) Get(key string) string { return string(c.h.Peek(key)) }
func (c requestCarrier) Set(key, value string) { c.h.Set(key, value) }
func (c requestCarrier) Keys() []string        { return []string{"traceparent", "tracestate"} }

// Tag records a low-cardinality, non-personal value under key on the span
// in ctx; nothing when ctx holds none that records.
func Tag(ctx context.Context, key, value string) {
	if s := trace.SpanFromContext(ctx); s.IsRecording() {
		s.SetAttributes(attribute.String(key, value))
	}
}

// PathTemplate is path with its ids as placeholders, for http.route and
// url.template: each segment that placeholder names (given the segments
// before it, the collection last) is replaced, an AIP-style ":verb" after
// it kept (/sessions/{sessionId}:terminate). Empty segments stay.
func PathTemplate(path string, placeholder func(before []string) (string, bool)) string {
	segs := strings.Split(path, "/")
	for i := 1; i < len(segs); i++ {
		name, ok := placeholder(segs[:i])
		if !ok || segs[i] == "" {
			continue
		}
		_, verb, hasVerb := strings.Cut(segs[i], ":")
		segs[i] = name
		if hasVerb {
			segs[i] += ":" + verb
		}
	}
	return strings.Join(segs, "/")
}
