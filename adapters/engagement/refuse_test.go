package engagement

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

// TestReceiverRefusalsAreProblems: every refusal of the webhook path is an
// RFC 7807 document, those of the handler and those the proxy's HTTP
// server makes through Refuse.
func TestReceiverRefusalsAreProblems(t *testing.T) {
	r := NewReceiver(&recordingSink{}, ReceiverOptions{Token: testToken})
	tests := []struct {
		name   string
		serve  func(ctx *fasthttp.RequestCtx)
		status int
	}{
		{"wrong token", func(ctx *fasthttp.RequestCtx) {
			ctx.Request.SetRequestURI("/webhooks/axp/" + testToken + "x")
			ctx.Request.Header.SetMethod("POST")
			r.Handler(ctx)
		}, 404},
		{"GET", func(ctx *fasthttp.RequestCtx) {
			ctx.Request.SetRequestURI(r.Path())
			r.Handler(ctx)
		}, 405},
		{"malformed", func(ctx *fasthttp.RequestCtx) {
			ctx.Request.SetRequestURI(r.Path())
			ctx.Request.Header.SetMethod("POST")
			ctx.Request.SetBodyString("{")
			r.Handler(ctx)
		}, 400},
		{"body too large", func(ctx *fasthttp.RequestCtx) { Refuse(ctx, 413, "the body is over 4 MiB") }, 413},
		{"head too large", func(ctx *fasthttp.RequestCtx) { Refuse(ctx, 431, "the head is over 16 KiB") }, 431},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ctx fasthttp.RequestCtx
			tt.serve(&ctx)
			var p Problem
			if ctx.Response.StatusCode() != tt.status || string(ctx.Response.Header.ContentType()) != "application/problem+json" ||
				json.Unmarshal(ctx.Response.Body(), &p) != nil || p.Status != tt.status || p.Title == "" || p.Detail == "" {
				t.Fatalf("%d %s %s, want a %d problem document", ctx.Response.StatusCode(), ctx.Response.Header.ContentType(), ctx.Response.Body(), tt.status)
			}
		})
	}
}
