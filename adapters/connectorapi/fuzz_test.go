package connectorapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/envelope"
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
	f.Add(`[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"firstName":"A\u0000"}},{"kind":"req","id":2,"type":"cm.ConsumerRequestConversation","body":{"brandId":"`+lpAccount+`","campaignInfo":{"campaignId":2894629312,"engagementId":{}},"conversationContext":{"interactionContextId":2}}}]`, true)
	f.Add("{\"kind\":\"req\",\"id\":\"1\",\"type\":\"ms.PublishEvent\",\"body\":{\"dialogId\":\"x\",\"event\":{\"type\":\"ContentEvent\",\"message\":\"\xff\"}}}", false)
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

// FuzzParsePath feeds arbitrary paths to the router: no panic, every route
// found names an account without a slash, and a Domain API route rebuilt
// into its path parses back to itself.
func FuzzParsePath(f *testing.F) {
	for _, p := range []string{
		"/api/account/le1/service/baseURI.json",
		"/api/account/le1/service/idp/baseURI",
		"/api/account/le1/service//baseURI.json",
		"/api/account/le1/consumer",
		"/sentinel/api/account/le1/app/token",
		"/api/account/le1/messaging/consumer/conversation/send",
		"/api/account/le1/service/a/b/baseURI.json.json",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r, ok := parsePath(path)
		if !ok {
			return
		}
		if r.account == "" || strings.Contains(r.account, "/") {
			t.Fatalf("%q: account %q", path, r.account)
		}
		if r.call != "domain" {
			return
		}
		if strings.Contains(r.service, "/") {
			t.Fatalf("%q: service %q", path, r.service)
		}
		rebuilt := "/api/account/" + r.account + "/service/baseURI.json"
		if r.service != "" {
			rebuilt = "/api/account/" + r.account + "/service/" + r.service + "/baseURI.json"
		}
		if again, ok := parsePath(rebuilt); !ok || again != r {
			t.Fatalf("%q gave %+v; rebuilt %q gave %+v, %v", path, r, rebuilt, again, ok)
		}
	})
}

// FuzzScanSend holds the one-pass reading of a SEND to the general one:
// whatever scanSend accepts (among bodies checkBodyText lets through, as
// the handler does) decodes the same through envelope.DecodeRequest and
// encoding/json.
func FuzzScanSend(f *testing.F) {
	for _, s := range []string{
		textEnvelope("1", "c-1", "hi"),
		textEnvelope("1", "c-1", "line\nbreak \"quoted\" é"),
		`{"kind":"req","id":7,"type":"ms.PublishEvent","body":{"conversationId":"c","event":{"type":"ChatStateEvent","chatState":"COMPOSING"}}}`,
		`{"id":"x","body":{"dialogId":"","conversationId":"c","event":{"type":"AcceptStatusEvent","status":"READ","sequenceList":[1]}},"type":"ms.PublishEvent","kind":"req"}`,
		`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"d","Event":{"type":"ContentEvent"}}}`,
		`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"d","event":{"type":"ContentEvent","message":{"a":1}},"x":[1,{"y":null}]}}`,
		`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"d","event":{"message":"a"},"event":{"type":"ContentEvent"}}}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		env, ev, ok := scanSend(body)
		if !ok || checkBodyText(body, false) != nil {
			return
		}
		want, err := envelope.DecodeRequest(body)
		if err != nil {
			t.Fatalf("scanSend accepted what the envelope refuses (%v): %q", err, body)
		}
		if env.Kind != want.Kind || env.Type != want.Type || !bytes.Equal(env.ID, want.ID) || !bytes.Equal(env.Body, want.Body) {
			t.Fatalf("envelope %+v, want %+v", env, want)
		}
		wantEv, err := decodePublish(want)
		if err != nil {
			t.Fatalf("scanSend accepted a body encoding/json refuses (%v): %q", err, body)
		}
		if ev != wantEv {
			t.Fatalf("event %+v, want %+v", ev, wantEv)
		}
	})
}

// FuzzContentNotification holds the hand-written ContentEvent
// notification to what newNotification marshals for the same change.
func FuzzContentNotification(f *testing.F) {
	f.Add(3, "agent-1", "ASSIGNED_AGENT", int64(1796287166851), "Thanks for waiting <3", "c-1")
	f.Add(0, "", "", int64(-1), "\"\\\n\u2028\xff", "")
	f.Fuzz(func(t *testing.T, seq int, originator, role string, at int64, text, conv string) {
		sent := time.UnixMilli(at)
		ch := messagingChange{Sequence: seq, OriginatorID: originator, OriginatorMetadata: participant{ID: originator, Role: role},
			ServerTimestamp: at, ConversationID: conv, DialogID: conv}
		got := contentNotification(sent, ch, text)
		ch.Event = contentEvent{Type: "ContentEvent", ContentType: "text/plain", Message: text}
		if want := newNotification(typeMessagingEvent, sent, ch); string(got) != string(want) {
			t.Fatalf("hand-written:\n%s\nmarshalled:\n%s", got, want)
		}
	})
}
