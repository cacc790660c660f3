package mapping

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"
)

// ErrFull is returned (wrapped) by PutWebhook when the scope already holds
// as many registrations as the caller allows.
var ErrFull = errors.New("mapping: no room for another registration")

// Webhook is one webhook registration a client made with a face (the legacy
// face's channel-provider webhooks): kept until the client deletes it, and
// read back by every replica. What Data says (callback URLs, event types)
// is the face's.
type Webhook struct {
	Face Face `json:"face"`
	// Scope is what the registration is made on (a channel provider); a
	// face lists its registrations per scope.
	Scope     string          `json:"scope"`
	ID        string          `json:"id"`
	CreatedAt time.Time       `json:"createdAt"`
	Data      json.RawMessage `json:"data"`
}

// Webhooks are the clients' webhook registrations. They are few per scope
// and change rarely; every replica reads a scope's whole list.
type Webhooks interface {
	// PutWebhook keeps w, replacing the registration of the same face,
	// scope and id. When limit > 0 and the scope holds limit other
	// registrations, nothing is written and the error wraps ErrFull.
	PutWebhook(ctx context.Context, w *Webhook, limit int) error
	// DeleteWebhook removes a registration; an unknown one is ErrNotFound.
	DeleteWebhook(ctx context.Context, face Face, scope, id string) error
	// Webhooks lists a scope's registrations, oldest first (then by id).
	Webhooks(ctx context.Context, face Face, scope string) ([]*Webhook, error)
}

// webhookScope names a face's scope in keys.
func webhookScope(face Face, scope string) string { return string(face) + "|" + scope }

func sortWebhooks(ws []*Webhook) {
	slices.SortFunc(ws, func(a, b *Webhook) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		if a.ID < b.ID {
			return -1
		}
		if a.ID > b.ID {
			return 1
		}
		return 0
	})
}

// Bolt: one bucket, keyed by the scope, a zero byte and the id.

func webhookPrefix(face Face, scope string) []byte {
	return append([]byte(webhookScope(face, scope)), 0)
}

// PutWebhook implements Webhooks.
func (b *Bolt) PutWebhook(ctx context.Context, w *Webhook, limit int) error {
	raw, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("mapping: webhook %s: %w", w.ID, err)
	}
	prefix := webhookPrefix(w.Face, w.Scope)
	key := append(bytes.Clone(prefix), w.ID...)
	return b.update(ctx, func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketWebhooks)
		if limit > 0 && bk.Get(key) == nil {
			n := 0
			c := bk.Cursor()
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				if n++; n >= limit {
					return fmt.Errorf("%w: %s holds %d webhooks", ErrFull, w.Scope, n)
				}
			}
		}
		return bk.Put(key, raw)
	})
}

// DeleteWebhook implements Webhooks.
func (b *Bolt) DeleteWebhook(ctx context.Context, face Face, scope, id string) error {
	key := append(webhookPrefix(face, scope), id...)
	return b.update(ctx, func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketWebhooks)
		if bk.Get(key) == nil {
			return fmt.Errorf("%w: webhook %s of %s", ErrNotFound, id, scope)
		}
		return bk.Delete(key)
	})
}

// Webhooks implements Webhooks.
func (b *Bolt) Webhooks(ctx context.Context, face Face, scope string) ([]*Webhook, error) {
	var out []*Webhook
	prefix := webhookPrefix(face, scope)
	err := b.view(ctx, func(tx *bolt.Tx) error {
		c := bucket(tx, bucketWebhooks).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			w := new(Webhook)
			if err := json.Unmarshal(v, w); err != nil {
				return fmt.Errorf("webhook %q: %w", k, err)
			}
			out = append(out, w)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortWebhooks(out)
	return out, nil
}

// Redis: one hash per scope, id → JSON, under the hash tag of the scope's
// shard, so that each call is one command (or script) in one cluster slot.

func (r *Redis) webhooksKey(face Face, scope string) string {
	s := webhookScope(face, scope)
	return r.tag(int(fnv32(s)%Shards)) + "w:" + s
}

// putWebhook writes ARGV[2] under ARGV[1] unless the hash is full (ARGV[3]
// > 0 other fields): 1 written, 0 full.
const putWebhookScript = `
local limit = tonumber(ARGV[3])
if limit > 0 and redis.call('HEXISTS', KEYS[1], ARGV[1]) == 0 and redis.call('HLEN', KEYS[1]) >= limit then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 1`

// PutWebhook implements Webhooks.
func (r *Redis) PutWebhook(ctx context.Context, w *Webhook, limit int) error {
	raw, err := json.Marshal(w)
	if err != nil {
		return fmt.Errorf("mapping: webhook %s: %w", w.ID, err)
	}
	// Registrations are rare: the script's digest is made per call.
	n, err := redis.NewScript(putWebhookScript).Run(ctx, r.c, []string{r.webhooksKey(w.Face, w.Scope)},
		w.ID, string(raw), strconv.Itoa(max(limit, 0))).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return fmt.Errorf("%w: %s holds %d webhooks", ErrFull, w.Scope, limit)
	}
	return nil
}

// DeleteWebhook implements Webhooks.
func (r *Redis) DeleteWebhook(ctx context.Context, face Face, scope, id string) error {
	n, err := r.c.HDel(ctx, r.webhooksKey(face, scope), id).Result()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return fmt.Errorf("%w: webhook %s of %s", ErrNotFound, id, scope)
	}
	return nil
}

// Webhooks implements Webhooks.
func (r *Redis) Webhooks(ctx context.Context, face Face, scope string) ([]*Webhook, error) {
	all, err := r.c.HGetAll(ctx, r.webhooksKey(face, scope)).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*Webhook, 0, len(all))
	for id, v := range all {
		w := new(Webhook)
		if err := json.Unmarshal([]byte(v), w); err != nil {
			return nil, unavailable(fmt.Errorf("webhook %s: %w", id, err))
		}
		out = append(out, w)
	}
	sortWebhooks(out)
	return out, nil
}
