package connectorapi

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// storeTimeout bounds the outbox writes that follow an attempt; they run
// even while Run is stopping, so that a delivered item is not sent again.
const storeTimeout = 5 * time.Second

// backoff is the wait after the n-th failed attempt: 2 s doubling, capped
// at 5 minutes.
func backoff(n int) time.Duration {
	d := firstBackoff
	for i := 1; i < n && d < maxBackoff; i++ {
		d *= 2
	}
	return min(d, maxBackoff)
}

// Run delivers the outbox until ctx is done: the head of every
// conversation's queue when it is due, one at a time per conversation (so
// order holds within it), up to DeliveryWorkers at once (so a failing
// endpoint delays only its own conversations). It returns nil when ctx ends,
// after the attempts under way have finished.
func (f *Face) Run(ctx context.Context) error {
	d := &deliverer{f: f, sem: make(chan struct{}, f.cfg.DeliveryWorkers), inflight: map[string]bool{}}
	t := time.NewTicker(f.cfg.PollInterval)
	defer t.Stop()
	for {
		d.sweep(ctx)
		select {
		case <-ctx.Done():
			d.wg.Wait()
			return nil
		case <-t.C:
		case <-f.wake:
		}
	}
}

type deliverer struct {
	f        *Face
	sem      chan struct{}
	wg       sync.WaitGroup
	mu       sync.Mutex
	inflight map[string]bool // queues with an attempt under way
}

// sweep starts an attempt for every due head that has none under way.
func (d *deliverer) sweep(ctx context.Context) {
	f := d.f
	if n, err := f.store.Depth(ctx); err == nil {
		f.m.depth.Set(float64(n))
	}
	heads, err := f.store.Heads(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			f.log.Warn("connectorapi: read outbox", "err", err)
		}
		return
	}
	now := f.now()
	for _, it := range heads {
		if ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		busy := d.inflight[it.Queue]
		d.mu.Unlock()
		if busy || now.Before(it.NextAttempt) {
			continue
		}
		select {
		case d.sem <- struct{}{}:
		default:
			return // all workers busy: the rest wait for the next sweep
		}
		d.mu.Lock()
		d.inflight[it.Queue] = true
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer func() {
				d.mu.Lock()
				delete(d.inflight, it.Queue)
				d.mu.Unlock()
				<-d.sem
				d.wg.Done()
				f.poke() // the queue's next item may be due now
			}()
			d.attempt(ctx, it)
		}()
	}
}

// attempt sends one item: removed when delivered or expired, rescheduled
// otherwise.
func (d *deliverer) attempt(ctx context.Context, it *mapping.OutboxItem) {
	f := d.f
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
	defer cancel()
	now := f.now()
	app, ok := f.tokens.App(it.Headers[headerAccount], it.Headers[headerClientID])
	if !ok || !now.Before(it.Expires) {
		if err := f.store.Remove(sctx, it); err != nil {
			f.log.Warn("connectorapi: drop notification", "queue", it.Queue, "err", err)
			return
		}
		f.m.notifications.WithLabelValues(it.Kind, "dropped").Inc()
		f.log.Warn("connectorapi: notification dropped", "queue", it.Queue, "kind", it.Kind, "attempts", it.Attempts, "app_known", ok)
		return
	}
	status, err := d.post(app, it)
	if err == nil && (status == fasthttp.StatusOK || status == fasthttp.StatusCreated) {
		if err := f.store.Remove(sctx, it); err != nil {
			f.log.Warn("connectorapi: remove delivered notification", "queue", it.Queue, "err", err)
			return
		}
		f.m.notifications.WithLabelValues(it.Kind, "delivered").Inc()
		return
	}
	it.Attempts++
	it.NextAttempt = f.now().Add(backoff(it.Attempts))
	f.m.notifications.WithLabelValues(it.Kind, "failed").Inc()
	f.m.retries.Inc()
	f.log.Info("connectorapi: webhook attempt failed", "queue", it.Queue, "kind", it.Kind, "status", status, "err", err, "attempts", it.Attempts)
	if err := f.store.Retry(sctx, it); err != nil && !errors.Is(err, mapping.ErrNotFound) {
		f.log.Warn("connectorapi: reschedule notification", "queue", it.Queue, "err", err)
	}
}

// post sends the item, signed with the app's secret, and returns the status.
func (d *deliverer) post(app *auth.App, it *mapping.OutboxItem) (int, error) {
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
	if err := d.f.hooks.DoTimeout(req, resp, d.f.cfg.DeliveryTimeout); err != nil {
		return 0, err
	}
	return resp.StatusCode(), nil
}
