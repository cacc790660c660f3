package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// keyPrefix starts the store's keys the tests peek at (mapping.Redis
// documents the layout).
const keyPrefix = "connector-proxy:"

// TestTwoReplicasShareOneRedis runs two proxy processes on one
// redis-server, behind an imaginary load balancer: AXP's webhooks all
// reach replica A (both have A's public URL), clients talk to either.
func TestTwoReplicasShareOneRedis(t *testing.T) {
	srv := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	c := newCluster(t, srv.URL)
	aPort := freePort(t)
	c.publicURL = "http://" + addr(aPort)
	a := c.startProxy(t, "replica-a", aPort, 0, "")
	b := c.startProxy(t, "replica-b", 0, 0, "")
	replicas := map[string]*proxy{a.id: a, b.id: b}

	t.Run("a conversation opened through A takes a SEND through B", func(t *testing.T) {
		cons := newConsumer(t, a.URL, "across")
		conv := mustOpenConversation(t, a.URL, cons)
		mustSend(t, b.URL, cons, conv, "hello through B")
		// The same consumer asking again through B gets the same
		// conversation, not a second engagement.
		if _, body, again := openConversation(t, b.URL, cons); again != conv {
			t.Fatalf("CONVERSATION through B gave %q (%s), want the open %s", again, body, conv)
		}
	})

	t.Run("an agent message whose webhook reached A reaches a socket on B", func(t *testing.T) {
		var cu customer
		eng := c.sim.newest(t, func() { cu = mustInit(t, a.URL, "cleo@example.com") })
		sock := dialSIO(t, b.URL, nil)
		sock.join(t, cu)
		c.sim.agent(t, eng, "agentJoin", `{"displayName":"Andy"}`)
		const n = 10
		var total time.Duration
		for i := range n {
			text := fmt.Sprintf("fan-out %d", i)
			sent := time.Now()
			c.sim.agent(t, eng, "agentMessage", `{"text":"`+text+`"}`)
			ev := sock.waitFor(t, "messageArrived", chatText(text))
			total += ev.At.Sub(sent)
		}
		// Measured, not asserted: AXP's webhook to A, A's relay, Redis
		// pub/sub, B's emit, on loopback.
		t.Logf("agent message to a socket on the other replica: %s on average over %d", total/n, n)
	})

	t.Run("a channel connector on B replaces one on A", func(t *testing.T) {
		first := dialSIO(t, a.URL, map[string]string{"secret": connectorSecret})
		second := dialSIO(t, b.URL, map[string]string{"secret": connectorSecret})
		reg := map[string]string{"id": "sms", "name": "SMS", "channel": "sms"}
		first.mustCall(t, "registerConnector", reg)
		second.mustCall(t, "registerConnector", reg)
		first.waitFor(t, "connectorReplaced", nil)
	})

	t.Run("a polling session of A is unknown to B, as Engine.IO says it", func(t *testing.T) {
		sid := pollHandshake(t, a.URL)
		code, body := do(t, "GET", pollURL(b.URL, sid), nil, "")
		if code != 400 || !strings.Contains(string(body), "Session ID unknown") {
			t.Fatalf("B answered A's sid with %d %s, want 400 Session ID unknown", code, body)
		}
	})

	t.Run("notifications pending on a replica killed with SIGKILL are delivered by the other", func(t *testing.T) {
		cons := newConsumer(t, b.URL, "takeover")
		var conv string
		eng := c.sim.newest(t, func() { conv = mustOpenConversation(t, b.URL, cons) })
		c.hooks.setStatus(503)
		before := c.hooks.attemptCount()
		c.sim.agent(t, eng, "agentJoin", `{"displayName":"Andy"}`)
		want := []string{"m0", "m1", "m2", "m3", "m4"}
		for _, m := range want {
			c.sim.agent(t, eng, "agentMessage", `{"text":"`+m+`"}`)
		}
		ctx := context.Background()
		var holder string
		eventually(t, "the notifications queued, one replica holding the lease and failing", func() (bool, string) {
			depth := outboxDepth(ctx, rdb)
			holder, _ = rdb.Get(ctx, shardKey(mapping.ShardOf(conv), "lease")).Result()
			holder, _, _ = strings.Cut(holder, "#") // the replica id, then its run
			tried := c.hooks.attemptCount() > before
			return depth >= int64(len(want)+1) && holder != "" && tried, fmt.Sprintf("depth %d holder %q tried %v", depth, holder, tried)
		})
		dead, ok := replicas[holder]
		if !ok {
			t.Fatalf("lease holder %q is neither replica", holder)
		}
		dead.kill()
		killed := time.Now()
		c.hooks.setStatus(200)
		c.hooks.waitMessages(t, conv, want...)
		// Measured, not asserted: the dead replica's lease (2 s) and the
		// head's backoff (2 s after its first failure) both have to pass.
		t.Logf("%s killed holding the lease; the other replica's first delivery came %s later, all %d in order after %s",
			dead.id, c.hooks.firstDelivery(conv).Sub(killed).Round(time.Millisecond), len(want), time.Since(killed).Round(time.Millisecond))
		eventually(t, "the outbox to drain", func() (bool, string) {
			depth := outboxDepth(ctx, rdb)
			return depth == 0, fmt.Sprint(depth)
		})
	})
}

// shardKey is a key of one shard in the store's documented layout.
func shardKey(shard int, rest string) string {
	return keyPrefix + "{s" + strconv.Itoa(shard) + "}:" + rest
}

// outboxDepth counts the notifications waiting in every shard.
func outboxDepth(ctx context.Context, rdb *redis.Client) int64 {
	var n int64
	for s := range mapping.Shards {
		d, _ := rdb.HLen(ctx, shardKey(s, "oi")).Result()
		n += d
	}
	return n
}
