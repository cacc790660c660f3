package mapping

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Store that several replicas share. It keeps the same
// semantics as Bolt; what Bolt's Sweep does is done by Redis itself, through
// key expiry.
//
// Key layout, all under the prefix (default "connector-proxy:"):
//
//	s:<consumer key>               session (JSON)
//	seen:<dedupe key>              dedupe marker, SET NX PX
//	{conv}:c:<conversation id>     conversation (JSON)
//	{conv}:d:<dialog id>           dialog index → conversation id
//	{conv}:o:<consumer key>        owner index: sorted set, members are the
//	                               16-hex-digit creation time then the id, all
//	                               at score 0, so that their lexical order is
//	                               creation order (as Bolt's keys)
//	{conv}:k:<consumer key>        the owner's conversations that never expire
//	{outbox}:seq                   sequence (INCR)
//	{outbox}:items                 hash seq → item (JSON)
//	{outbox}:queues                set of non-empty queues
//	{outbox}:q:<queue>             sorted set of the queue's seqs
//	{outbox}:l:<queue>             the queue's delivery lease (holder, PX)
//
// Writes that touch several keys are Lua scripts; the keys a script touches
// share a hash tag ({conv} or {outbox}), so that on a Redis Cluster they are
// in one slot and the scripts run unchanged. Sessions and dedupe keys, one
// key per call, spread over the cluster. (The prefix must not contain
// braces, or it would become the hash tag.)
//
// Retention: writing a closed conversation (state other than OPEN, with a
// ClosedAt) sets its record and its dialog index to expire retention after
// ClosedAt. The owner index cannot expire member by member, so it is kept
// without expiry while the owner has a conversation that never expires (the
// {conv}:k set) and otherwise expires retention after the latest write,
// which is after every member's record; members whose record has expired in
// between are removed by Conversations when it meets them.
//
// Every failure to reach Redis (connection refused or reset, timeout, a
// closed client) is returned wrapped with ErrUnavailable; go-redis dials
// again by itself, so the store works again as soon as Redis answers. Only
// Lua scripts' SHA1s are cached, by go-redis, which loads a script again
// when a restarted Redis no longer knows it.
type Redis struct {
	c         *redis.Client
	prefix    string
	retention time.Duration
	now       func() time.Time
	timeout   time.Duration

	scripts redisScripts
}

var _ Store = (*Redis)(nil)

// RedisOption configures OpenRedis.
type RedisOption func(*Redis)

// WithRedisPrefix puts every key under prefix (default "connector-proxy:"),
// so that several deployments can share one Redis.
func WithRedisPrefix(prefix string) RedisOption { return func(r *Redis) { r.prefix = prefix } }

// WithRedisRetention sets how long a closed conversation is kept after its
// ClosedAt (default 72 h).
func WithRedisRetention(d time.Duration) RedisOption {
	return func(r *Redis) { r.retention = d }
}

// WithRedisClock injects the clock that retention is computed from.
func WithRedisClock(now func() time.Time) RedisOption { return func(r *Redis) { r.now = now } }

// WithRedisTimeout bounds dialing, each read and each write (default 2 s)
// unless the URL sets dial_timeout, read_timeout or write_timeout.
func WithRedisTimeout(d time.Duration) RedisOption { return func(r *Redis) { r.timeout = d } }

// OpenRedis connects to the Redis at url (redis://[user:pass@]host:port/db,
// rediss:// for TLS, or unix://) and checks with PING that it answers. An
// unreachable Redis is an error wrapping ErrUnavailable, so a caller that
// wants to start anyway can tell it from a bad URL and try again.
func OpenRedis(ctx context.Context, url string, opts ...RedisOption) (*Redis, error) {
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("mapping: redis url: %w", err)
	}
	r := &Redis{prefix: "connector-proxy:", retention: 72 * time.Hour, now: time.Now, timeout: 2 * time.Second}
	for _, o := range opts {
		o(r)
	}
	if strings.ContainsAny(r.prefix, "{}") {
		return nil, fmt.Errorf("mapping: redis prefix %q has a brace, which would change the hash tags", r.prefix)
	}
	for _, d := range []*time.Duration{&ro.DialTimeout, &ro.ReadTimeout, &ro.WriteTimeout} {
		if *d == 0 {
			*d = r.timeout
		}
	}
	// While Redis is down a call should fail in a fraction of a second
	// (the face answers 503), not after go-redis's default of four rounds
	// of five dials. One retry still hides a pooled connection that a
	// restarted Redis closed.
	if ro.MaxRetries == 0 {
		ro.MaxRetries = 1
	}
	if ro.DialerRetries == 0 {
		ro.DialerRetries = 2
		ro.DialerRetryTimeout = 50 * time.Millisecond
	}
	// A caller's deadline bounds the round trip, not only the pool wait.
	ro.ContextTimeoutEnabled = true
	// CLIENT SETINFO is unknown before Redis 7.2; skip the round trip.
	ro.DisableIdentity = true
	r.c = redis.NewClient(ro)
	r.scripts = newRedisScripts()
	if err := r.Ping(ctx); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("mapping: redis %s: %w", ro.Addr, err)
	}
	return r, nil
}

// Close releases the connections; later calls return ErrUnavailable.
func (r *Redis) Close() error { return r.c.Close() }

// Ping implements Registry with PING.
func (r *Redis) Ping(ctx context.Context) error {
	return unavailable(r.c.Ping(ctx).Err())
}

// unavailable marks a failure to talk to Redis; the original error stays
// matchable (a caller's context.Canceled, redis.ErrClosed, …).
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// Keys.

func (r *Redis) sessionKey(k ConsumerKey) string { return r.prefix + "s:" + k.String() }
func (r *Redis) seenKey(k string) string         { return r.prefix + "seen:" + k }
func (r *Redis) convPrefix() string              { return r.prefix + "{conv}:c:" }
func (r *Redis) convKey(id string) string        { return r.convPrefix() + id }
func (r *Redis) dialogKey(id string) string      { return r.prefix + "{conv}:d:" + id }
func (r *Redis) ownerKey(k ConsumerKey) string   { return r.prefix + "{conv}:o:" + k.String() }
func (r *Redis) keepKey(k ConsumerKey) string    { return r.prefix + "{conv}:k:" + k.String() }
func (r *Redis) seqKey() string                  { return r.prefix + "{outbox}:seq" }
func (r *Redis) itemsKey() string                { return r.prefix + "{outbox}:items" }
func (r *Redis) queuesKey() string               { return r.prefix + "{outbox}:queues" }
func (r *Redis) queuePrefix() string             { return r.prefix + "{outbox}:q:" }
func (r *Redis) queueKey(q string) string        { return r.queuePrefix() + q }
func (r *Redis) leaseKey(q string) string        { return r.prefix + "{outbox}:l:" + q }

// ownerMember orders an owner's conversations by creation, then id, as
// Bolt's ownerKey does; fixed width so that the id starts at byte 16.
func ownerMember(c *Conversation) string {
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(c.CreatedAt.UnixNano()))) + c.ID
}

// ms rounds d up to whole milliseconds, at least one: PX takes no less.
func ms(d time.Duration) int64 {
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}

// Sessions.

// Session implements Registry.
func (r *Redis) Session(ctx context.Context, key ConsumerKey) (SessionRef, error) {
	var ref SessionRef
	raw, err := r.c.Get(ctx, r.sessionKey(key)).Bytes()
	if errors.Is(err, redis.Nil) {
		return ref, fmt.Errorf("%w: session %s", ErrNotFound, key)
	}
	if err != nil {
		return ref, unavailable(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		return ref, unavailable(fmt.Errorf("session %s: %w", key, err))
	}
	return ref, nil
}

// PutSession implements Registry.
func (r *Redis) PutSession(ctx context.Context, key ConsumerKey, ref SessionRef) error {
	raw, err := json.Marshal(ref)
	if err != nil {
		return fmt.Errorf("mapping: session %s: %w", key, err)
	}
	return unavailable(r.c.Set(ctx, r.sessionKey(key), raw, 0).Err())
}

// DeleteSession implements Registry.
func (r *Redis) DeleteSession(ctx context.Context, key ConsumerKey) error {
	return unavailable(r.c.Del(ctx, r.sessionKey(key)).Err())
}

// Conversations.

// closedTTL is how long a conversation's keys still live: zero (for ever)
// while it is open or has no ClosedAt, else what is left of the retention
// after ClosedAt, at most the retention (a ClosedAt ahead of our clock) and
// at least a millisecond (already due: Redis drops it at once).
func (r *Redis) closedTTL(c *Conversation) time.Duration {
	if c.Open() || c.ClosedAt.IsZero() {
		return 0
	}
	ttl := c.ClosedAt.Add(r.retention).Sub(r.now())
	return min(max(ttl, time.Millisecond), max(r.retention, time.Millisecond))
}

// PutConversation implements Registry: the record, the dialog index and the
// owner index change together.
func (r *Redis) PutConversation(ctx context.Context, c *Conversation) error {
	if c.ID == "" {
		return errors.New("mapping: conversation without id")
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("mapping: conversation %s: %w", c.ID, err)
	}
	keys := []string{r.convKey(c.ID), r.ownerKey(c.Owner), r.keepKey(c.Owner)}
	if c.DialogID != "" {
		keys = append(keys, r.dialogKey(c.DialogID))
	}
	ttl := int64(0)
	if d := r.closedTTL(c); d > 0 {
		ttl = ms(d)
	}
	err = r.scripts.putConv.Run(ctx, r.c, keys, raw, c.ID, ownerMember(c), ttl, ms(r.retention)).Err()
	return unavailable(err)
}

func decodeConversation(raw string, what string) (*Conversation, error) {
	c := new(Conversation)
	if err := json.Unmarshal([]byte(raw), c); err != nil {
		return nil, unavailable(fmt.Errorf("conversation %s: %w", what, err))
	}
	return c, nil
}

// Conversation implements Registry.
func (r *Redis) Conversation(ctx context.Context, id string) (*Conversation, error) {
	raw, err := r.c.Get(ctx, r.convKey(id)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: conversation %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeConversation(raw, id)
}

// ConversationByDialog implements Registry in one round trip.
func (r *Redis) ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error) {
	raw, err := r.scripts.byDialog.Run(ctx, r.c, []string{r.dialogKey(dialogID)}, r.convPrefix()).Text()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: dialog %s", ErrNotFound, dialogID)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeConversation(raw, "of dialog "+dialogID)
}

// Conversations implements Registry.
func (r *Redis) Conversations(ctx context.Context, owner ConsumerKey) ([]*Conversation, error) {
	raws, err := r.scripts.ownerConvs.Run(ctx, r.c, []string{r.ownerKey(owner)}, r.convPrefix()).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*Conversation, 0, len(raws))
	for _, raw := range raws {
		c, err := decodeConversation(raw, "of "+owner.String())
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Dedupe.

// MarkSeen implements Registry with SET NX PX: of several replicas marking
// the same key at once, exactly one is first.
func (r *Redis) MarkSeen(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	err := r.c.SetArgs(ctx, r.seenKey(key), "1", redis.SetArgs{Mode: "NX", TTL: time.Duration(ms(ttl)) * time.Millisecond}).Err()
	if errors.Is(err, redis.Nil) {
		return false, nil
	}
	if err != nil {
		return false, unavailable(err)
	}
	return true, nil
}

// ForgetSeen implements Registry.
func (r *Redis) ForgetSeen(ctx context.Context, key string) error {
	return unavailable(r.c.Del(ctx, r.seenKey(key)).Err())
}

// Outbox.

// Enqueue implements Outbox: all items or none, each with the next Seq, in
// one script so that Seq order is commit order across replicas.
func (r *Redis) Enqueue(ctx context.Context, items ...*OutboxItem) error {
	if len(items) == 0 {
		return nil
	}
	keys := []string{r.seqKey(), r.itemsKey(), r.queuesKey()}
	args := make([]any, 0, 2*len(items))
	for _, it := range items {
		if it.Queue == "" {
			return errors.New("mapping: outbox item without queue")
		}
		raw, err := json.Marshal(it)
		if err != nil {
			return fmt.Errorf("mapping: outbox item of %s: %w", it.Queue, err)
		}
		keys = append(keys, r.queueKey(it.Queue))
		args = append(args, it.Queue, raw)
	}
	seqs, err := r.scripts.enqueue.Run(ctx, r.c, keys, args...).Int64Slice()
	if err != nil {
		return unavailable(err)
	}
	if len(seqs) != len(items) {
		return unavailable(fmt.Errorf("enqueue answered %d sequences for %d items", len(seqs), len(items)))
	}
	for i, it := range items {
		it.Seq = uint64(seqs[i])
	}
	return nil
}

// Heads implements Outbox, in queue-name order as Bolt answers.
func (r *Redis) Heads(ctx context.Context) ([]*OutboxItem, error) {
	flat, err := r.scripts.heads.Run(ctx, r.c, []string{r.queuesKey(), r.itemsKey()}, r.queuePrefix()).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*OutboxItem, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		seq, err := strconv.ParseUint(flat[i], 10, 64)
		if err != nil || flat[i+1] == "" {
			return nil, unavailable(fmt.Errorf("outbox head %q has no item", flat[i]))
		}
		it := new(OutboxItem)
		if err := json.Unmarshal([]byte(flat[i+1]), it); err != nil {
			return nil, unavailable(fmt.Errorf("outbox item %d: %w", seq, err))
		}
		// The stored JSON was written before the script chose the Seq.
		it.Seq = seq
		out = append(out, it)
	}
	slices.SortFunc(out, func(a, b *OutboxItem) int { return strings.Compare(a.Queue, b.Queue) })
	return out, nil
}

// Retry implements Outbox.
func (r *Redis) Retry(ctx context.Context, item *OutboxItem) error {
	raw, err := json.Marshal(item)
	if err != nil {
		return fmt.Errorf("mapping: outbox item %s/%d: %w", item.Queue, item.Seq, err)
	}
	n, err := r.scripts.retry.Run(ctx, r.c, []string{r.queueKey(item.Queue), r.itemsKey()}, item.Seq, raw).Int()
	if err != nil {
		return unavailable(err)
	}
	if n == 0 {
		return fmt.Errorf("%w: outbox item %s/%d", ErrNotFound, item.Queue, item.Seq)
	}
	return nil
}

// Remove implements Outbox; removing an item that is already gone is not an
// error.
func (r *Redis) Remove(ctx context.Context, item *OutboxItem) error {
	keys := []string{r.queueKey(item.Queue), r.itemsKey(), r.queuesKey()}
	return unavailable(r.scripts.remove.Run(ctx, r.c, keys, item.Seq, item.Queue).Err())
}

// Depth implements Outbox.
func (r *Redis) Depth(ctx context.Context) (int, error) {
	n, err := r.c.HLen(ctx, r.itemsKey()).Result()
	return int(n), unavailable(err)
}

// Lease implements Outbox: Redis's own clock runs the ttl, so replicas
// whose clocks differ still agree on when a lease ends.
func (r *Redis) Lease(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(queue, holder, ttl); err != nil {
		return false, err
	}
	n, err := r.scripts.lease.Run(ctx, r.c, []string{r.leaseKey(queue)}, holder, ms(ttl)).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// Release implements Outbox.
func (r *Redis) Release(ctx context.Context, queue, holder string) error {
	return unavailable(r.scripts.release.Run(ctx, r.c, []string{r.leaseKey(queue)}, holder).Err())
}

// Scripts. Each declares the keys it writes; the ones it derives from a
// prefix argument (a conversation by its id, a queue by its name) carry the
// same hash tag as the declared keys.

type redisScripts struct {
	putConv, byDialog, ownerConvs                 *redis.Script
	enqueue, heads, retry, remove, lease, release *redis.Script
}

func newRedisScripts() redisScripts {
	return redisScripts{
		// KEYS: record, owner index, owner's keep set, [dialog index]
		// ARGV: json, id, owner member, ttl ms (0: keep), retention ms
		putConv: redis.NewScript(`
redis.call('SET', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[3])
if KEYS[4] then redis.call('SET', KEYS[4], ARGV[2]) end
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
  if KEYS[4] then redis.call('PEXPIRE', KEYS[4], ttl) end
  redis.call('SREM', KEYS[3], ARGV[2])
else
  redis.call('SADD', KEYS[3], ARGV[2])
end
if redis.call('SCARD', KEYS[3]) > 0 then
  redis.call('PERSIST', KEYS[2])
else
  redis.call('PEXPIRE', KEYS[2], ARGV[5])
end
return 1`),
		// KEYS: dialog index; ARGV: record key prefix
		byDialog: redis.NewScript(`
local id = redis.call('GET', KEYS[1])
if not id then return false end
return redis.call('GET', ARGV[1] .. id)`),
		// KEYS: owner index; ARGV: record key prefix
		ownerConvs: redis.NewScript(`
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('GET', ARGV[1] .. string.sub(m, 17))
  if v then out[#out + 1] = v else redis.call('ZREM', KEYS[1], m) end
end
return out`),
		// KEYS: seq, items, queues, then one queue key per item
		// ARGV: queue, json per item
		enqueue: redis.NewScript(`
local seqs = {}
for i = 4, #KEYS do
  local seq = redis.call('INCR', KEYS[1])
  local n = (i - 4) * 2
  redis.call('HSET', KEYS[2], seq, ARGV[n + 2])
  redis.call('ZADD', KEYS[i], seq, seq)
  redis.call('SADD', KEYS[3], ARGV[n + 1])
  seqs[#seqs + 1] = seq
end
return seqs`),
		// KEYS: queues, items; ARGV: queue key prefix
		// Answers seq, json pairs; a nil would end Lua's array, hence ''.
		heads: redis.NewScript(`
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local head = redis.call('ZRANGE', ARGV[1] .. q, 0, 0)[1]
  if head then
    out[#out + 1] = head
    out[#out + 1] = redis.call('HGET', KEYS[2], head) or ''
  end
end
return out`),
		// KEYS: queue, items; ARGV: seq, json
		retry: redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return 1`),
		// KEYS: queue, items, queues; ARGV: seq, queue name
		remove: redis.NewScript(`
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('SREM', KEYS[3], ARGV[2]) end
return 1`),
		// KEYS: lease; ARGV: holder, ttl ms
		lease: redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`),
		// KEYS: lease; ARGV: holder
		release: redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`),
	}
}
