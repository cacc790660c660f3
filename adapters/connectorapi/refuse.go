package connectorapi

import (
	"net/http"
	"time"

	"github.com/valyala/fasthttp"
)

// Refuse answers, in LivePerson's error format, a request refused before
// the face could read it (a head or body too large, a request cut off):
// errorCode is the status followed by 00, as LivePerson's codes are built.
// The proxy's HTTP server calls it for paths of this face.
func (f *Face) Refuse(ctx *fasthttp.RequestCtx, status int, details string) {
	f.writeError(ctx, nil, &apiError{Status: status, ErrorCode: status * 100, Title: http.StatusText(status), Details: details})
}

// throttle asks a rate limit about key; a refusal is a 429 naming what is
// limited and when to retry.
func throttle(limit func(string) time.Duration, key, who string) error {
	if limit == nil {
		return nil
	}
	wait := limit(key)
	if wait <= 0 {
		return nil
	}
	return &apiError{Status: 429, ErrorCode: 42900, Title: "Too many requests", RetryAfter: wait,
		Details: who + " is over its rate limit; retry after the Retry-After seconds"}
}
