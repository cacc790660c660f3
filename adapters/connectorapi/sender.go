package connectorapi

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

// Send implements pipeline.Sender: it POSTs one notification to the app's
// endpoint, signed with the app's current secret. 200 and 201 are success,
// whatever body comes with them; an app no longer configured can never be
// delivered to.
func (f *Face) Send(ctx context.Context, it *mapping.OutboxItem) error {
	app, ok := f.tokens.App(it.Headers[headerAccount], it.Headers[headerClientID])
	if !ok {
		return fmt.Errorf("%w: app %s of account %s is not configured", pipeline.ErrPermanent, it.Headers[headerClientID], it.Headers[headerAccount])
	}
	status, err := pipeline.Post(ctx, f.hooks, f.cfg.Tracing, it, f.cfg.DeliveryTimeout, func(req *fasthttp.Request) {
		req.Header.Set(auth.SignatureHeader, auth.SignWebhook(app.ClientSecret, it.Body))
	})
	if err != nil {
		return fmt.Errorf("connectorapi: %w", err)
	}
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
