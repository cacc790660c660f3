package connectorapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// storeTimeout bounds the outbox writes that follow an attempt; they run
// even while Run is stopping, so that a delivered item is not sent again.
const storeTimeout = 5 * time.Second

// DefaultLeaseTTL is how long a conversation's delivery lease lasts unless
// renewed: long enough that a slow webhook (10 s at most) never loses it,
// short enough that a dead replica's conversations wait little.
const DefaultLeaseTTL = 15 * time.Second

// DefaultReplicaID names this process: its host, its pid and a random
// suffix, so that a restarted process on the same host, which may reuse the
// pid, is never mistaken for the one that held a lease before.
func DefaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "replica"
	}
	b := make([]byte, 4)
	_, _ = rand.Read(b) // crypto/rand does not fail on supported platforms
	return fmt.Sprintf("%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b))
}

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
// endpoint delays only its own conversations). Replicas sharing the store
// each take a conversation's delivery lease (Outbox.Lease, as ReplicaID,
// for LeaseTTL) before sending its head, so that one of them at a time
// delivers it; a replica that dies stops renewing, and another takes its
// conversations over once their leases run out. It returns nil when ctx
// ends, after the attempts under way have finished and its leases are
// released.
func (f *Face) Run(ctx context.Context) error {
	d := &deliverer{f: f, sem: make(chan struct{}, f.cfg.DeliveryWorkers), inflight: map[string]bool{},
		held: map[string]bool{}, elsewhere: map[string]int{}}
	t := time.NewTicker(f.cfg.PollInterval)
	defer t.Stop()
	for {
		d.sweep(ctx)
		select {
		case <-ctx.Done():
			d.wg.Wait()
			d.releaseAll()
			return nil
		case <-t.C:
		case <-f.wake:
		}
	}
}

type deliverer struct {
	f   *Face
	sem chan struct{}
	wg  sync.WaitGroup
	mu  sync.Mutex
	// inflight are the queues with an attempt under way, or finished since
	// the heads were last read: an attempt's queue leaves it (through
	// finished) only when the next sweep starts, so that heads read while
	// the attempt ran, which may not show its Remove or Retry, are never
	// acted on.
	inflight map[string]bool
	finished []string
	// held are the queues whose lease this replica holds; elsewhere the
	// ones another replica held when last asked, with the number of sweeps
	// to pass before asking again (so that a busy peer's queues cost few
	// store calls). Counted in sweeps, not time: the lease runs on the
	// store's clock, which the face's injected clock does not move.
	held      map[string]bool
	elsewhere map[string]int
}

// sweep starts an attempt for every due head that has none under way, and
// gives back the leases of queues that drained.
func (d *deliverer) sweep(ctx context.Context) {
	f := d.f
	if n, err := f.store.Depth(ctx); err == nil {
		f.m.depth.Set(float64(n))
	}
	d.mu.Lock()
	for _, q := range d.finished {
		delete(d.inflight, q)
	}
	d.finished = d.finished[:0]
	d.mu.Unlock()
	heads, err := f.store.Heads(ctx)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			f.log.Warn("connectorapi: read outbox", "err", err)
		}
		return
	}
	d.releaseDrained(ctx, heads)
	now := f.now()
	for _, it := range heads {
		if ctx.Err() != nil {
			return
		}
		d.mu.Lock()
		busy := d.inflight[it.Queue]
		later := d.elsewhere[it.Queue] > 0
		if later {
			d.elsewhere[it.Queue]--
		}
		d.mu.Unlock()
		if busy || later || now.Before(it.NextAttempt) {
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
			leased := false
			defer func() {
				d.mu.Lock()
				d.finished = append(d.finished, it.Queue)
				d.mu.Unlock()
				<-d.sem
				d.wg.Done()
				if leased {
					f.poke() // the queue's next item may be due now
				}
			}()
			if leased = d.lease(ctx, it.Queue); !leased {
				return
			}
			stop := d.keepLease(ctx, it.Queue)
			defer stop()
			d.attempt(ctx, it)
		}()
	}
}

// lease takes or renews queue's delivery lease and reports whether this
// replica may deliver it now.
func (d *deliverer) lease(ctx context.Context, queue string) bool {
	f := d.f
	ok, err := f.store.Lease(ctx, queue, f.cfg.ReplicaID, f.cfg.LeaseTTL)
	if err != nil {
		if !errors.Is(err, context.Canceled) {
			f.log.Warn("connectorapi: take delivery lease", "queue", queue, "err", err)
		}
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !ok {
		delete(d.held, queue)
		d.elsewhere[queue] = int(min(f.cfg.LeaseTTL/5, time.Second) / f.cfg.PollInterval)
		return false
	}
	if !d.held[queue] {
		f.log.Debug("connectorapi: took delivery lease", "queue", queue, "replica", f.cfg.ReplicaID)
	}
	d.held[queue] = true
	delete(d.elsewhere, queue)
	return true
}

// keepLease renews queue's lease every third of its TTL until stop is
// called, so that an attempt that runs long keeps it. The renewals run on
// the wall clock: the store's TTL does.
func (d *deliverer) keepLease(ctx context.Context, queue string) (stop func()) {
	f := d.f
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(f.cfg.LeaseTTL / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), storeTimeout)
			ok, err := f.store.Lease(rctx, queue, f.cfg.ReplicaID, f.cfg.LeaseTTL)
			cancel()
			if err != nil || !ok {
				f.log.Warn("connectorapi: renew delivery lease", "queue", queue, "held", ok, "err", err)
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// releaseDrained gives back the leases of queues that are no longer in the
// outbox, so that a new notification of the conversation can be delivered
// by whichever replica sees it first.
func (d *deliverer) releaseDrained(ctx context.Context, heads []*mapping.OutboxItem) {
	present := make(map[string]bool, len(heads))
	for _, it := range heads {
		present[it.Queue] = true
	}
	d.mu.Lock()
	var drained []string
	for q := range d.held {
		if !present[q] && !d.inflight[q] {
			drained = append(drained, q)
			delete(d.held, q)
		}
	}
	for q := range d.elsewhere {
		if !present[q] {
			delete(d.elsewhere, q)
		}
	}
	d.mu.Unlock()
	for _, q := range drained {
		if err := d.f.store.Release(ctx, q, d.f.cfg.ReplicaID); err != nil && !errors.Is(err, context.Canceled) {
			d.f.log.Warn("connectorapi: release delivery lease", "queue", q, "err", err)
		}
	}
}

// releaseAll gives back every lease when the worker stops, so that the
// other replicas take the queues over at once instead of after the TTL.
func (d *deliverer) releaseAll() {
	ctx, cancel := context.WithTimeout(context.Background(), storeTimeout)
	defer cancel()
	d.mu.Lock()
	held := make([]string, 0, len(d.held))
	for q := range d.held {
		held = append(held, q)
	}
	clear(d.held)
	d.mu.Unlock()
	for _, q := range held {
		if err := d.f.store.Release(ctx, q, d.f.cfg.ReplicaID); err != nil {
			d.f.log.Warn("connectorapi: release delivery lease", "queue", q, "err", err)
		}
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
