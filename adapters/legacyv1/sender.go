package legacyv1

import (
	"context"
	"fmt"
	"github.com/connector-proxy/connector-proxy/telemetry"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// maxDrain bounds how much of a callback's answer is read (and thrown
// away) so that its connection can be used again.
const maxDrain = 1 << 20

// Send implements pipeline.Sender: it POSTs one legacy webhook payload to
// its callback, as AXP did: the JSON body and its Content-Type, nothing
// signed (the legacy API, like every AXP generation, documents no
// signature; a client protects its callback with an unguessable path and
// TLS). Any 2xx is success and redirects are not followed. A callback no
// registration names any more (it was deleted) or that answers 410 Gone
// is never delivered to again; anything else is retried until the item
// expires (Config.DeliveryWindow).
func (f *Face) Send(ctx context.Context, it *mapping.OutboxItem) error {
	if !f.hooks.has(it.Target) {
		return fmt.Errorf("%w: no webhook registration posts to %s any more", pipeline.ErrPermanent, pipeline.Endpoint(it.Target))
	}
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(it.Target)
	req.Header.SetMethod(fasthttp.MethodPost)
	for k, v := range it.Headers {
		req.Header.Set(k, v)
	}
	req.SetBody(it.Body)
	// After the item's own headers: the traceparent is the attempt's.
	sp := f.cfg.Tracing.StartClient(ctx, req, "", it.Attempts)
	sp.SetString(telemetry.AttrNotificationKind, it.Kind)
	timeout := f.cfg.DeliveryTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := f.callbacks.DoTimeout(req, resp, timeout); err != nil {
		sp.EndHTTP(0, telemetry.TransportErrorType(err))
		return fmt.Errorf("legacyv1: post to %s: %w", pipeline.Endpoint(it.Target), err)
	}
	if s := resp.BodyStream(); s != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(s, maxDrain))
	}
	status := resp.StatusCode()
	sp.EndHTTP(status, "")
	switch {
	case status >= 200 && status < 300:
		return nil
	case status == fasthttp.StatusGone:
		return fmt.Errorf("%w: %s answered 410 Gone", pipeline.ErrPermanent, pipeline.Endpoint(it.Target))
	default:
		return fmt.Errorf("legacyv1: %s answered %d", pipeline.Endpoint(it.Target), status)
	}
}

// newCallbackClient is the client of the legacy callbacks. The answer's
// body is read as a stream and discarded: success is the status code.
func newCallbackClient(timeout time.Duration) *fasthttp.Client {
	return &fasthttp.Client{
		Name:               "connector-proxy",
		ReadTimeout:        timeout,
		WriteTimeout:       timeout,
		StreamResponseBody: true,
	}
}
