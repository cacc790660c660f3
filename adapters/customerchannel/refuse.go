package customerchannel

import (
	"bytes"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/ratelimit"
)

// Codes of the refusals made before a request reaches its handler.
const (
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"
	CodeHeadersTooLarge = "HEADERS_TOO_LARGE"
	CodeTimeout         = "TIMEOUT"
)

// Refuse answers a request the proxy refused before the face could read it
// (a head or body too large, a request cut off), in the format of the path
// it was for: Engine.IO's {"code","message"} under /socket.io/ (code 3, Bad
// request, as Engine.IO servers answer what they cannot take), the HTTP
// calls' {status, code, message} elsewhere. path is given because the
// request's own may not have been parsed.
func (f *Face) Refuse(ctx *fasthttp.RequestCtx, path []byte, status int, msg string) {
	if isSocketPath(path) {
		engineRefusal(ctx, status, 3, "Bad request")
		return
	}
	f.cors(ctx)
	code := "BAD_REQUEST"
	switch status {
	case fasthttp.StatusRequestEntityTooLarge:
		code = CodePayloadTooLarge
	case fasthttp.StatusRequestHeaderFieldsTooLarge:
		code = CodeHeadersTooLarge
	case fasthttp.StatusRequestTimeout:
		code = CodeTimeout
	}
	writeError(ctx, status, code, msg)
}

func isSocketPath(path []byte) bool {
	return bytes.HasPrefix(path, []byte("/socket.io/")) || string(path) == "/socket.io"
}

// engineRefusal is an Engine.IO error answer, as the socketio server
// writes them.
func engineRefusal(ctx *fasthttp.RequestCtx, status, code int, message string) {
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"code":` + strconv.Itoa(code) + `,"message":` + strconv.Quote(message) + `}`)
}

// rateLimited is the 429 of a rate limit, in the path's format. A new
// Engine.IO session refused is answered as an Engine.IO server's
// allowRequest refusal is (code 4), with the reason as its message.
func (f *Face) rateLimited(ctx *fasthttp.RequestCtx, socket bool, wait time.Duration) {
	ctx.Response.Header.Set("Retry-After", ratelimit.RetryAfter(wait))
	if socket {
		// The socketio server would have echoed the origin; a browser must
		// be able to read this answer too.
		if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 && f.originAllowed(string(origin)) {
			ctx.Response.Header.SetBytesV("Access-Control-Allow-Origin", origin)
			ctx.Response.Header.Set("Access-Control-Allow-Credentials", "true")
			ctx.Response.Header.Add("Vary", "Origin")
		}
		engineRefusal(ctx, fasthttp.StatusTooManyRequests, 4, "Too many requests")
		return
	}
	writeError(ctx, fasthttp.StatusTooManyRequests, CodeRateLimited, "too many requests from this address; retry after the Retry-After seconds")
}

// newSession reports whether a request opens an Engine.IO session: a GET
// without a sid (the polling handshake, or a WebSocket opened directly).
func newSession(ctx *fasthttp.RequestCtx) bool {
	return ctx.IsGet() && len(ctx.QueryArgs().Peek("sid")) == 0
}
