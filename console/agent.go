package console

import (
	"bytes"
	"mime"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"
)

// simPrefix is the simulator's agent API, the only part of it the console
// reaches.
const simPrefix = "/sim/"

// serveAgent hands /demo/agent/{rest} to the simulator as /sim/{rest}.
func (c *Console) serveAgent(ctx *fasthttp.RequestCtx, rest string) {
	if c.cfg.Agent == nil {
		jsonError(ctx, fasthttp.StatusNotFound, "the agent desk needs demo mode: there is no simulator behind this proxy")
		return
	}
	// The path is already decoded and normalised; refuse what could turn
	// into another path once the simulator's URI decodes it again.
	if rest == "" || strings.ContainsAny(rest, "%\\") || strings.Contains(rest, "//") {
		notFound(ctx)
		return
	}
	if !ctx.IsGet() && !ctx.IsHead() {
		if msg := sameOriginJSON(ctx); msg != "" {
			jsonError(ctx, fasthttp.StatusForbidden, msg)
			return
		}
	}
	orig := append([]byte(nil), ctx.Request.URI().PathOriginal()...)
	ctx.Request.URI().SetPath(simPrefix + rest)
	// Restored so that what runs after (access metrics) sees the request
	// as it came.
	defer ctx.Request.URI().SetPathBytes(orig)
	if !bytes.HasPrefix(ctx.Path(), []byte(simPrefix)) {
		notFound(ctx)
		return
	}
	c.cfg.Agent(ctx)
}

// sameOriginJSON is why a state-changing request may not have come from the
// page, "" when it may: it must say it is JSON (which a form of another
// site cannot send without a CORS preflight, which the console never
// allows), and an Origin, when present, must be this host.
func sameOriginJSON(ctx *fasthttp.RequestCtx) string {
	mt, _, err := mime.ParseMediaType(string(ctx.Request.Header.ContentType()))
	if err != nil || mt != "application/json" {
		return "the agent API takes Content-Type: application/json"
	}
	origin := string(ctx.Request.Header.Peek("Origin"))
	if origin == "" {
		return ""
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host != string(ctx.Host()) {
		return "the agent API answers only the console's own page (Origin " + origin + ")"
	}
	return ""
}
