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
	u.prepare(ctx, uri, headers...)
	ctx.Request.SetBodyString(body)
	u.face.Handler(ctx)
}

// requestBytes is request with a body that is reused (SetBody copies it).
func (u *unit) requestBytes(ctx *fasthttp.RequestCtx, uri string, body []byte, headers ...string) {
	u.prepare(ctx, uri, headers...)
	ctx.Request.SetBody(body)
	u.face.Handler(ctx)
}

// prepare sets up a request with the unit's tokens, but no body.
func (u *unit) prepare(ctx *fasthttp.RequestCtx, uri string, headers ...string) {
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
}
