package legacyv1

import (
	"context"
	"fmt"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
)

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
	status, err := pipeline.Post(ctx, f.callbacks, f.cfg.Tracing, it, f.cfg.DeliveryTimeout, nil)
	switch {
	case err != nil:
		return fmt.Errorf("legacyv1: %w", err)
	case status >= 200 && status < 300:
		return nil
	case status == fasthttp.StatusGone:
		return fmt.Errorf("%w: %s answered 410 Gone", pipeline.ErrPermanent, pipeline.Endpoint(it.Target))
	default:
		return fmt.Errorf("legacyv1: %s answered %d", pipeline.Endpoint(it.Target), status)
	}
}
