package proxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// refuse is the public server's ErrorHandler: a request fasthttp could not
// read (a head or body too large, a request cut off or malformed) is
// answered in the format of the face its path names, and its connection is
// closed gently so that the client can read the answer.
func (p *Proxy) refuse(ctx *fasthttp.RequestCtx, err error) {
	status, reason, msg := p.classifyReadError(err)
	ec := edgeOf(ctx.Conn())
	var path []byte
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		path = ctx.Path() // the head was read
	case ec != nil:
		path = ec.requestPath()
	}
	if ec != nil {
		ec.linger.Store(true)
	}
	p.edge().refusals.WithLabelValues(routeName(path), reason).Inc()
	switch {
	case hasPrefix(path, "/webhooks/axp/"):
		engagement.Refuse(ctx, status, msg)
	case hasPrefix(path, "/sentinel/"), hasPrefix(path, "/api/account/"):
		p.lp.Refuse(ctx, status, msg)
	case hasPrefix(path, "/api/customer/"), hasPrefix(path, "/socket.io"):
		p.cc.Refuse(ctx, path, status, msg)
	default:
		ctx.SetStatusCode(status)
		ctx.SetContentType("application/json")
		ctx.SetBodyString(`{"error":` + quote(msg) + `}`)
	}
}

// classifyReadError maps fasthttp's read errors to an answer.
func (p *Proxy) classifyReadError(err error) (status int, reason, msg string) {
	var small *fasthttp.ErrSmallBuffer
	var ne net.Error
	switch {
	case errors.As(err, &small):
		return fasthttp.StatusRequestHeaderFieldsTooLarge, "head_too_large",
			fmt.Sprintf("the request line and headers are over %d bytes", p.cfg.Limits.MaxHeaderBytes)
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		return fasthttp.StatusRequestEntityTooLarge, "body_too_large",
			fmt.Sprintf("the body is over %d bytes", p.public.MaxRequestBodySize)
	case errors.As(err, &ne) && ne.Timeout():
		return fasthttp.StatusRequestTimeout, "timeout", "the request was not received in time"
	}
	return fasthttp.StatusBadRequest, "malformed", "the request could not be parsed as HTTP/1.1"
}

func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		if r == '"' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// fasthttpLog takes fasthttp's own log lines. They are about connections,
// one per broken or refused one, which a client can make at will, and they
// may carry request bytes (tokens, cookies): each is counted by kind and
// logged at debug with the addresses only.
type fasthttpLog struct {
	log *slog.Logger
	m   *edgeMetrics
}

func (l fasthttpLog) Printf(format string, args ...any) {
	kind := "other"
	switch {
	case strings.HasPrefix(format, "error when serving connection"):
		kind = "serve"
	case strings.Contains(format, "accepting new connections"):
		kind = "accept"
	case strings.Contains(format, "concurrent connections"), strings.Contains(format, "Concurrency limit"):
		kind = "concurrency"
	case strings.Contains(format, "MaxConnsPerIP"):
		kind = "per_ip"
	}
	l.m.connErrors.WithLabelValues(kind).Inc()
	if !l.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := []any{"component", "fasthttp", "kind", kind}
	addrs := 0
	for _, a := range args {
		switch v := a.(type) {
		case net.Addr:
			// fasthttp names the local address first, then the peer's.
			name := "local"
			if addrs++; addrs > 1 {
				name = "remote"
			}
			attrs = append(attrs, name, v.String())
		case error:
			attrs = append(attrs, "err", redact(v.Error()))
		}
	}
	l.log.Debug("connection error", attrs...)
}

// redact keeps an error's description and drops every piece of the
// request in it: what follows "contents:" (fasthttp appends the request's
// bytes there unless told not to, which it is) and anything quoted (a
// header line it could not parse).
func redact(s string) string {
	if i := strings.Index(s, "contents"); i >= 0 {
		s = s[:i]
	}
	var b strings.Builder
	quoted := false
	for i := 0; i < len(s) && b.Len() < 200; i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++ // an escaped character inside the quotes
		case c == '"':
			if quoted = !quoted; quoted {
				b.WriteString(`"…"`)
			}
		case !quoted:
			b.WriteByte(c)
		}
	}
	return strings.TrimRight(b.String(), " :,")
}
