package connectorapi

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

// FuzzHandler sends arbitrary bodies to CONVERSATION and SEND with valid
// tokens: no panic, and every answer is JSON with a status a connector can
// act on (never a bare 500).
func FuzzHandler(f *testing.F) {
	u := newUnit(f)
	f.Add(textEnvelope("1", u.conv, "hi"), false)
	f.Add(closeEnvelope(`5`, u.conv), false)
	f.Add(conversationBody, true)
	f.Add(`[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"ctmrinfo","info":{"a":1}}]}}},{"kind":"req","id":2,"type":"cm.ConsumerRequestConversation","body":{"brandId":"`+lpAccount+`","conversationContext":{"lang":"en"}}}]`, true)
	f.Add(`{"kind":"req","id":"1","type":"cm.UpdateConversationField","body":{"conversationId":"`+u.conv+`","conversationField":[{"field":"CSATRate","csatRate":3,"status":"SKIPPED"}]}}`, false)
	f.Fuzz(func(t *testing.T, body string, batch bool) {
		uri := "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
		if batch {
			uri = "/api/account/" + lpAccount + "/messaging/consumer/conversation?v=3"
		}
		var ctx fasthttp.RequestCtx
		u.request(&ctx, uri, body)
		code := ctx.Response.StatusCode()
		if code >= 500 || code < 200 {
			t.Fatalf("status %d for %q: %s", code, body, ctx.Response.Body())
		}
		if !json.Valid(ctx.Response.Body()) {
			t.Fatalf("answer is not JSON: %q", ctx.Response.Body())
		}
	})
}
