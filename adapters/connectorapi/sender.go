package connectorapi

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// maxDrain bounds how much of a receiver's answer is read (and thrown
// away) so that its connection can be used again; past it the connection
// is closed instead.
const maxDrain = 1 << 20

// Send implements pipeline.Sender: it POSTs one notification to the app's
// endpoint, signed with the app's current secret. 200 and 201 are success,
// whatever body comes with them; an app no longer configured can never be
// delivered to.
func (f *Face) Send(ctx context.Context, it *mapping.OutboxItem) error {
	app, ok := f.tokens.App(it.Headers[headerAccount], it.Headers[headerClientID])
	if !ok {
		return fmt.Errorf("%w: app %s of account %s is not configured", pipeline.ErrPermanent, it.Headers[headerClientID], it.Headers[headerAccount])
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
	req.Header.Set(auth.SignatureHeader, auth.SignWebhook(app.ClientSecret, it.Body))
	req.SetBody(it.Body)
	// After the app's own headers: the traceparent is the attempt's.
	sp := f.cfg.Tracing.StartClient(ctx, req, "", it.Attempts)
	sp.SetString(telemetry.AttrNotificationKind, it.Kind)
	timeout := f.cfg.DeliveryTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl))
	}
	if err := f.hooks.DoTimeout(req, resp, timeout); err != nil {
		sp.EndHTTP(0, telemetry.TransportErrorType(err))
		return fmt.Errorf("connectorapi: post to %s: %w", pipeline.Endpoint(it.Target), err)
	}
	if s := resp.BodyStream(); s != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(s, maxDrain))
	}
	status := resp.StatusCode()
	sp.EndHTTP(status, "")
	if status != fasthttp.StatusOK && status != fasthttp.StatusCreated {
		return fmt.Errorf("connectorapi: %s answered %d", pipeline.Endpoint(it.Target), status)
	}
	return nil
}

// traced gives a client command's notifications its trace context, the
// parent of their delivery attempts.
func (f *Face) traced(ctx context.Context, items []*mapping.OutboxItem) []*mapping.OutboxItem {
	if tc := f.cfg.Tracing.Carry(ctx); tc != "" {
		for _, it := range items {
			it.Trace = tc
		}
	}
	return items
}
