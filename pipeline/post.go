package pipeline

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// maxDrain bounds how much of a receiver's answer is read (and thrown
// away) so that its connection can be used again; past it the connection
// is closed instead.
const maxDrain = 1 << 20

// NewWebhookClient is a client for the faces' webhook deliveries. The
// answer's body is read as a stream and discarded: success is the status
// code, however much a receiver says with it.
func NewWebhookClient(timeout time.Duration) *fasthttp.Client {
	return &fasthttp.Client{
		Name:               "connector-proxy",
		ReadTimeout:        timeout,
		WriteTimeout:       timeout,
		StreamResponseBody: true,
	}
}

// Post sends an outbox item as a webhook: a POST of its body with its
// headers, then those sign adds (nil: none), within timeout and ctx's
// deadline, in a client span of its own whose traceparent goes with it.
// It returns the receiver's status, which the face judges; an error is a
// failure to get one, its target named without secrets.
func Post(ctx context.Context, c *fasthttp.Client, tr *telemetry.Tracing, it *mapping.OutboxItem, timeout time.Duration, sign func(*fasthttp.Request)) (int, error) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(it.Target)
	req.Header.SetMethod(fasthttp.MethodPost)
	for k, v := range it.Headers {
		req.Header.Set(k, v)
	}
	if sign != nil {
		sign(req)
	}
	req.SetBody(it.Body)
	// After the item's own headers: the traceparent is the attempt's.
	sp := tr.StartClient(ctx, req, "", it.Attempts)
	sp.SetString(telemetry.AttrNotificationKind, it.Kind)
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := c.DoTimeout(req, resp, timeout); err != nil {
		sp.EndHTTP(0, telemetry.TransportErrorType(err))
		return 0, fmt.Errorf("post to %s: %w", Endpoint(it.Target), err)
	}
	if s := resp.BodyStream(); s != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(s, maxDrain))
	}
	status := resp.StatusCode()
	sp.EndHTTP(status, "")
	return status, nil
}
