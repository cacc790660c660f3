package connectorapi

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/ratelimit"
)

const (
	sendPath     = "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
	consumerPath = "/api/account/" + lpAccount + "/consumer?v=1.0"
)

// limitedUnit is a unit whose face has the given limits on a test clock.
func limitedUnit(t *testing.T, app, consumer ratelimit.Options) (*unit, *clock) {
	t.Helper()
	u := newUnit(t)
	clk := newClock()
	app.Now, consumer.Now = clk.Now, clk.Now
	// Set before any request of the test: Handler runs on this goroutine.
	if l := ratelimit.New[string](app); l != nil {
		u.face.cfg.AppLimit = l.Wait
	}
	if l := ratelimit.New[string](consumer); l != nil {
		u.face.cfg.ConsumerLimit = l.Wait
	}
	return u, clk
}

func (u *unit) sendAs(ctx *fasthttp.RequestCtx, jws string) {
	u.request(ctx, sendPath, textEnvelope("m", u.conv, "hi"), "X-LP-ON-BEHALF", jws)
}

// otherConsumer is a ConsumerJWS of the unit's app for another consumer.
func (u *unit) otherConsumer(t *testing.T, ext string) string {
	t.Helper()
	var ctx fasthttp.RequestCtx
	u.request(&ctx, consumerPath, `{"ext_consumer_id":"`+ext+`"}`)
	if ctx.Response.StatusCode() != 201 {
		t.Fatalf("ConsumerJWS: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	var out struct{ Token string }
	if err := json.Unmarshal(ctx.Response.Body(), &out); err != nil {
		t.Fatal(err)
	}
	return out.Token
}

func want429(t *testing.T, ctx *fasthttp.RequestCtx, retryAfter string) {
	t.Helper()
	if got := ctx.Response.StatusCode(); got != 429 {
		t.Fatalf("answered %d %s, want 429", got, ctx.Response.Body())
	}
	e := decodeLPError(t, 429, ctx.Response.Body())
	if e.Body.ErrorCode != 42900 {
		t.Errorf("errorCode %d, want 42900", e.Body.ErrorCode)
	}
	if got := string(ctx.Response.Header.Peek("Retry-After")); got != retryAfter {
		t.Errorf("Retry-After %q, want %q", got, retryAfter)
	}
}

func TestConsumerRateLimitAnswers429ForThatConsumerOnly(t *testing.T) {
	u, clk := limitedUnit(t, ratelimit.Options{}, ratelimit.Options{Rate: 0.5, Burst: 2})
	other := u.otherConsumer(t, "someone-else")
	var ctx fasthttp.RequestCtx
	for i := range 2 {
		if u.sendAs(&ctx, u.jws); ctx.Response.StatusCode() != 200 {
			t.Fatalf("SEND %d within the burst: %d %s", i, ctx.Response.StatusCode(), ctx.Response.Body())
		}
	}
	u.sendAs(&ctx, u.jws)
	want429(t, &ctx, "2")
	if u.request(&ctx, "/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", conversationBody); ctx.Response.StatusCode() != 429 {
		t.Errorf("CONVERSATION of the limited consumer: %d, want 429", ctx.Response.StatusCode())
	}
	// Another consumer of the same app is not held back.
	u.request(&ctx, "/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", conversationBody, "X-LP-ON-BEHALF", other)
	if ctx.Response.StatusCode() != 200 {
		t.Fatalf("another consumer: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	clk.Advance(2 * time.Second)
	if u.sendAs(&ctx, u.jws); ctx.Response.StatusCode() != 200 {
		t.Fatalf("after the refill: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestAppRateLimitCoversEveryAuthenticatedCall(t *testing.T) {
	u, _ := limitedUnit(t, ratelimit.Options{Rate: 1, Burst: 1}, ratelimit.Options{})
	var ctx fasthttp.RequestCtx
	if u.sendAs(&ctx, u.jws); ctx.Response.StatusCode() != 200 {
		t.Fatalf("first SEND: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
	u.sendAs(&ctx, u.jws)
	want429(t, &ctx, "1")
	u.request(&ctx, consumerPath, `{"ext_consumer_id":"new"}`)
	want429(t, &ctx, "1")
}

func TestRefusedTokensSpendNoAllowance(t *testing.T) {
	// The limit keys on verified identities: requests with a forged or
	// foreign token are refused 401 and leave the app's bucket untouched.
	u, _ := limitedUnit(t, ratelimit.Options{Rate: 1, Burst: 1}, ratelimit.Options{Rate: 1, Burst: 1})
	var ctx fasthttp.RequestCtx
	for range 5 {
		u.request(&ctx, sendPath, textEnvelope("m", u.conv, "hi"), "Authorization", u.app+"x")
		if ctx.Response.StatusCode() != 401 {
			t.Fatalf("bad AppJWT: %d, want 401", ctx.Response.StatusCode())
		}
		u.sendAs(&ctx, "x.y.z")
		if ctx.Response.StatusCode() != 401 {
			t.Fatalf("bad ConsumerJWS: %d, want 401", ctx.Response.StatusCode())
		}
	}
	if u.sendAs(&ctx, u.jws); ctx.Response.StatusCode() != 200 {
		t.Fatalf("the real app after forged calls: %d %s", ctx.Response.StatusCode(), ctx.Response.Body())
	}
}

func TestExtConsumerIDLength(t *testing.T) {
	u := newUnit(t)
	tests := []struct {
		name  string
		n     int
		code  int
		field string
	}{
		{"the longest accepted", auth.MaxExtConsumerIDBytes, 201, ""},
		{"one byte more", auth.MaxExtConsumerIDBytes + 1, 400, "ext_consumer_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			u.request(&ctx, consumerPath, `{"ext_consumer_id":"`+strings.Repeat("é", tt.n/2)+strings.Repeat("x", tt.n%2)+`"}`)
			if got := ctx.Response.StatusCode(); got != tt.code {
				t.Fatalf("answered %d %s, want %d", got, ctx.Response.Body(), tt.code)
			}
			if tt.field != "" {
				if e := decodeLPError(t, tt.code, ctx.Response.Body()); e.Body.Field != tt.field {
					t.Errorf("field %q, want %q", e.Body.Field, tt.field)
				}
			}
		})
	}
}

func TestRefuseSpeaksLivePerson(t *testing.T) {
	u := newUnit(t)
	for _, status := range []int{400, 408, 413, 431} {
		var ctx fasthttp.RequestCtx
		u.face.Refuse(&ctx, status, "the request head is too large")
		if ctx.Response.StatusCode() != status {
			t.Fatalf("status %d, want %d", ctx.Response.StatusCode(), status)
		}
		decodeLPError(t, status, ctx.Response.Body())
		if ct := string(ctx.Response.Header.ContentType()); !strings.HasPrefix(ct, "application/json") {
			t.Errorf("%d: content type %q", status, ct)
		}
	}
}
