package mapping

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Bucket names. Conversations are indexed by dialog (the relay's key) and by
// owner (a consumer's list); outbox items live in one sub-bucket per queue,
// keyed by big-endian sequence so that a cursor's First is the queue's head.
const (
	bucketSessions = "sessions"
	bucketConvs    = "conversations"
	bucketDialogs  = "dialogs"
	bucketOwners   = "owners"
	bucketSeen     = "seen"
	bucketOutbox   = "outbox"
	bucketMeta     = "meta"
	keyDepth       = "outbox-depth"
)

// Bolt is the embedded Store: one bbolt file, fsync'd on every write, so that
// whatever a face acknowledged survives a crash of the process.
type Bolt struct {
	db        *bolt.DB
	now       func() time.Time
	retention time.Duration

	// Leases live in memory: only one process can open the file, so there
	// is no other replica to hand a queue to, and a lease must not outlive
	// the process that took it anyway.
	leaseMu sync.Mutex
	leases  map[string]boltLease
}

type boltLease struct {
	holder string
	until  time.Time
}

var _ Store = (*Bolt)(nil)

// BoltOption configures OpenBolt.
type BoltOption func(*Bolt)

// WithClock injects the clock that expiry decisions use.
func WithClock(now func() time.Time) BoltOption { return func(b *Bolt) { b.now = now } }

// WithRetention sets how long a closed conversation is kept before Sweep
// removes it (default 72 h).
func WithRetention(d time.Duration) BoltOption { return func(b *Bolt) { b.retention = d } }

// OpenBolt opens (creating when missing) the store at path. A second process
// on the same file fails after a second instead of waiting for the lock.
func OpenBolt(path string, opts ...BoltOption) (*Bolt, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("mapping: open %s: %w", path, err)
	}
	b := &Bolt{db: db, now: time.Now, retention: 72 * time.Hour, leases: map[string]boltLease{}}
	for _, o := range opts {
		o(b)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range []string{bucketSessions, bucketConvs, bucketDialogs, bucketOwners, bucketSeen, bucketOutbox, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("mapping: prepare %s: %w", path, err)
	}
	return b, nil
}

// Close releases the file.
func (b *Bolt) Close() error { return b.db.Close() }

// Ping checks that the file still answers a read.
func (b *Bolt) Ping(ctx context.Context) error {
	return b.view(ctx, func(*bolt.Tx) error { return nil })
}

func (b *Bolt) view(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.db.View(fn); err != nil {
		return storeErr(err)
	}
	return nil
}

func (b *Bolt) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.db.Update(fn); err != nil {
		return storeErr(err)
	}
	return nil
}

// storeErr keeps ErrNotFound and marks every other failure inside a
// transaction (closed file, I/O, a record that no longer decodes) as the
// store being unavailable: callers answer 503, never "not found".
func storeErr(err error) error {
	if errors.Is(err, ErrNotFound) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// bucket opens one of the top-level buckets OpenBolt created.
func bucket(tx *bolt.Tx, name string) *bolt.Bucket { return tx.Bucket([]byte(name)) }

func getJSON(bk *bolt.Bucket, key []byte, v any) error {
	raw := bk.Get(key)
	if raw == nil {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return json.Unmarshal(raw, v)
}

func putJSON(bk *bolt.Bucket, key []byte, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return bk.Put(key, raw)
}

// Session implements Registry.
func (b *Bolt) Session(ctx context.Context, key ConsumerKey) (SessionRef, error) {
	var ref SessionRef
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(bucket(tx, bucketSessions), []byte(key.String()), &ref)
	})
	return ref, err
}

// PutSession implements Registry.
func (b *Bolt) PutSession(ctx context.Context, key ConsumerKey, ref SessionRef) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		return putJSON(bucket(tx, bucketSessions), []byte(key.String()), ref)
	})
}

// DeleteSession implements Registry.
func (b *Bolt) DeleteSession(ctx context.Context, key ConsumerKey) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		return bucket(tx, bucketSessions).Delete([]byte(key.String()))
	})
}

// ownerKey orders a consumer's conversations by creation, then id.
func ownerKey(c *Conversation) []byte {
	k := make([]byte, 0, 64)
	k = append(k, c.Owner.String()...)
	k = append(k, 0)
	k = binary.BigEndian.AppendUint64(k, uint64(c.CreatedAt.UnixNano()))
	return append(k, c.ID...)
}

// PutConversation implements Registry.
func (b *Bolt) PutConversation(ctx context.Context, c *Conversation) error {
	if c.ID == "" {
		return errors.New("mapping: conversation without id")
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		if err := putJSON(bucket(tx, bucketConvs), []byte(c.ID), c); err != nil {
			return err
		}
		if c.DialogID != "" {
			if err := bucket(tx, bucketDialogs).Put([]byte(c.DialogID), []byte(c.ID)); err != nil {
				return err
			}
		}
		return bucket(tx, bucketOwners).Put(ownerKey(c), []byte(c.ID))
	})
}

// Conversation implements Registry.
func (b *Bolt) Conversation(ctx context.Context, id string) (*Conversation, error) {
	c := new(Conversation)
	err := b.view(ctx, func(tx *bolt.Tx) error {
		return getJSON(bucket(tx, bucketConvs), []byte(id), c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// ConversationByDialog implements Registry.
func (b *Bolt) ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error) {
	c := new(Conversation)
	err := b.view(ctx, func(tx *bolt.Tx) error {
		id := bucket(tx, bucketDialogs).Get([]byte(dialogID))
		if id == nil {
			return fmt.Errorf("%w: dialog %s", ErrNotFound, dialogID)
		}
		return getJSON(bucket(tx, bucketConvs), id, c)
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// Conversations implements Registry.
func (b *Bolt) Conversations(ctx context.Context, owner ConsumerKey) ([]*Conversation, error) {
	var out []*Conversation
	prefix := append([]byte(owner.String()), 0)
	err := b.view(ctx, func(tx *bolt.Tx) error {
		convs := bucket(tx, bucketConvs)
		cur := bucket(tx, bucketOwners).Cursor()
		for k, id := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, id = cur.Next() {
			c := new(Conversation)
			if err := getJSON(convs, id, c); err != nil {
				if errors.Is(err, ErrNotFound) {
					continue // swept between index and record
				}
				return err
			}
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// MarkSeen implements Registry.
func (b *Bolt) MarkSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	first := false
	now := b.now()
	err := b.update(ctx, func(tx *bolt.Tx) error {
		bk := bucket(tx, bucketSeen)
		if v := bk.Get([]byte(key)); len(v) == 8 && int64(binary.BigEndian.Uint64(v)) > now.UnixNano() {
			return nil
		}
		first = true
		return bk.Put([]byte(key), binary.BigEndian.AppendUint64(nil, uint64(now.Add(ttl).UnixNano())))
	})
	return first, err
}

// ForgetSeen implements Registry.
func (b *Bolt) ForgetSeen(ctx context.Context, key string) error {
	return b.update(ctx, func(tx *bolt.Tx) error { return bucket(tx, bucketSeen).Delete([]byte(key)) })
}

// Sweep removes expired dedupe keys and closed conversations older than the
// retention, with their indexes. It returns how many records went.
func (b *Bolt) Sweep(ctx context.Context) (int, error) {
	now := b.now()
	n := 0
	err := b.update(ctx, func(tx *bolt.Tx) error {
		seen := bucket(tx, bucketSeen)
		var expired [][]byte
		_ = seen.ForEach(func(k, v []byte) error {
			if len(v) != 8 || int64(binary.BigEndian.Uint64(v)) <= now.UnixNano() {
				expired = append(expired, bytes.Clone(k))
			}
			return nil
		})
		for _, k := range expired {
			if err := seen.Delete(k); err != nil {
				return err
			}
		}
		n += len(expired)

		convs := bucket(tx, bucketConvs)
		var old []*Conversation
		err := convs.ForEach(func(_, v []byte) error {
			c := new(Conversation)
			if err := json.Unmarshal(v, c); err != nil {
				return err
			}
			if !c.Open() && !c.ClosedAt.IsZero() && now.Sub(c.ClosedAt) > b.retention {
				old = append(old, c)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, c := range old {
			if err := convs.Delete([]byte(c.ID)); err != nil {
				return err
			}
			if err := bucket(tx, bucketDialogs).Delete([]byte(c.DialogID)); err != nil {
				return err
			}
			if err := bucket(tx, bucketOwners).Delete(ownerKey(c)); err != nil {
				return err
			}
		}
		n += len(old)
		return nil
	})
	return n, err
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func addDepth(meta *bolt.Bucket, delta int) error {
	d := int64(0)
	if v := meta.Get([]byte(keyDepth)); len(v) == 8 {
		d = int64(binary.BigEndian.Uint64(v))
	}
	d += int64(delta)
	if d < 0 {
		d = 0
	}
	return meta.Put([]byte(keyDepth), binary.BigEndian.AppendUint64(nil, uint64(d)))
}

// Enqueue implements Outbox.
func (b *Bolt) Enqueue(ctx context.Context, items ...*OutboxItem) error {
	if len(items) == 0 {
		return nil
	}
	for _, it := range items {
		if it.Queue == "" {
			return errors.New("mapping: outbox item without queue")
		}
	}
	return b.update(ctx, func(tx *bolt.Tx) error {
		root := bucket(tx, bucketOutbox)
		for _, it := range items {
			q, err := root.CreateBucketIfNotExists([]byte(it.Queue))
			if err != nil {
				return err
			}
			seq, err := root.NextSequence()
			if err != nil {
				return err
			}
			it.Seq = seq
			if err := putJSON(q, seqKey(seq), it); err != nil {
				return err
			}
		}
		return addDepth(bucket(tx, bucketMeta), len(items))
	})
}

// Heads implements Outbox.
func (b *Bolt) Heads(ctx context.Context) ([]*OutboxItem, error) {
	var out []*OutboxItem
	err := b.view(ctx, func(tx *bolt.Tx) error {
		root := bucket(tx, bucketOutbox)
		return root.ForEachBucket(func(name []byte) error {
			_, v := root.Bucket(name).Cursor().First()
			if v == nil {
				return nil
			}
			it := new(OutboxItem)
			if err := json.Unmarshal(v, it); err != nil {
				return err
			}
			out = append(out, it)
			return nil
		})
	})
	return out, err
}

// Retry implements Outbox.
func (b *Bolt) Retry(ctx context.Context, item *OutboxItem) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		q := bucket(tx, bucketOutbox).Bucket([]byte(item.Queue))
		if q == nil || q.Get(seqKey(item.Seq)) == nil {
			return fmt.Errorf("%w: outbox item %s/%d", ErrNotFound, item.Queue, item.Seq)
		}
		return putJSON(q, seqKey(item.Seq), item)
	})
}

// Remove implements Outbox. Removing an item that is already gone is not an
// error: two deliverers racing after a restart both end in the same state.
func (b *Bolt) Remove(ctx context.Context, item *OutboxItem) error {
	return b.update(ctx, func(tx *bolt.Tx) error {
		root := bucket(tx, bucketOutbox)
		q := root.Bucket([]byte(item.Queue))
		if q == nil || q.Get(seqKey(item.Seq)) == nil {
			return nil
		}
		if err := q.Delete(seqKey(item.Seq)); err != nil {
			return err
		}
		if k, _ := q.Cursor().First(); k == nil {
			if err := root.DeleteBucket([]byte(item.Queue)); err != nil {
				return err
			}
		}
		return addDepth(bucket(tx, bucketMeta), -1)
	})
}

// Depth implements Outbox.
func (b *Bolt) Depth(ctx context.Context) (int, error) {
	d := 0
	err := b.view(ctx, func(tx *bolt.Tx) error {
		if v := bucket(tx, bucketMeta).Get([]byte(keyDepth)); len(v) == 8 {
			d = int(binary.BigEndian.Uint64(v))
		}
		return nil
	})
	return d, err
}

func checkLease(queue, holder string, ttl time.Duration) error {
	switch {
	case queue == "":
		return errors.New("mapping: lease without queue")
	case holder == "":
		return errors.New("mapping: lease without holder")
	case ttl <= 0:
		return fmt.Errorf("mapping: lease ttl %s is not positive", ttl)
	}
	return nil
}

// Lease implements Outbox, with the injected clock deciding expiry.
func (b *Bolt) Lease(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(queue, holder, ttl); err != nil {
		return false, err
	}
	taken := false
	// The empty read makes a closed store answer ErrUnavailable, as every
	// other call does.
	err := b.view(ctx, func(*bolt.Tx) error {
		b.leaseMu.Lock()
		defer b.leaseMu.Unlock()
		now := b.now()
		if l, ok := b.leases[queue]; ok && l.holder != holder && now.Before(l.until) {
			return nil
		}
		b.leases[queue] = boltLease{holder: holder, until: now.Add(ttl)}
		taken = true
		return nil
	})
	return taken, err
}

// Release implements Outbox.
func (b *Bolt) Release(ctx context.Context, queue, holder string) error {
	return b.view(ctx, func(*bolt.Tx) error {
		b.leaseMu.Lock()
		defer b.leaseMu.Unlock()
		if l, ok := b.leases[queue]; ok && l.holder == holder {
			delete(b.leases, queue)
		}
		return nil
	})
}
