package legacyv1

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// Webhook registrations are kept in the proxy's store (mapping.Webhooks,
// scope: the channel provider), so that they survive a restart and every
// replica serves them. Apply may do no I/O, so it matches events against
// a copy in memory: loaded before the face serves (LoadWebhooks), replaced
// at once after this replica's own registrations and deletions, and read
// again every Config.WebhookRefresh for those made on other replicas
// (WatchWebhooks).

// registrations is the copy in memory of the channel provider's
// registrations, oldest first. The slice is replaced, never changed, so a
// reader may keep the one it got.
type registrations struct {
	mu    sync.RWMutex
	hooks []*Webhook
	// began numbers the reads of the store, shown the newest read that
	// has been set: a read that began earlier does not replace it.
	began, shown uint64
}

func (r *registrations) list() []*Webhook {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.hooks
}

// begin numbers a read of the store about to start.
func (r *registrations) begin() uint64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.began++
	return r.began
}

// set keeps the outcome of read n unless a later read's is kept already.
func (r *registrations) set(n uint64, hooks []*Webhook) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n > r.shown {
		r.hooks, r.shown = hooks, n
	}
}

// has reports whether some registration still posts to target.
func (r *registrations) has(target string) bool {
	for _, w := range r.list() {
		if slices.ContainsFunc(w.Subscriptions, func(s WebhookRegistration) bool { return s.CallbackURL == target }) {
			return true
		}
	}
	return false
}

// LoadWebhooks reads the channel provider's registrations from the store.
// The proxy calls it before the face serves or events are applied.
func (f *Face) LoadWebhooks(ctx context.Context) error {
	n := f.hooks.begin()
	recs, err := f.store.Webhooks(ctx, OwnerFace, f.b.ChannelProviderID)
	if err != nil {
		return fmt.Errorf("legacyv1: read webhook registrations: %w", err)
	}
	hooks := make([]*Webhook, 0, len(recs))
	for _, rec := range recs {
		w := new(Webhook)
		if err := json.Unmarshal(rec.Data, w); err != nil {
			// A record this face did not write: the others still serve.
			f.log.Error("legacyv1: a webhook registration does not decode", "webhook", rec.ID, "err", err)
			continue
		}
		hooks = append(hooks, w)
	}
	f.hooks.set(n, hooks)
	return nil
}

// WatchWebhooks reads the registrations again every Config.WebhookRefresh
// until ctx ends, so that those made or deleted on other replicas apply
// here too. A failed read keeps the registrations known and is logged.
func (f *Face) WatchWebhooks(ctx context.Context) {
	t := time.NewTicker(f.cfg.WebhookRefresh)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			rctx, cancel := context.WithTimeout(ctx, f.cfg.WebhookRefresh)
			if err := f.LoadWebhooks(rctx); err != nil && ctx.Err() == nil {
				f.log.Warn("legacyv1: webhook registrations not refreshed", "err", err)
			}
			cancel()
		}
	}
}

// putWebhook keeps a new registration and makes it apply here at once.
func (f *Face) putWebhook(ctx context.Context, w *Webhook) error {
	data, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("legacyv1: encode webhook: %w", err)
	}
	rec := &mapping.Webhook{Face: OwnerFace, Scope: w.ChannelProviderID, ID: w.WebhookID, CreatedAt: f.now(), Data: data}
	if err := f.store.PutWebhook(ctx, rec, f.cfg.MaxWebhooks); err != nil {
		return err
	}
	f.reload(ctx)
	return nil
}

// dropWebhook deletes a registration and stops it here at once.
func (f *Face) dropWebhook(ctx context.Context, cp, id string) error {
	if err := f.store.DeleteWebhook(ctx, OwnerFace, cp, id); err != nil {
		return err
	}
	f.reload(ctx)
	return nil
}

// reload reads the registrations after a change of this replica's; when
// that fails the change still applies within one refresh.
func (f *Face) reload(ctx context.Context) {
	if err := f.LoadWebhooks(ctx); err != nil {
		f.log.Warn("legacyv1: webhook registrations not reloaded after a change", "err", err)
	}
}
