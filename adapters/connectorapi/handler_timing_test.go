package connectorapi

import (
	"context"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// unit is a face over the fake backend and a real (cached) bolt store,
// driven by calling Handler directly.
type unit struct {
	face           *Face
	app, jws, conv string
}

func newUnit(tb testing.TB) *unit {
	tb.Helper()
	store, tokens := boltAndTokens(tb, "http://127.0.0.1:9")
	f, err := newFace(Config{ChannelProviderID: provider}, &fakeBackend{}, mapping.NewCached(store, 1000, false, nil), tokens)
	if err != nil {
		tb.Fatal(err)
	}
	u := &unit{face: f}
	app, _, err := tokens.IssueAppJWT(lpAccount, appID, appSecret)
	if err != nil {
		tb.Fatal(err)
	}
	claims, err := tokens.VerifyAppJWT(lpAccount, app)
	if err != nil {
		tb.Fatal(err)
	}
	if u.jws, err = tokens.IssueConsumerJWS(claims, "unit"); err != nil {
		tb.Fatal(err)
	}
	u.app = app
	var ctx fasthttp.RequestCtx
	u.request(&ctx, "/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", conversationBody)
	if ctx.Response.StatusCode() != 200 {
		tb.Fatalf("CONVERSATION: %s", ctx.Response.Body())
	}
	convs, err := store.Conversations(context.Background(), mapping.ConsumerKey{Face: mapping.FaceConnectorAPI, Account: lpAccount, App: appID,
		Consumer: auth.ConsumerID(lpAccount, appID, "unit")})
	if err != nil || len(convs) != 1 {
		tb.Fatalf("conversations %v %v", convs, err)
	}
	u.conv = convs[0].ID
	return u
}

func (u *unit) request(ctx *fasthttp.RequestCtx, uri, body string, headers ...string) {
	ctx.Request.Reset()
	ctx.Response.Reset()
	ctx.Request.Header.SetMethod("POST")
	ctx.Request.SetRequestURI(uri)
	ctx.Request.Header.Set("Authorization", u.app)
	ctx.Request.Header.Set("X-LP-ON-BEHALF", u.jws)
	ctx.Request.Header.SetContentType("application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		ctx.Request.Header.Set(headers[i], headers[i+1])
	}
	ctx.Request.SetBodyString(body)
	u.face.Handler(ctx)
}

// BenchmarkHandlerSend is a SEND text through the handler alone: tokens
// from the cache, conversation from the LRU, a backend with no network;
// without Client-Properties, and with the header a connector repeats on
// every SEND (the features kept already).
func BenchmarkHandlerSend(b *testing.B) {
	for _, bc := range []struct {
		name    string
		headers []string
	}{
		{"plain", nil},
		{"client_properties", []string{"Client-Properties", clientProperties}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			u := newUnit(b)
			body := textEnvelope("1", u.conv, "Text message from messaging connector")
			uri := "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
			var ctx fasthttp.RequestCtx
			u.request(&ctx, uri, body, bc.headers...) // the features kept
			b.ReportAllocs()
			for b.Loop() {
				u.request(&ctx, uri, body, bc.headers...)
				if ctx.Response.StatusCode() != 200 {
					b.Fatalf("%d %s", ctx.Response.StatusCode(), ctx.Response.Body())
				}
			}
		})
	}
}

// BenchmarkSendEndToEnd is a SEND over loopback through the proxy to the
// simulator and back.
func BenchmarkSendEndToEnd(b *testing.B) {
	s := newStack(b, stackOpts{})
	c := s.newConsumer("bench")
	conv := s.openConversation(c)
	body := textEnvelope("1", conv, "Text message from messaging connector")
	sent := 0
	b.ReportAllocs()
	for b.Loop() {
		if sent == 5000 { // stay under the simulator's messages per dialog
			b.StopTimer()
			if code, out := s.send(c, closeEnvelope(`"c"`, conv)); code != 200 {
				b.Fatalf("close %d %s", code, out)
			}
			conv = s.openConversation(c)
			body = textEnvelope("1", conv, "Text message from messaging connector")
			sent = 0
			b.StartTimer()
		}
		if code, out := s.send(c, body); code != 200 {
			b.Fatalf("%d %s", code, out)
		}
		sent++
	}
}
