package connectorapi

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
)

// tokenAnswer is the AppJWT answer; expires_in is not in LivePerson's
// example but clients that read it must not fall back to 0.
type tokenAnswer struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
}

// arg reads a parameter from the query string or the form body, the two
// places connectors put client credentials.
func arg(ctx *fasthttp.RequestCtx, name string) string {
	if v := ctx.QueryArgs().Peek(name); len(v) > 0 {
		return string(v)
	}
	return string(ctx.PostArgs().Peek(name))
}

// serveToken is POST /sentinel/api/account/{a}/app/token.
func (f *Face) serveToken(ctx *fasthttp.RequestCtx, r route) {
	if gt := arg(ctx, "grant_type"); gt != "" && gt != "client_credentials" {
		f.writeError(ctx, nil, badRequest(nil, "grant_type", "grant_type %q is not supported; use client_credentials", gt))
		return
	}
	tok, exp, err := f.tokens.IssueAppJWT(r.account, arg(ctx, "client_id"), arg(ctx, "client_secret"))
	if err != nil {
		f.writeError(ctx, nil, err)
		return
	}
	b, _ := json.Marshal(tokenAnswer{AccessToken: tok, TokenType: "Bearer", ExpiresIn: exp})
	ctx.Response.Header.Set("Cache-Control", "no-store")
	writeJSON(ctx, 200, b)
}

// serveConsumer is POST /api/account/{a}/consumer: a ConsumerJWS for an
// external consumer id, for the app of the AppJWT.
func (f *Face) serveConsumer(_ context.Context, ctx *fasthttp.RequestCtx, r route) {
	app, err := f.tokens.VerifyAppJWT(r.account, string(ctx.Request.Header.Peek("Authorization")))
	if err == nil {
		err = throttle(f.cfg.AppLimit, app.AuthorizedParty, "this app")
	}
	if err != nil {
		f.writeError(ctx, nil, err)
		return
	}
	var body struct {
		ExtConsumerID *string `json:"ext_consumer_id"`
	}
	if err := json.Unmarshal(ctx.PostBody(), &body); err != nil {
		f.writeError(ctx, nil, badRequest(nil, "", "the body must be a JSON object {\"ext_consumer_id\": \"…\"}"))
		return
	}
	if body.ExtConsumerID == nil || strings.TrimSpace(*body.ExtConsumerID) == "" {
		f.writeError(ctx, nil, missing(nil, "ext_consumer_id"))
		return
	}
	if n := len(*body.ExtConsumerID); n > auth.MaxExtConsumerIDBytes {
		// Its token would not fit in the request heads the proxy accepts.
		f.writeError(ctx, nil, badRequest(nil, "ext_consumer_id", "ext_consumer_id is %d bytes; at most %d are accepted", n, auth.MaxExtConsumerIDBytes))
		return
	}
	tok, err := f.tokens.IssueConsumerJWS(app, *body.ExtConsumerID)
	if err != nil {
		f.writeError(ctx, nil, err)
		return
	}
	b, _ := json.Marshal(map[string]string{"token": tok})
	writeJSON(ctx, 201, b)
}

// caller is who a CONVERSATION or SEND acts for.
type caller struct {
	app      *auth.App
	consumer *auth.ConsumerClaims
}

// authenticate checks the AppJWT and the ConsumerJWS of a messaging call,
// reading both from the headers in place.
func (f *Face) authenticate(ctx *fasthttp.RequestCtx, account string) (caller, error) {
	claims, err := f.tokens.VerifyAppJWTBytes(account, ctx.Request.Header.Peek("Authorization"))
	if err != nil {
		return caller{}, err
	}
	cons, err := f.tokens.VerifyConsumerJWSBytes(claims, ctx.Request.Header.Peek("X-LP-ON-BEHALF"))
	if err != nil {
		return caller{}, err
	}
	app, ok := f.tokens.App(account, claims.AuthorizedParty)
	if !ok { // VerifyAppJWT checked it; the configuration is fixed for the process
		return caller{}, auth.NotOwner()
	}
	if err := throttle(f.cfg.AppLimit, app.ClientID, "this app"); err != nil {
		return caller{}, err
	}
	if err := throttle(f.cfg.ConsumerLimit, cons.ConsumerID, "this consumer"); err != nil {
		return caller{}, err
	}
	return caller{app: app, consumer: cons}, nil
}
