package mapping

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the Store that several replicas share, on one redis-server or
// on a Redis Cluster. It keeps the same semantics as Bolt; what Bolt's
// Sweep does is done by Redis itself, through key expiry.
//
// Keys are spread by shard: every record of one consumer (session, claim,
// conversations, their inbox and outbox queues, send records) carries the
// hash tag of its shard, {sN}, so that on a cluster it is in one slot and a
// Commit changes it in one script; the 64 shards spread over the cluster's
// masters. Key layout, under the prefix P (default "connector-proxy:"):
//
//	P{sN}:s:<consumer>        session (JSON)
//	P{sN}:c:<conversation>    conversation: hash v (version), j (JSON)
//	P{sN}:o:<consumer>        owner index: sorted set, members the 16-hex-
//	                          digit creation time then the id, all at score
//	                          0, so their lexical order is creation order
//	P{sN}:k:<consumer>        the owner's conversations that never expire
//	P{sN}:claim:<consumer>    claim: hash holder, conv, until, since (ms, Redis time)
//	P{sN}:seen:<key>          dedupe marker, SET NX PX
//	P{sN}:iseq                inbox sequence
//	P{sN}:ie                  inbox entries: hash seq → JSON
//	P{sN}:iq:<conversation>   a conversation's inbox queue: sorted set of seqs
//	P{sN}:ir                  ready queues: sorted set, conversation → ms
//	P{sN}:oseq, :oi, :oq:<c>  the outbox likewise; oi values are the item's
//	                          next attempt in ms, "|", its JSON
//	P{sN}:od                  due queues: sorted set, conversation → ms
//	P{sN}:oa, :oe, :d…        the heads' and items' enqueue times, the
//	                          dropped items (redisadmin.go)
//	P{sN}:lease               the shard's lease: holder, PX
//	P{sN}:send:<c>|<key>      send record: state initial, "|", JSON; PX
//	P{sN}:log:<c>|<log>       a conversation's log: a list, trimmed to
//	                          MaxLogRecords, expiring with the conversation
//	P{sN}:w:<face>|<scope>    webhook registrations: hash id → JSON, in
//	                          the shard of the face and scope (webhooks.go)
//	Pd:<dialog>               dialog index → conversation id (its own slot)
//	P{r}:replicas             live replicas: sorted set, holder → expiry ms
//	P{p}:pauses               paused endpoints: hash endpoint → JSON
//
// Scripts touch the keys of one shard only; the ones a script derives from
// a prefix argument (a conversation by its id) carry the shard's tag too.
// (The prefix must not contain braces, or it would become the hash tag.)
//
// Retention: writing a closed conversation (state other than OPEN, with a
// ClosedAt) sets its record and its dialog index to expire retention after
// ClosedAt. The owner index cannot expire member by member, so it is kept
// without expiry while the owner has a conversation that never expires (the
// k set) and otherwise expires retention after the latest write, which is
// after every member's record; members whose record has expired in between
// are removed by Conversations when it meets them.
//
// Every failure to reach Redis (connection refused or reset, timeout, a
// closed client) is returned wrapped with ErrUnavailable; go-redis dials
// again by itself, so the store works again as soon as Redis answers. Only
// Lua scripts' SHA1s are cached, by go-redis, which loads a script again
// when a restarted Redis no longer knows it.
type Redis struct {
	c         redis.UniversalClient
	prefix    string
	retention time.Duration
	now       func() time.Time
	timeout   time.Duration
	cluster   bool

	scripts redisScripts
	admin   adminScripts
	batch   *scriptBatch // the scripts of every event: commits, receipts, removals

	// The shards' hash tags and queue keys, made once: building them was
	// 3% of the proxy's CPU on the event path. A queue's keys for one
	// conversation have its id appended to iq: and oq: (queueKeys).
	tags   [Shards]string
	queues [Shards][9]string
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

// WithRedisClock injects the clock that retention and due times are
// computed from.
func WithRedisClock(now func() time.Time) RedisOption { return func(r *Redis) { r.now = now } }

// WithRedisTimeout bounds dialing, each read and each write (default 2 s)
// unless the URL sets dial_timeout, read_timeout or write_timeout.
func WithRedisTimeout(d time.Duration) RedisOption { return func(r *Redis) { r.timeout = d } }

// WithRedisCluster treats the URL as a Redis Cluster's: its host is one
// seed node and each addr query parameter another
// (redis://h1:7000?addr=h2:7001&addr=h3:7002).
func WithRedisCluster() RedisOption { return func(r *Redis) { r.cluster = true } }

// OpenRedis connects to the Redis at url (redis://[user:pass@]host:port/db,
// rediss:// for TLS, or unix://; a cluster's seed nodes with
// WithRedisCluster) and checks with PING that it answers. An unreachable
// Redis is an error wrapping ErrUnavailable, so a caller that wants to start
// anyway can tell it from a bad URL and try again.
func OpenRedis(ctx context.Context, url string, opts ...RedisOption) (*Redis, error) {
	r := &Redis{prefix: "connector-proxy:", retention: 72 * time.Hour, now: time.Now, timeout: 2 * time.Second}
	for _, o := range opts {
		o(r)
	}
	if strings.ContainsAny(r.prefix, "{}") {
		return nil, fmt.Errorf("mapping: redis prefix %q has a brace, which would change the hash tags", r.prefix)
	}
	c, err := NewRedisClient(url, r.cluster, r.timeout)
	if err != nil {
		return nil, err
	}
	r.makeKeys()
	r.c = c
	r.batch = &scriptBatch{c: c, timeout: r.timeout}
	r.scripts = newRedisScripts()
	r.admin = newAdminScripts()
	if err := r.Ping(ctx); err != nil {
		r.c.Close()
		return nil, fmt.Errorf("mapping: redis %s: %w", url, err)
	}
	return r, nil
}

// NewRedisClient makes the go-redis client of url, a single server's or
// (cluster) a cluster's, with the timeouts and retries the proxy wants:
// while Redis is down a call fails in a fraction of a second (the faces
// answer 503), not after go-redis's default of four rounds of five dials.
func NewRedisClient(url string, cluster bool, timeout time.Duration) (redis.UniversalClient, error) {
	tune := func(dial, read, write *time.Duration, retries, dialRetries *int, dialRetryTimeout *time.Duration) {
		for _, d := range []*time.Duration{dial, read, write} {
			if *d == 0 {
				*d = timeout
			}
		}
		// One retry still hides a pooled connection a restarted Redis closed.
		if *retries == 0 {
			*retries = 1
		}
		if *dialRetries == 0 {
			*dialRetries = 2
			*dialRetryTimeout = 50 * time.Millisecond
		}
	}
	if cluster {
		co, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, fmt.Errorf("mapping: redis cluster url: %w", err)
		}
		tune(&co.DialTimeout, &co.ReadTimeout, &co.WriteTimeout, &co.MaxRetries, &co.DialerRetries, &co.DialerRetryTimeout)
		co.ContextTimeoutEnabled = true
		co.DisableIdentity = true
		return redis.NewClusterClient(co), nil
	}
	ro, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("mapping: redis url: %w", err)
	}
	tune(&ro.DialTimeout, &ro.ReadTimeout, &ro.WriteTimeout, &ro.MaxRetries, &ro.DialerRetries, &ro.DialerRetryTimeout)
	// A caller's deadline bounds the round trip, not only the pool wait.
	ro.ContextTimeoutEnabled = true
	// CLIENT SETINFO is unknown before Redis 7.2; skip the round trip.
	ro.DisableIdentity = true
	return redis.NewClient(ro), nil
}

// Close releases the connections; later calls return ErrUnavailable.
func (r *Redis) Close() error { return r.c.Close() }

// Ping implements Registry with PING (on every master of a cluster).
func (r *Redis) Ping(ctx context.Context) error {
	if cc, ok := r.c.(*redis.ClusterClient); ok {
		return unavailable(cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			return c.Ping(ctx).Err()
		}))
	}
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

func (r *Redis) tag(shard int) string { return r.tags[shard] }

// makeKeys fills tags and queues, once the prefix is known.
func (r *Redis) makeKeys() {
	for s := range Shards {
		t := r.prefix + "{s" + strconv.Itoa(s) + "}:"
		r.tags[s] = t
		r.queues[s] = [9]string{t + "iq:", t + "ie", t + "ir", t + "oseq", t + "oi", t + "oq:", t + "od", t + "oa", t + "oe"}
	}
}

func (r *Redis) convTag(id string) string      { return r.tag(ShardOf(id)) }
func (r *Redis) ownerTag(k ConsumerKey) string { return r.tag(OwnerShard(k)) }

func (r *Redis) sessionKey(k ConsumerKey) string { return r.ownerTag(k) + "s:" + k.String() }
func (r *Redis) convKey(id string) string        { return r.convTag(id) + "c:" + id }
func (r *Redis) ownerKey(k ConsumerKey) string   { return r.ownerTag(k) + "o:" + k.String() }
func (r *Redis) keepKey(k ConsumerKey) string    { return r.ownerTag(k) + "k:" + k.String() }
func (r *Redis) claimKey(k ConsumerKey) string   { return r.ownerTag(k) + "claim:" + k.String() }
func (r *Redis) dialogKey(id string) string      { return r.prefix + "d:" + id }
func (r *Redis) replicasKey() string             { return r.prefix + "{r}:replicas" }
func (r *Redis) leaseKey(shard int) string       { return r.tag(shard) + "lease" }
func (r *Redis) sendKey(conv, key string) string { return r.convTag(conv) + "send:" + conv + "|" + key }
func (r *Redis) logKey(conv, log string) string  { return r.convTag(conv) + "log:" + conv + "|" + log }

// queueKeys are the inbox and outbox keys of a conversation's shard, in the
// order the scripts take them.
func (r *Redis) queueKeys(conv string) []string {
	k := r.queues[ShardOf(conv)]
	k[0] += conv
	k[5] += conv
	return k[:]
}

// ownerMember orders an owner's conversations by creation, then id, as
// Bolt's ownerKey does; fixed width so that the id starts at byte 16.
func ownerMember(c *Conversation) string {
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(c.CreatedAt.UnixNano()))) + c.ID
}

// ms rounds d up to whole milliseconds, at least one: PX takes no less.
func ms(d time.Duration) int64 {
	return max(1, int64((d+time.Millisecond-1)/time.Millisecond))
}

func msAt(t time.Time) int64 { return max(t.UnixMilli(), 0) }

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

func decodeConversation(raw string, what string) (*Conversation, error) {
	c := new(Conversation)
	if err := json.Unmarshal([]byte(raw), c); err != nil {
		return nil, unavailable(fmt.Errorf("conversation %s: %w", what, err))
	}
	return c, nil
}

// Conversation implements Registry.
func (r *Redis) Conversation(ctx context.Context, id string) (*Conversation, error) {
	raw, err := r.c.HGet(ctx, r.convKey(id), "j").Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: conversation %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return decodeConversation(raw, id)
}

// ConversationByDialog implements Registry: the dialog index, then the
// conversation (two slots, two round trips).
func (r *Redis) ConversationByDialog(ctx context.Context, dialogID string) (*Conversation, error) {
	id, err := r.c.Get(ctx, r.dialogKey(dialogID)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: dialog %s", ErrNotFound, dialogID)
	}
	if err != nil {
		return nil, unavailable(err)
	}
	return r.Conversation(ctx, id)
}

// Conversations implements Registry.
func (r *Redis) Conversations(ctx context.Context, owner ConsumerKey) ([]*Conversation, error) {
	raws, err := r.scripts.ownerConvs.Run(ctx, r.c, []string{r.ownerKey(owner)}, r.ownerTag(owner)+"c:").StringSlice()
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

// Commit implements Registry in one script.
func (r *Redis) Commit(ctx context.Context, ch *Change) error {
	id, err := checkChange(ch)
	if err != nil {
		return err
	}
	if ch.Conv != nil && ShardOf(id) != OwnerShard(ch.Conv.Owner) {
		// Its keys would be in two slots of a cluster.
		return fmt.Errorf("mapping: conversation %s is not in its owner's shard (make ids with NewConversationID)", id)
	}
	if id == "" {
		if ch.Release != nil {
			return r.ReleaseClaim(ctx, ch.Release.Owner, ch.Release.Holder)
		}
		return nil
	}
	now := r.now()
	keys := append([]string{"", "", "", "", "", ""}, r.queueKeys(id)...)
	// KEYS: conv, owner index, keep set, claim, lease, spare, then queueKeys.
	keys[0] = r.convKey(id)
	keys[5] = r.convTag(id) + "none"
	var owner ConsumerKey
	args := make([]any, 0, 16+2*len(ch.Outbox)+len(ch.Done))
	if c := ch.Conv; c != nil && ch.Unchanged {
		owner = c.Owner
		args = append(args, 2, c.Version, 0, "", c.ID, "", 0, 0)
	} else if c != nil {
		owner = c.Owner
		next := c.Clone()
		next.Version = c.Version + 1
		raw, err := json.Marshal(next)
		if err != nil {
			return fmt.Errorf("mapping: conversation %s: %w", c.ID, err)
		}
		ttl := int64(0)
		if d := r.closedTTL(c); d > 0 {
			ttl = ms(d)
		}
		args = append(args, 1, c.Version, next.Version, raw, c.ID, ownerMember(c), ttl, ms(r.retention))
		if c.Version == 0 && c.DialogID != "" {
			// Another slot: written first, so that the conversation is
			// never visible without it; a commit that then fails leaves an
			// index to a conversation that does not exist, which reads as
			// not found.
			if err := r.c.Set(ctx, r.dialogKey(c.DialogID), c.ID, 0).Err(); err != nil {
				return unavailable(err)
			}
		}
	} else {
		args = append(args, 0, 0, 0, "", id, "", 0, 0)
	}
	if ch.Release != nil {
		owner = ch.Release.Owner
		args = append(args, ch.Release.Holder)
	} else {
		args = append(args, "")
	}
	if owner.Face != "" {
		keys[1], keys[2], keys[3] = r.ownerKey(owner), r.keepKey(owner), r.claimKey(owner)
	} else {
		keys[1], keys[2], keys[3] = keys[5], keys[5], keys[5]
	}
	fence := ""
	keys[4] = keys[5]
	if ch.Fence != nil {
		fence = ch.Fence.Holder
		keys[4] = r.leaseKey(ch.Fence.Shard)
		if ch.Fence.Shard != ShardOf(id) {
			return fmt.Errorf("mapping: fence of shard %d for conversation %s of shard %d", ch.Fence.Shard, id, ShardOf(id))
		}
	}
	args = append(args, fence, msAt(now), len(ch.Outbox))
	for _, it := range ch.Outbox {
		if it.EnqueuedAt.IsZero() {
			it.EnqueuedAt = now
		}
		// The script keeps the enqueue time apart (oe) and stores the rest,
		// an outboxValue.
		v := make([]byte, 0, 42)
		v = strconv.AppendInt(v, msAt(it.EnqueuedAt), 10)
		v = append(v, '|')
		v = strconv.AppendInt(v, msAt(it.NextAttempt), 10)
		v = append(v, '|')
		args = append(args, encodeItem(v, it))
	}
	args = append(args, len(ch.Done))
	for _, e := range ch.Done {
		args = append(args, e.Seq)
	}
	keys = append(keys, keys[5])
	switch e := ch.Applied; {
	case e == nil:
		args = append(args, "", 0)
	case e.Key == "":
		args = append(args, "-", 0)
	default:
		keys[len(keys)-1] = r.convTag(e.Conversation) + "seen:" + e.Key
		args = append(args, e.Key, ms(ch.AppliedTTL))
	}
	args = append(args, len(ch.Append))
	for _, rec := range ch.Append {
		keys = append(keys, r.logKey(id, rec.Log))
		args = append(args, rec.Data)
	}
	logTTL := int64(0)
	if ch.Conv != nil {
		if d := r.closedTTL(ch.Conv); d > 0 {
			logTTL = ms(d)
		}
	}
	args = append(args, MaxLogRecords, logTTL)
	res, err := r.scripts.commit.Run(ctx, r.batch, keys, args...).Int64Slice()
	if err != nil {
		return unavailable(err)
	}
	switch {
	case len(res) == 0:
		return unavailable(errors.New("commit answered nothing"))
	case res[0] == -1:
		return fmt.Errorf("%w: %s is at version %d, the change was made at %d", ErrConflict, id, res[1], ch.Conv.Version)
	case res[0] == -2:
		return fmt.Errorf("%w: shard %d", ErrNotOwner, ch.Fence.Shard)
	case res[0] == -3:
		return fmt.Errorf("%w: %s", ErrDuplicate, ch.Applied.Key)
	case res[0] == -4:
		return fmt.Errorf("%w: %s has events waiting", ErrConflict, id)
	case len(res) != 1+len(ch.Outbox):
		return unavailable(fmt.Errorf("commit answered %d sequences for %d items", len(res)-1, len(ch.Outbox)))
	}
	for i, it := range ch.Outbox {
		it.Seq = uint64(res[i+1])
	}
	if c := ch.Conv; c != nil && !ch.Unchanged {
		c.Version++
		if d := r.closedTTL(c); d > 0 && c.DialogID != "" {
			// Best effort: an index that outlives its conversation reads as
			// not found.
			_ = r.c.PExpire(ctx, r.dialogKey(c.DialogID), d).Err()
		}
	}
	return nil
}

// outboxValue is a pending item as the scripts keep it: its due time in
// milliseconds, which they read, then the item in the embedded store's
// binary form (encodeItem), which they do not. Values written before hold
// the item's JSON; decodeOutboxValue reads both.
func outboxValue(nextMs int64, it *OutboxItem) string {
	b := strconv.AppendInt(make([]byte, 0, 21), nextMs, 10)
	return string(encodeItem(append(b, '|'), it))
}

func decodeOutboxValue(v string) (*OutboxItem, error) {
	_, raw, ok := strings.Cut(v, "|")
	if !ok {
		return nil, errors.New("outbox value without due time")
	}
	return decodeItem([]byte(raw))
}

// Inbox.

// Receive implements Inbox in one script: the dedupe key and the entry.
func (r *Redis) Receive(ctx context.Context, e *InboxEntry, ttl time.Duration) (bool, error) {
	if e.Conversation == "" {
		return false, errors.New("mapping: inbox entry without conversation")
	}
	now := r.now()
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = now
	}
	raw, err := json.Marshal(e)
	if err != nil {
		return false, fmt.Errorf("mapping: inbox entry: %w", err)
	}
	t := r.convTag(e.Conversation)
	seen := t + "seen:" + e.Key
	keys := append([]string{seen, t + "iseq"}, r.queueKeys(e.Conversation)[:3]...)
	// Ready by the receiver's clock, which is the one that reads it.
	seq, err := r.scripts.receive.Run(ctx, r.batch, keys, e.Key, ms(ttl), raw, e.Conversation, msAt(e.ReceivedAt)).Int64()
	if err != nil {
		return false, unavailable(err)
	}
	if seq < 0 {
		return true, nil
	}
	e.Seq = uint64(seq)
	return false, nil
}

// ReadyInbox implements Inbox.
func (r *Redis) ReadyInbox(ctx context.Context, shard int, now time.Time, limit int) ([]string, error) {
	out, err := r.c.ZRangeArgs(ctx, redis.ZRangeArgs{Key: r.tag(shard) + "ir", Start: "-inf", Stop: msAt(now), ByScore: true, Count: int64(limit)}).Result()
	return out, unavailable(err)
}

// InboxOf implements Inbox.
func (r *Redis) InboxOf(ctx context.Context, conversation string, limit int) ([]*InboxEntry, error) {
	flat, err := r.scripts.inboxOf.Run(ctx, r.c, r.queueKeys(conversation)[:2], limit).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*InboxEntry, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		seq, err := strconv.ParseUint(flat[i], 10, 64)
		if err != nil || flat[i+1] == "" {
			continue // removed between the index and the read
		}
		e := new(InboxEntry)
		if err := json.Unmarshal([]byte(flat[i+1]), e); err != nil {
			return nil, unavailable(fmt.Errorf("inbox entry %d: %w", seq, err))
		}
		e.Seq = seq
		out = append(out, e)
	}
	return out, nil
}

// Defer implements Inbox.
func (r *Redis) Defer(ctx context.Context, conversation string, until time.Time) error {
	err := r.c.ZAddXX(ctx, r.queueKeys(conversation)[2], redis.Z{Score: float64(msAt(until)), Member: conversation}).Err()
	return unavailable(err)
}

// Discard implements Inbox.
func (r *Redis) Discard(ctx context.Context, entries []*InboxEntry) error {
	byConv := map[string][]any{}
	for _, e := range entries {
		byConv[e.Conversation] = append(byConv[e.Conversation], e.Seq)
	}
	for conv, seqs := range byConv {
		args := append([]any{conv}, seqs...)
		if err := r.scripts.discard.Run(ctx, r.c, r.queueKeys(conv)[:3], args...).Err(); err != nil {
			return unavailable(err)
		}
	}
	return nil
}

// Log implements Registry.
func (r *Redis) Log(ctx context.Context, conversation, log string, limit int) ([][]byte, error) {
	raws, err := r.c.LRange(ctx, r.logKey(conversation, log), int64(-limit), -1).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([][]byte, len(raws))
	for i, v := range raws {
		out[i] = []byte(v)
	}
	return out, nil
}

// Outbox.

// Due implements Outbox.
func (r *Redis) Due(ctx context.Context, shard int, now time.Time, limit int) ([]*OutboxItem, error) {
	t := r.tag(shard)
	flat, err := r.scripts.due.Run(ctx, r.c, []string{t + "od", t + "oi", t + "oa"}, t+"oq:", msAt(now), limit).StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]*OutboxItem, 0, len(flat)/2)
	for i := 0; i+1 < len(flat); i += 2 {
		seq, err := strconv.ParseUint(flat[i], 10, 64)
		if err != nil || flat[i+1] == "" {
			continue
		}
		it, err := decodeOutboxValue(flat[i+1])
		if err != nil {
			return nil, unavailable(fmt.Errorf("outbox item %d: %w", seq, err))
		}
		// The stored JSON was written before the script chose the Seq.
		it.Seq = seq
		out = append(out, it)
	}
	return out, nil
}

// Head implements Outbox.
func (r *Redis) Head(ctx context.Context, queue string) (*OutboxItem, error) {
	q := r.queueKeys(queue)
	return readHead(r.scripts.head.Run(ctx, r.batch, []string{q[5], q[4]}))
}

// readHead reads what headLua answers.
func readHead(cmd *redis.Cmd) (*OutboxItem, error) {
	flat, err := cmd.StringSlice()
	if err != nil {
		return nil, unavailable(err)
	}
	if len(flat) != 2 || flat[1] == "" {
		return nil, nil
	}
	seq, err := strconv.ParseUint(flat[0], 10, 64)
	if err != nil {
		return nil, unavailable(fmt.Errorf("outbox head %q: %w", flat[0], err))
	}
	it, err := decodeOutboxValue(flat[1])
	if err != nil {
		return nil, unavailable(fmt.Errorf("outbox item %d: %w", seq, err))
	}
	it.Seq = seq
	return it, nil
}

// Retry implements Outbox.
func (r *Redis) Retry(ctx context.Context, item *OutboxItem) error {
	q := r.queueKeys(item.Queue)
	n, err := r.scripts.retry.Run(ctx, r.c, []string{q[5], q[4], q[6]}, item.Seq, outboxValue(msAt(item.NextAttempt), item), item.Queue, msAt(item.NextAttempt)).Int()
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
func (r *Redis) Remove(ctx context.Context, item *OutboxItem) (*OutboxItem, error) {
	q := r.queueKeys(item.Queue)
	return readHead(r.scripts.remove.Run(ctx, r.batch, []string{q[5], q[4], q[6], q[7], q[8]}, item.Seq, item.Queue))
}

// Depth implements Outbox: the items of every shard.
func (r *Redis) Depth(ctx context.Context) (int, error) {
	cmds := make([]*redis.IntCmd, Shards)
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for s := range Shards {
			cmds[s] = p.HLen(ctx, r.tag(s)+"oi")
		}
		return nil
	})
	if err != nil {
		return 0, unavailable(err)
	}
	n := 0
	for _, c := range cmds {
		n += int(c.Val())
	}
	return n, nil
}

// Leases.

// Lease implements Leases: Redis's own clock runs the ttl, so replicas
// whose clocks differ still agree on when a lease ends.
func (r *Redis) Lease(ctx context.Context, shard int, holder string, ttl time.Duration) (bool, error) {
	if err := checkLease(shard, holder, ttl); err != nil {
		return false, err
	}
	n, err := r.scripts.lease.Run(ctx, r.c, []string{r.leaseKey(shard)}, holder, ms(ttl)).Int()
	if err != nil {
		return false, unavailable(err)
	}
	return n == 1, nil
}

// Release implements Leases.
func (r *Redis) Release(ctx context.Context, shard int, holder string) error {
	return unavailable(r.scripts.release.Run(ctx, r.c, []string{r.leaseKey(shard)}, holder).Err())
}

// Replicas implements Leases, on Redis's clock.
func (r *Redis) Replicas(ctx context.Context, holder string, ttl time.Duration) (int, error) {
	n, err := r.scripts.replicas.Run(ctx, r.c, []string{r.replicasKey()}, holder, ms(ttl)).Int()
	return n, unavailable(err)
}

// Alive implements Leases, on Redis's clock.
func (r *Redis) Alive(ctx context.Context, holder string) (bool, error) {
	n, err := r.scripts.alive.Run(ctx, r.c, []string{r.replicasKey()}, holder).Int()
	return n == 1, unavailable(err)
}

// Claims.

// Claim implements Claims, on Redis's clock.
func (r *Redis) Claim(ctx context.Context, owner ConsumerKey, holder, conversation string, ttl time.Duration) (Claim, bool, error) {
	res, err := r.scripts.claim.Run(ctx, r.c, []string{r.claimKey(owner)}, holder, conversation, ms(ttl)).Slice()
	if err != nil {
		return Claim{}, false, unavailable(err)
	}
	if len(res) != 5 {
		return Claim{}, false, unavailable(fmt.Errorf("claim answered %d values", len(res)))
	}
	won, _ := res[0].(int64)
	h, _ := res[1].(string)
	conv, _ := res[2].(string)
	until, _ := res[3].(int64)
	since, _ := res[4].(int64)
	return Claim{Owner: owner, Holder: h, Conversation: conv, Until: time.UnixMilli(until), Since: time.UnixMilli(since)}, won == 1, nil
}

// ReleaseClaim implements Claims.
func (r *Redis) ReleaseClaim(ctx context.Context, owner ConsumerKey, holder string) error {
	return unavailable(r.scripts.releaseClaim.Run(ctx, r.c, []string{r.claimKey(owner)}, holder).Err())
}

// Sends.

func sendValue(rec SendRecord) (string, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return "", err
	}
	state := "s"
	if rec.State == SendPending {
		state = "p"
	}
	return state + "|" + string(raw), nil
}

// BeginSend implements Sends.
func (r *Redis) BeginSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) (SendRecord, bool, error) {
	v, err := sendValue(rec)
	if err != nil {
		return rec, false, err
	}
	cur, err := r.scripts.beginSend.Run(ctx, r.c, []string{r.sendKey(conversation, key)}, v, ms(ttl)).Text()
	if err != nil {
		return rec, false, unavailable(err)
	}
	if cur == "" {
		return rec, true, nil
	}
	var got SendRecord
	_, raw, _ := strings.Cut(cur, "|")
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		return rec, false, unavailable(fmt.Errorf("send record: %w", err))
	}
	return got, false, nil
}

// TakeSend implements Sends.
func (r *Redis) TakeSend(ctx context.Context, conversation, key string, expect, rec SendRecord, ttl time.Duration) (bool, error) {
	v, err := sendValue(rec)
	if err != nil {
		return false, err
	}
	at, err := expect.At.MarshalJSON()
	if err != nil {
		return false, err
	}
	n, err := r.scripts.takeSend.Run(ctx, r.c, []string{r.sendKey(conversation, key)},
		expect.ProviderMessageID, expect.Holder, strings.Trim(string(at), `"`), v, ms(ttl)).Int()
	return n == 1, unavailable(err)
}

// Send implements Sends.
func (r *Redis) Send(ctx context.Context, conversation, key string) (SendRecord, bool, error) {
	var rec SendRecord
	cur, err := r.c.Get(ctx, r.sendKey(conversation, key)).Result()
	if errors.Is(err, redis.Nil) {
		return rec, false, nil
	}
	if err != nil {
		return rec, false, unavailable(err)
	}
	_, raw, _ := strings.Cut(cur, "|")
	if err := json.Unmarshal([]byte(raw), &rec); err != nil {
		return rec, false, unavailable(fmt.Errorf("send record: %w", err))
	}
	return rec, true, nil
}

// PutSend implements Sends.
func (r *Redis) PutSend(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error {
	v, err := sendValue(rec)
	if err != nil {
		return err
	}
	return unavailable(r.c.Set(ctx, r.sendKey(conversation, key), v, time.Duration(ms(ttl))*time.Millisecond).Err())
}

// DropSend implements Sends.
func (r *Redis) DropSend(ctx context.Context, conversation, key string) error {
	return unavailable(r.c.Del(ctx, r.sendKey(conversation, key)).Err())
}

// MarkSent implements Sends: on Redis the write is as cheap as waiting
// for it.
func (r *Redis) MarkSent(ctx context.Context, conversation, key string, rec SendRecord, ttl time.Duration) error {
	return r.PutSend(ctx, conversation, key, rec, ttl)
}

// keysUnder lists the keys under the prefix (tests: on one server only).
func (r *Redis) keysUnder(ctx context.Context) ([]string, error) {
	var out []string
	iter := r.c.Scan(ctx, 0, r.prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		out = append(out, iter.Val())
	}
	return out, iter.Err()
}

// Scripts.

type redisScripts struct {
	commit, ownerConvs, receive, inboxOf, discard *redis.Script
	due, head, retry, remove                      *redis.Script
	lease, release, replicas, alive               *redis.Script
	claim, releaseClaim, beginSend, takeSend      *redis.Script
}

func newRedisScripts() redisScripts {
	return redisScripts{
		// KEYS: conv, owner index, keep set, claim, lease, spare,
		//       iq, ie, ir, oseq, oi, oq, od, oa, oe, seen
		// ARGV: conv (0 none, 1 written, 2 compared only), expected version, new version, json, id, owner
		//       member, ttl ms (0: keep), retention ms, release holder,
		//       fence holder, now ms, n, n × (enqueue ms "|" outbox value),
		//       m, m × inbox seq,
		//       applied key ('' none, '-' one without key), its ttl ms,
		//       k, k × log record (KEYS[16+i] its log), max log length,
		//       log ttl ms (0: keep)
		// Answers {0, seqs…}, {-1, stored version}, {-2} (not the lease
		// holder), {-3} (applied event seen before), {-4} (events waiting).
		// Every refusal comes before the first write.
		commit: redis.NewScript(`
if ARGV[10] ~= '' and redis.call('GET', KEYS[5]) ~= ARGV[10] then return {-2} end
local id = ARGV[5]
local n = tonumber(ARGV[12])
local m = tonumber(ARGV[13 + n])
local applied = ARGV[14 + n + m]
if ARGV[1] ~= '0' then
  local v = redis.call('HGET', KEYS[1], 'v') or '0'
  if v ~= ARGV[2] then return {-1, tonumber(v)} end
end
if applied ~= '' then
  if redis.call('ZCARD', KEYS[7]) > 0 then return {-4} end
  if applied ~= '-' and not redis.call('SET', KEYS[16], '1', 'NX', 'PX', ARGV[15 + n + m]) then return {-3} end
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'v', ARGV[3], 'j', ARGV[4])
  if ARGV[2] == '0' then redis.call('ZADD', KEYS[2], 0, ARGV[6]) end
  local ttl = tonumber(ARGV[7])
  if ttl > 0 then
    redis.call('PEXPIRE', KEYS[1], ttl)
    redis.call('SREM', KEYS[3], id)
  else
    redis.call('PERSIST', KEYS[1])
    redis.call('SADD', KEYS[3], id)
  end
  if redis.call('SCARD', KEYS[3]) > 0 then
    redis.call('PERSIST', KEYS[2])
  else
    redis.call('PEXPIRE', KEYS[2], ARGV[8])
  end
end
local out = {0}
if n > 0 then
  local wasEmpty = redis.call('ZCARD', KEYS[12]) == 0
  for i = 1, n do
    local v = ARGV[12 + i]
    local bar = string.find(v, '|', 1, true)
    local enq = string.sub(v, 1, bar - 1)
    v = string.sub(v, bar + 1)
    local seq = redis.call('INCR', KEYS[10])
    redis.call('HSET', KEYS[11], seq, v)
    redis.call('ZADD', KEYS[12], seq, seq)
    redis.call('HSET', KEYS[15], seq, enq)
    out[#out + 1] = seq
    if wasEmpty and i == 1 then
      redis.call('ZADD', KEYS[13], tonumber(string.match(v, '^(%d+)|')), id)
      redis.call('ZADD', KEYS[14], enq, id)
    end
  end
end
if m > 0 then
  for i = 1, m do
    local seq = ARGV[13 + n + i]
    redis.call('ZREM', KEYS[7], seq)
    redis.call('HDEL', KEYS[8], seq)
  end
  if redis.call('ZCARD', KEYS[7]) == 0 then redis.call('ZREM', KEYS[9], id) end
end
if ARGV[9] ~= '' and redis.call('HGET', KEYS[4], 'holder') == ARGV[9] then redis.call('DEL', KEYS[4]) end
local k = tonumber(ARGV[16 + n + m])
if k > 0 then
  local maxLen = tonumber(ARGV[17 + n + m + k])
  local ttl = tonumber(ARGV[18 + n + m + k])
  for i = 1, k do
    local key = KEYS[16 + i]
    redis.call('RPUSH', key, ARGV[16 + n + m + i])
    redis.call('LTRIM', key, -maxLen, -1)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
  end
end
return out`),
		// KEYS: owner index; ARGV: record key prefix
		ownerConvs: redis.NewScript(`
local out = {}
for _, m in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local v = redis.call('HGET', ARGV[1] .. string.sub(m, 17), 'j')
  if v then out[#out + 1] = v else redis.call('ZREM', KEYS[1], m) end
end
return out`),
		// KEYS: seen, iseq, iq, ie, ir; ARGV: key, ttl ms, json, conv, now ms
		// Answers the entry's seq, or -1 for a duplicate.
		receive: redis.NewScript(`
if ARGV[1] ~= '' and not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[2]) then return -1 end
local seq = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[3], seq, seq)
redis.call('HSET', KEYS[4], seq, ARGV[3])
local cur = redis.call('ZSCORE', KEYS[5], ARGV[4])
if not cur or tonumber(cur) > tonumber(ARGV[5]) then redis.call('ZADD', KEYS[5], ARGV[5], ARGV[4]) end
return seq`),
		// KEYS: iq, ie; ARGV: limit. Answers seq, json pairs ('' for a
		// missing entry: a nil would end Lua's array).
		inboxOf: redis.NewScript(`
local out = {}
for _, seq in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)) do
  out[#out + 1] = seq
  out[#out + 1] = redis.call('HGET', KEYS[2], seq) or ''
end
return out`),
		// KEYS: iq, ie, ir; ARGV: conv, seqs…
		discard: redis.NewScript(`
for i = 2, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('HDEL', KEYS[2], ARGV[i])
end
if redis.call('ZCARD', KEYS[1]) == 0 then redis.call('ZREM', KEYS[3], ARGV[1]) end
return 1`),
		// KEYS: od, oi, oa; ARGV: queue key prefix, now ms, limit
		due: redis.NewScript(`
local out = {}
for _, q in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  local head = redis.call('ZRANGE', ARGV[1] .. q, 0, 0)[1]
  if head then
    out[#out + 1] = head
    out[#out + 1] = redis.call('HGET', KEYS[2], head) or ''
  else
    redis.call('ZREM', KEYS[1], q)
    redis.call('ZREM', KEYS[3], q)
  end
end
return out`),
		// KEYS: oq, oi.
		head: redis.NewScript(headLua + `
return headOf(KEYS[1], KEYS[2])`),
		// KEYS: oq, oi, od; ARGV: seq, value, queue, next ms
		retry: redis.NewScript(`
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if redis.call('ZRANGE', KEYS[1], 0, 0)[1] == ARGV[1] then redis.call('ZADD', KEYS[3], ARGV[4], ARGV[3]) end
return 1`),
		// KEYS: oq, oi, od, oa, oe; ARGV: seq, queue. Answers the new head.
		remove: redis.NewScript(removeLua + headLua + `
removeItem(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])
return headOf(KEYS[1], KEYS[2])`),
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
		// KEYS: replicas; ARGV: holder, ttl ms
		replicas: redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return redis.call('ZCARD', KEYS[1])`),
		// KEYS: replicas; ARGV: holder
		alive: redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local exp = redis.call('ZSCORE', KEYS[1], ARGV[1])
if exp and tonumber(exp) > now then return 1 end
return 0`),
		// KEYS: claim; ARGV: holder, conversation, ttl ms
		// Answers {won, holder, conversation, until ms, since ms}.
		claim: redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = redis.call('HMGET', KEYS[1], 'holder', 'conv', 'until', 'since')
local conv = ARGV[2]
local since = now
if cur[1] then
  if cur[1] ~= ARGV[1] and tonumber(cur[3]) > now then return {0, cur[1], cur[2], tonumber(cur[3]), tonumber(cur[4] or now)} end
  conv = cur[2]
  since = tonumber(cur[4] or now)
end
local untilMs = now + tonumber(ARGV[3])
redis.call('HSET', KEYS[1], 'holder', ARGV[1], 'conv', conv, 'until', untilMs, 'since', since)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[3]) + 86400000)
return {1, ARGV[1], conv, untilMs, since}`),
		// KEYS: claim; ARGV: holder
		releaseClaim: redis.NewScript(`
if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1`),
		// KEYS: send; ARGV: value, ttl ms. Answers '' when the value was
		// stored, else the pending value in force.
		beginSend: redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if cur then return cur end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ''`),
		// KEYS: send; ARGV: expected providerMessageId, holder, at
		// (RFC 3339, as JSON has it), value, ttl ms. Answers 1 when the
		// value replaced the pending record expected.
		takeSend: redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if not cur or string.sub(cur, 1, 2) ~= 'p|' then return 0 end
local rec = cjson.decode(string.sub(cur, 3))
if rec.providerMessageId ~= ARGV[1] or (rec.holder or '') ~= ARGV[2] or rec.at ~= ARGV[3] then return 0 end
redis.call('SET', KEYS[1], ARGV[4], 'PX', ARGV[5])
return 1`),
	}
}
