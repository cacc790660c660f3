package mapping

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// The outbox's operator side on Redis. Each shard keeps, beside its
// outbox (see Redis), under its own hash tag:
//
//	P{sN}:oa        heads by enqueue time: sorted set, conversation → ms
//	P{sN}:oe        every pending item's enqueue time: hash seq → ms
//	P{sN}:di        dropped items: hash seq → JSON (their seq is the one
//	                they had in the outbox, unique in the shard)
//	P{sN}:dq:<c>    a conversation's dropped items: sorted set of seqs
//	P{sN}:dd        conversations with dropped items: sorted set → 0
//	P{sN}:dt        dropped items by drop time: sorted set, seq "|"
//	                conversation → ms; the bounds trim it from the oldest
//
// and the paused endpoints are one hash, P{p}:pauses (endpoint → JSON), in
// a slot of its own. Every change of a shard is one script on that shard's
// keys; a listing goes through the shards one after the other.

func (r *Redis) droppedKeys(conv string) []string {
	t := r.convTag(conv)
	return []string{t + "di", t + "dq:" + conv, t + "dd", t + "dt"}
}

func (r *Redis) pausesKey() string { return r.prefix + "{p}:pauses" }

// removeLua is the removal of one pending item that Remove, Drop and
// DiscardOutbox share: the queue's next item, if any, becomes its head,
// due at its own next attempt. It answers 1, or 0 when the item was gone.
const removeLua = `
local function removeItem(oq, oi, od, oa, oe, seq, queue)
  if redis.call('ZREM', oq, seq) == 0 then return 0 end
  redis.call('HDEL', oi, seq)
  redis.call('HDEL', oe, seq)
  local head = redis.call('ZRANGE', oq, 0, 0)[1]
  if head then
    local v = redis.call('HGET', oi, head) or '0|'
    local due = tonumber(string.match(v, '^(%d+)|')) or 0
    redis.call('ZADD', od, due, queue)
    redis.call('ZADD', oa, tonumber(redis.call('HGET', oe, head)) or due, queue)
  else
    redis.call('ZREM', od, queue)
    redis.call('ZREM', oa, queue)
  end
  return 1
end
`

// headLua answers a queue's head as seq, value, or nothing; a missing
// value is the empty string, since a nil would end Lua's array.
const headLua = `
local function headOf(oq, oi)
  local head = redis.call('ZRANGE', oq, 0, 0)[1]
  if not head then return {} end
  return {head, redis.call('HGET', oi, head) or ''}
end
`

// trimLua removes, oldest first, the dropped items of a shard dropped
// before cutoff ms (none when empty) and those past keep.
const trimLua = `
local function trimDropped(di, dd, dt, dqPrefix, cutoff, keep)
  local gone = {}
  if cutoff ~= '' then gone = redis.call('ZRANGEBYSCORE', dt, '-inf', '(' .. cutoff, 'LIMIT', 0, 10000) end
  local over = redis.call('ZCARD', dt) - #gone - keep
  if over > 0 then
    for _, m in ipairs(redis.call('ZRANGE', dt, #gone, #gone + over - 1)) do gone[#gone + 1] = m end
  end
  for _, m in ipairs(gone) do
    local bar = string.find(m, '|', 1, true)
    local seq, queue = string.sub(m, 1, bar - 1), string.sub(m, bar + 1)
    redis.call('ZREM', dt, m)
    redis.call('HDEL', di, seq)
    local dq = dqPrefix .. queue
    redis.call('ZREM', dq, seq)
    if redis.call('ZCARD', dq) == 0 then redis.call('ZREM', dd, queue) end
  end
  return #gone
end
`

// noKeep is the keep bound of a trim by age only.
const noKeep = 1 << 52

type adminScripts struct {
	drop, list, replay, discardPending, discardDropped, expire, resume *redis.Script
}

func newAdminScripts() adminScripts {
	return adminScripts{
		// KEYS: oq, oi, od, oa, oe, di, dq, dd, dt
		// ARGV: seq, queue, json, dropped at ms, keep, cutoff ms ('' none),
		//       dq prefix. Answers 1, or 0 when the item was gone.
		drop: redis.NewScript(removeLua + trimLua + `
if removeItem(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2]) == 0 then return 0 end
redis.call('HSET', KEYS[6], ARGV[1], ARGV[3])
redis.call('ZADD', KEYS[7], ARGV[1], ARGV[1])
redis.call('ZADD', KEYS[8], 0, ARGV[2])
redis.call('ZADD', KEYS[9], ARGV[4], ARGV[1] .. '|' .. ARGV[2])
trimDropped(KEYS[6], KEYS[8], KEYS[9], ARGV[7], ARGV[6], tonumber(ARGV[5]))
return 1`),
		// KEYS: queues (a sorted set of conversations), items (hash seq →
		// value); ARGV: queue key prefix, after queue, after seq, n, only
		// queue ('' all). Answers queue, seq, value triples, in queue order
		// then seq order ('' for a value that went meanwhile).
		list: redis.NewScript(`
local qs
if ARGV[5] ~= '' then qs = {ARGV[5]} else
  qs = redis.call('ZRANGE', KEYS[1], 0, -1)
  table.sort(qs)
end
local out, n = {}, tonumber(ARGV[4])
for _, q in ipairs(qs) do
  if not (q < ARGV[2]) then
    local min = '-inf'
    if q == ARGV[2] then min = '(' .. ARGV[3] end
    for _, seq in ipairs(redis.call('ZRANGEBYSCORE', ARGV[1] .. q, min, '+inf', 'LIMIT', 0, n - #out / 3)) do
      out[#out + 1] = q
      out[#out + 1] = seq
      out[#out + 1] = redis.call('HGET', KEYS[2], seq) or ''
    end
    if #out / 3 >= n then break end
  end
end
return out`),
		// KEYS: di, dq, dd, dt, oseq, oi, oq, od, oa, oe
		// ARGV: dropped seq, queue, outbox value, enqueue ms. Answers the
		// new seq, or 0 when the dropped item was gone.
		replay: redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('ZREM', KEYS[3], ARGV[2]) end
redis.call('ZREM', KEYS[4], ARGV[1] .. '|' .. ARGV[2])
local wasEmpty = redis.call('ZCARD', KEYS[7]) == 0
local seq = redis.call('INCR', KEYS[5])
redis.call('HSET', KEYS[6], seq, ARGV[3])
redis.call('ZADD', KEYS[7], seq, seq)
redis.call('HSET', KEYS[10], seq, ARGV[4])
if wasEmpty then
  redis.call('ZADD', KEYS[8], tonumber(string.match(ARGV[3], '^(%d+)|')), ARGV[2])
  redis.call('ZADD', KEYS[9], ARGV[4], ARGV[2])
end
return seq`),
		// KEYS: oq, oi, od, oa, oe; ARGV: seq, queue. Answers 1, or 0.
		discardPending: redis.NewScript(removeLua + `
return removeItem(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2])`),
		// KEYS: di, dq, dd, dt; ARGV: seq, queue. Answers 1, or 0.
		discardDropped: redis.NewScript(`
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('ZCARD', KEYS[2]) == 0 then redis.call('ZREM', KEYS[3], ARGV[2]) end
redis.call('ZREM', KEYS[4], ARGV[1] .. '|' .. ARGV[2])
return 1`),
		// KEYS: di, dd, dt; ARGV: cutoff ms, dq prefix, keep
		expire: redis.NewScript(trimLua + `
return trimDropped(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1], tonumber(ARGV[3]))`),
		// KEYS: pauses; ARGV: endpoint. Answers the record removed, or ''.
		resume: redis.NewScript(`
local v = redis.call('HGET', KEYS[1], ARGV[1])
if not v then return '' end
redis.call('HDEL', KEYS[1], ARGV[1])
return v`),
	}
}

// Drop implements Outbox in one script.
func (r *Redis) Drop(ctx context.Context, item *OutboxItem, d Drop) error {
	if err := checkDrop(d); err != nil {
		return err
	}
	raw := encodeItem(nil, dropped(item, d))
	cutoff := ""
	if c := dropCutoff(d); !c.IsZero() {
		cutoff = strconv.FormatInt(msAt(c), 10)
	}
	q := r.queueKeys(item.Queue)
	keys := append([]string{q[5], q[4], q[6], q[7], q[8]}, r.droppedKeys(item.Queue)...)
	err := r.admin.drop.Run(ctx, r.c, keys, item.Seq, item.Queue, raw, msAt(d.At), d.Keep, cutoff, r.convTag(item.Queue)+"dq:").Err()
	return unavailable(err)
}

// ListOutbox implements OutboxAdmin: shard by shard, and within one the
// queues in order, each's items in order.
func (r *Redis) ListOutbox(ctx context.Context, q OutboxQuery) (OutboxPage, error) {
	c, err := checkOutboxQuery(q)
	if err != nil {
		return OutboxPage{}, err
	}
	return page(q, c, func(c outboxCursor, n int) ([]*OutboxItem, error) {
		first, last := c.Shard, Shards-1
		if q.Queue != "" {
			first, last = max(c.Shard, ShardOf(q.Queue)), ShardOf(q.Queue)
		}
		var items []*OutboxItem
		for shard := first; shard <= last && len(items) < n; shard++ {
			after, afterSeq := "", uint64(0)
			if shard == c.Shard {
				after, afterSeq = c.Queue, c.Seq
			}
			t := r.tag(shard)
			keys, prefix := []string{t + "od", t + "oi"}, t+"oq:"
			if q.State == OutboxDropped {
				keys, prefix = []string{t + "dd", t + "di"}, t+"dq:"
			}
			flat, err := r.admin.list.Run(ctx, r.c, keys, prefix, after, afterSeq, n-len(items), q.Queue).StringSlice()
			if err != nil {
				return nil, unavailable(err)
			}
			for i := 0; i+2 < len(flat); i += 3 {
				seq, err := strconv.ParseUint(flat[i+1], 10, 64)
				if err != nil || flat[i+2] == "" {
					continue // went between the index and the read
				}
				it, err := r.decodeListed(q.State, flat[i+2])
				if err != nil {
					return nil, unavailable(fmt.Errorf("%s item %s/%d: %w", q.State, flat[i], seq, err))
				}
				it.Queue, it.Seq = flat[i], seq
				items = append(items, it)
			}
		}
		return items, nil
	})
}

func (r *Redis) decodeListed(state, v string) (*OutboxItem, error) {
	if state == OutboxPending {
		return decodeOutboxValue(v)
	}
	return decodeItem([]byte(v))
}

// droppedItem reads one dropped item (nil when there is none).
func (r *Redis) droppedItem(ctx context.Context, queue string, seq uint64) (*OutboxItem, error) {
	v, err := r.c.HGet(ctx, r.droppedKeys(queue)[0], strconv.FormatUint(seq, 10)).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	if err != nil {
		return nil, unavailable(err)
	}
	it, err := decodeItem([]byte(v))
	if err != nil {
		return nil, unavailable(fmt.Errorf("dropped item %s/%d: %w", queue, seq, err))
	}
	it.Queue, it.Seq = queue, seq
	return it, nil
}

// Replay implements OutboxAdmin: the dropped item is read, then moved by
// one script that finds it still there (a dropped item never changes; it
// only goes).
func (r *Redis) Replay(ctx context.Context, queue string, seq uint64, now time.Time) (*OutboxItem, error) {
	it, err := r.droppedItem(ctx, queue, seq)
	if err != nil {
		return nil, err
	}
	if it == nil {
		return nil, fmt.Errorf("%w: dropped item %s/%d", ErrNotFound, queue, seq)
	}
	fresh := Renewed(it, now)
	q := r.queueKeys(queue)
	keys := append(r.droppedKeys(queue), q[3], q[4], q[5], q[6], q[7], q[8])
	n, err := r.admin.replay.Run(ctx, r.c, keys, seq, queue, outboxValue(msAt(fresh.NextAttempt), fresh), msAt(fresh.EnqueuedAt)).Int64()
	if err != nil {
		return nil, unavailable(err)
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: dropped item %s/%d", ErrNotFound, queue, seq)
	}
	fresh.Seq = uint64(n)
	return fresh, nil
}

// DiscardOutbox implements OutboxAdmin.
func (r *Redis) DiscardOutbox(ctx context.Context, state, queue string, seq uint64) (*OutboxItem, error) {
	if err := checkState(state); err != nil {
		return nil, err
	}
	var (
		it  *OutboxItem
		err error
	)
	q := r.queueKeys(queue)
	if state == OutboxDropped {
		it, err = r.droppedItem(ctx, queue, seq)
	} else {
		var v string
		v, err = r.c.HGet(ctx, q[4], strconv.FormatUint(seq, 10)).Result()
		switch {
		case errors.Is(err, redis.Nil):
			err = nil
		case err != nil:
			err = unavailable(err)
		default:
			if it, err = decodeOutboxValue(v); err != nil {
				err = unavailable(fmt.Errorf("outbox item %s/%d: %w", queue, seq, err))
			}
		}
	}
	if err != nil {
		return nil, err
	}
	n := 0
	if it != nil {
		it.Queue, it.Seq = queue, seq
		if state == OutboxDropped {
			n, err = r.admin.discardDropped.Run(ctx, r.c, r.droppedKeys(queue), seq, queue).Int()
		} else {
			n, err = r.admin.discardPending.Run(ctx, r.c, []string{q[5], q[4], q[6], q[7], q[8]}, seq, queue).Int()
		}
		if err != nil {
			return nil, unavailable(err)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("%w: %s item %s/%d", ErrNotFound, state, queue, seq)
	}
	return it, nil
}

// ExpireDropped implements OutboxAdmin.
func (r *Redis) ExpireDropped(ctx context.Context, shard int, before time.Time) (int, error) {
	if shard < 0 || shard >= Shards {
		return 0, fmt.Errorf("mapping: shard %d, want 0..%d", shard, Shards-1)
	}
	t := r.tag(shard)
	n, err := r.admin.expire.Run(ctx, r.c, []string{t + "di", t + "dd", t + "dt"}, msAt(before), t+"dq:", noKeep).Int()
	return n, unavailable(err)
}

// OutboxStats implements OutboxAdmin: three reads of every shard, in one
// pipeline.
func (r *Redis) OutboxStats(ctx context.Context) (OutboxStats, error) {
	pending := make([]*redis.IntCmd, Shards)
	drops := make([]*redis.IntCmd, Shards)
	heads := make([]*redis.ZSliceCmd, Shards)
	_, err := r.c.Pipelined(ctx, func(p redis.Pipeliner) error {
		for s := range Shards {
			t := r.tag(s)
			pending[s] = p.HLen(ctx, t+"oi")
			drops[s] = p.ZCard(ctx, t+"dt")
			heads[s] = p.ZRangeWithScores(ctx, t+"oa", 0, 0)
		}
		return nil
	})
	if err != nil {
		return OutboxStats{}, unavailable(err)
	}
	var st OutboxStats
	for s := range Shards {
		st.Pending += int(pending[s].Val())
		st.Dropped += int(drops[s].Val())
		if z := heads[s].Val(); len(z) == 1 {
			at := time.UnixMilli(int64(z[0].Score))
			if st.OldestPending.IsZero() || at.Before(st.OldestPending) {
				st.OldestPending = at
			}
		}
	}
	return st, nil
}

// PauseEndpoint implements OutboxAdmin.
func (r *Redis) PauseEndpoint(ctx context.Context, p EndpointPause) (EndpointPause, bool, error) {
	if p.Endpoint == "" {
		return p, false, errors.New("mapping: pause without endpoint")
	}
	raw, err := json.Marshal(p)
	if err != nil {
		return p, false, fmt.Errorf("mapping: pause %s: %w", p.Endpoint, err)
	}
	created, err := r.c.HSetNX(ctx, r.pausesKey(), p.Endpoint, raw).Result()
	if err != nil {
		return p, false, unavailable(err)
	}
	if created {
		return p, true, nil
	}
	cur, err := r.c.HGet(ctx, r.pausesKey(), p.Endpoint).Result()
	if errors.Is(err, redis.Nil) {
		return p, false, nil // resumed meanwhile
	}
	if err != nil {
		return p, false, unavailable(err)
	}
	var rec EndpointPause
	if err := json.Unmarshal([]byte(cur), &rec); err != nil {
		return p, false, unavailable(fmt.Errorf("pause %s: %w", p.Endpoint, err))
	}
	return rec, false, nil
}

// ResumeEndpoint implements OutboxAdmin.
func (r *Redis) ResumeEndpoint(ctx context.Context, endpoint string) (EndpointPause, error) {
	var rec EndpointPause
	v, err := r.admin.resume.Run(ctx, r.c, []string{r.pausesKey()}, endpoint).Text()
	if err != nil {
		return rec, unavailable(err)
	}
	if v == "" {
		return rec, fmt.Errorf("%w: paused endpoint %s", ErrNotFound, endpoint)
	}
	if err := json.Unmarshal([]byte(v), &rec); err != nil {
		return rec, unavailable(fmt.Errorf("pause %s: %w", endpoint, err))
	}
	return rec, nil
}

// Pauses implements OutboxAdmin.
func (r *Redis) Pauses(ctx context.Context) ([]EndpointPause, error) {
	all, err := r.c.HGetAll(ctx, r.pausesKey()).Result()
	if err != nil {
		return nil, unavailable(err)
	}
	out := make([]EndpointPause, 0, len(all))
	for ep, v := range all {
		var p EndpointPause
		if err := json.Unmarshal([]byte(v), &p); err != nil {
			return nil, unavailable(fmt.Errorf("pause %s: %w", ep, err))
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b EndpointPause) int { return strings.Compare(a.Endpoint, b.Endpoint) })
	return out, nil
}
