package telemetry

import (
	"context"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

func testRoute(path []byte) Route {
	switch {
	case strings.HasPrefix(string(path), "/webhooks/axp/"):
		return Route{Template: "/webhooks/axp/{token}", SecretPath: true}
	case strings.HasPrefix(string(path), "/socket.io/"):
		return Route{Skip: true}
	case strings.HasSuffix(string(path), "/send"):
		return Route{Template: "/api/account/{accountId}/messaging/consumer/conversation/send"}
	}
	return Route{}
}

func serve(h fasthttp.RequestHandler, method, uri string, headers ...string) *fasthttp.RequestCtx {
	var rc fasthttp.RequestCtx
	rc.Request.Header.SetMethod(method)
	rc.Request.SetRequestURI(uri)
	for i := 0; i+1 < len(headers); i += 2 {
		rc.Request.Header.Set(headers[i], headers[i+1])
	}
	h(&rc)
	return &rc
}

func TestServerSpanFollowsTheClientAndTheRoute(t *testing.T) {
	tr, rec := recorded(t)
	var inner trace.SpanContext
	h := tr.Server(testRoute, func(rc *fasthttp.RequestCtx) {
		inner = trace.SpanContextFromContext(RequestContext(context.Background(), rc))
		rc.SetStatusCode(fasthttp.StatusOK)
	})
	serve(h, "POST", "http://proxy/api/account/DEMOAC/messaging/consumer/conversation/send?v=3&token=hush", "traceparent", clientParent, "tracestate", "vendor=x")
	s := only(t, rec, "POST /api/account/{accountId}/messaging/consumer/conversation/send")
	if s.SpanKind() != trace.SpanKindServer || s.Parent().TraceID() != mustTraceID(t, clientTraceID) || s.Parent().SpanID().String() != clientSpanID || !s.Parent().IsRemote() {
		t.Fatalf("kind %v parent %v", s.SpanKind(), s.Parent())
	}
	if s.SpanContext().TraceState().Get("vendor") != "x" {
		t.Fatalf("tracestate not kept: %q", s.SpanContext().TraceState())
	}
	if inner.SpanID() != s.SpanContext().SpanID() {
		t.Fatal("RequestContext does not hand the server span on")
	}
	for k, want := range map[string]string{
		"http.request.method":       "POST",
		"http.route":                "/api/account/{accountId}/messaging/consumer/conversation/send",
		"url.path":                  "/api/account/DEMOAC/messaging/consumer/conversation/send",
		"url.scheme":                "http",
		"http.response.status_code": "200",
		"url.query":                 "", // never: it may hold a client secret
	} {
		if got := attr(s, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if s.Status().Code == codes.Error {
		t.Error("a 200 is marked failed")
	}
}

func TestServerSpanHidesThePathToken(t *testing.T) {
	tr, rec := recorded(t)
	h := tr.Server(testRoute, func(rc *fasthttp.RequestCtx) { rc.SetStatusCode(fasthttp.StatusServiceUnavailable) })
	serve(h, "POST", "http://proxy/webhooks/axp/the-secret-path-token-0123456789abcdef")
	s := only(t, rec, "POST /webhooks/axp/{token}")
	if s.Parent().IsValid() {
		t.Fatal("a request without traceparent must start a trace")
	}
	for _, kv := range s.Attributes() {
		if strings.Contains(kv.Value.String(), "the-secret-path-token") {
			t.Fatalf("%s holds the path token", kv.Key)
		}
	}
	if attr(s, "url.path") != "/webhooks/axp/{token}" || attr(s, "error.type") != "503" || s.Status().Code != codes.Error {
		t.Fatalf("url.path %q error.type %q status %v", attr(s, "url.path"), attr(s, "error.type"), s.Status())
	}
}

func TestServerSkipsSocketIOAndNamesUnknownRoutesByMethod(t *testing.T) {
	tr, rec := recorded(t)
	h := tr.Server(testRoute, func(rc *fasthttp.RequestCtx) { rc.SetStatusCode(404) })
	serve(h, "GET", "http://proxy/socket.io/?EIO=4&transport=polling")
	serve(h, "BREW", "http://proxy/favicon.ico")
	if n := len(rec.Ended()); n != 1 {
		t.Fatalf("%d spans, want only the unknown route's", n)
	}
	s := only(t, rec, "_OTHER")
	if attr(s, "http.route") != "" || attr(s, "http.request.method") != "_OTHER" || s.Status().Code == codes.Error {
		t.Fatalf("unknown route span %v", s.Attributes())
	}
}

func TestServerWithTracingOffIsTheHandlerItself(t *testing.T) {
	var tr *Tracing
	called := 0
	h := tr.Server(testRoute, func(*fasthttp.RequestCtx) { called++ })
	rc := serve(h, "POST", "http://proxy/x/send", "traceparent", clientParent)
	if called != 1 {
		t.Fatal("handler not called")
	}
	if RequestContext(context.Background(), rc) != context.Background() {
		t.Fatal("RequestContext invented a span")
	}
}

func TestStartClientInjectsItsOwnSpan(t *testing.T) {
	tr, rec := recorded(t)
	parent, ps := tr.StartEmit(context.Background(), "x")
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.Header.SetMethod("POST")
	req.SetRequestURI("https://user:pw@connector.example/hooks/content?token=s3cret&v")
	sp := tr.StartClient(parent, req, "/hooks/content", 2)
	sp.EndHTTP(502, "")
	ps.End()
	s := only(t, rec, "POST /hooks/content")
	want := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"
	if got := string(req.Header.Peek("traceparent")); got != want {
		t.Fatalf("traceparent sent = %q, want the client span's %q", got, want)
	}
	if s.Parent().SpanID() != trace.SpanContextFromContext(parent).SpanID() || s.SpanKind() != trace.SpanKindClient {
		t.Fatal("the client span is not the child of its context")
	}
	for k, want := range map[string]string{
		"url.full":                  "https://connector.example/hooks/content?token=REDACTED&v",
		"server.address":            "connector.example",
		"server.port":               "443",
		"url.template":              "/hooks/content",
		"http.request.resend_count": "2",
		"http.response.status_code": "502",
		"error.type":                "502",
	} {
		if got := attr(s, k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if s.Status().Code != codes.Error {
		t.Error("a 502 is not marked failed")
	}
}

func TestEndHTTPWithATransportFailure(t *testing.T) {
	tr, rec := recorded(t)
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	req.SetRequestURI("http://127.0.0.1:9/x")
	tr.StartClient(context.Background(), req, "", 0).EndHTTP(0, "dial_error")
	s := only(t, rec, "GET")
	if attr(s, "error.type") != "dial_error" || attr(s, "http.response.status_code") != "" || attr(s, "server.port") != "9" || attr(s, "http.request.resend_count") != "" {
		t.Fatalf("attributes %v", s.Attributes())
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h/p":                   "http://h/p",
		"http://h:8080/a%2Fb?x=1&y=2":  "http://h:8080/a%2Fb?x=REDACTED&y=REDACTED",
		"https://u:p@h/p?flag":         "https://h/p?flag",
		"http://h/p?=only&k=v=w&&x=":   "http://h/p?=REDACTED&k=REDACTED&&x=REDACTED",
		"http://h/sessions/S1:verb?a=": "http://h/sessions/S1:verb?a=REDACTED",
	} {
		var u fasthttp.URI
		if err := u.Parse(nil, []byte(in)); err != nil {
			t.Fatal(err)
		}
		if got := RedactURL(&u); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPathTemplateNamesIdsAfterTheirCollection(t *testing.T) {
	byCollection := func(before []string) (string, bool) {
		switch before[len(before)-1] {
		case "sessions":
			return "{sessionId}", true
		case "engagements":
			return "{engagementId}", true
		}
		return "", false
	}
	tests := []struct{ path, want string }{
		{"/v1/sessions/s-1/engagements/e-2", "/v1/sessions/{sessionId}/engagements/{engagementId}"},
		{"/v1/sessions/s-1:terminate", "/v1/sessions/{sessionId}:terminate"},
		{"/v1/sessions/", "/v1/sessions/"},
		{"/v1/sessions", "/v1/sessions"},
		{"/v1/other/x", "/v1/other/x"},
	}
	for _, tt := range tests {
		if got := PathTemplate(tt.path, byCollection); got != tt.want {
			t.Errorf("PathTemplate(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
