package engagement

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/connector-proxy/connector-proxy/telemetry"
)

func TestURLTemplateHidesEveryID(t *testing.T) {
	for path, want := range map[string]string{
		"/api/digital/channel/v1beta/accounts/DEMOAC/sessions":                       "/api/digital/channel/v1beta/accounts/{accountId}/sessions",
		"/api/digital/channel/v1beta/accounts/DEMOAC/sessions/s-1:appendIdentifiers": "/api/digital/channel/v1beta/accounts/{accountId}/sessions/{sessionId}:appendIdentifiers",
		"/api/digital/channel/v1/accounts/DEMOAC/engagements/e-1/messages":           "/api/digital/channel/v1/accounts/{accountId}/engagements/{engagementId}/messages",
		"/api/digital/channel/v1beta/accounts/DEMOAC/engagements/e-1:join":           "/api/digital/channel/v1beta/accounts/{accountId}/engagements/{engagementId}:join",
		"/prefix/api/digital/webhook/v1beta/accounts/DEMOAC/subscriptions/sub-9":     "/prefix/api/digital/webhook/v1beta/accounts/{accountId}/subscriptions/{subscriptionId}",
		"/auth/realms/DEMOAC/protocol/openid-connect/token":                          "/auth/realms/{accountId}/protocol/openid-connect/token",
		"/api/auth/v1/DEMOAC/protocol/openid-connect/token":                          "/api/auth/v1/{accountId}/protocol/openid-connect/token",
		"/api/digital/channel/v1beta/accounts/DEMOAC/engagements/":                   "/api/digital/channel/v1beta/accounts/{accountId}/engagements/",
	} {
		if got := urlTemplate(path); got != want {
			t.Errorf("urlTemplate(%q) = %q, want %q", path, got, want)
		}
	}
}

// Each attempt of a call is a client span, and AXP gets the traceparent of
// the attempt it answers; neither the token nor the text is recorded.
func TestEachAttemptIsAClientSpanWhoseTraceparentAXPGets(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	var mu sync.Mutex
	var got []string
	calls := 0
	f := startFake(t, func(ctx *fasthttp.RequestCtx) {
		mu.Lock()
		got = append(got, string(ctx.Request.Header.Peek("traceparent")))
		calls++
		n := calls
		mu.Unlock()
		if n == 1 {
			jsonAnswer(ctx, 401, `{"title":"Unauthorized","status":401}`)
			return
		}
		jsonAnswer(ctx, 201, `{"messageId":"m-1"}`)
	})
	c, _, _ := newTestClient(t, f, func(cfg *Config) { cfg.Tracing = telemetry.NewWithProvider(tp) })
	parent, span := tp.Tracer("test").Start(context.Background(), "request")
	_, err := c.SendMessage(parent, "eng-1", &SendMessage{SessionID: "s", DialogID: "d",
		Body: Body{ElementType: "text", ElementText: &ElementText{Text: "the customer's words"}}})
	span.End()
	if err != nil {
		t.Fatal(err)
	}
	const name = "POST /api/digital/channel/v1beta/accounts/{accountId}/engagements/{engagementId}/messages"
	var attempts []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		for _, kv := range s.Attributes() {
			if v := kv.Value.String(); strings.Contains(v, "tok-") || strings.Contains(v, "secret") || strings.Contains(v, "customer's words") {
				t.Fatalf("span %q attribute %s = %q", s.Name(), kv.Key, v)
			}
		}
		if s.Name() == name {
			attempts = append(attempts, s)
		}
	}
	if len(attempts) != 2 || len(got) != 2 {
		t.Fatalf("%d attempt spans, %d requests", len(attempts), len(got))
	}
	for i, s := range attempts {
		want := "00-" + s.SpanContext().TraceID().String() + "-" + s.SpanContext().SpanID().String() + "-01"
		if got[i] != want {
			t.Errorf("attempt %d sent traceparent %q, want its span's %q", i, got[i], want)
		}
		if s.Parent().SpanID() != span.SpanContext().SpanID() || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("attempt %d: parent %v kind %v", i, s.Parent(), s.SpanKind())
		}
	}
	first, second := attempts[0], attempts[1]
	if attr(first, "http.response.status_code") != "401" || attr(first, "error.type") != "401" || attr(first, "http.request.resend_count") != "" ||
		attr(second, "http.response.status_code") != "201" || attr(second, "http.request.resend_count") != "1" || attr(second, telemetry.AttrAXPOperation) != "send_message" {
		t.Fatalf("attempts: %v / %v", first.Attributes(), second.Attributes())
	}
}

func attr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}
