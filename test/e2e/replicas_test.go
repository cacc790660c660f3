package e2e

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// keyPrefix starts the store's keys the tests peek at (mapping.Redis
// documents the layout).
const keyPrefix = "connector-proxy:"

// TestTwoReplicas runs two proxy processes on one store, behind an
// imaginary load balancer: AXP's webhooks all reach replica A (both have
// A's public URL), clients talk to either. The store is one redis-server,
// or a Redis Cluster of three masters.
func TestTwoReplicas(t *testing.T) {
	stores := []struct {
		name  string
		start func(t *testing.T) (url string, cluster bool, rdb redis.UniversalClient)
	}{
		{"on one redis-server", func(t *testing.T) (string, bool, redis.UniversalClient) {
			srv := redistest.Start(t)
			return srv.URL, false, redis.NewClient(&redis.Options{Addr: srv.Addr})
		}},
		{"on a 3-master Redis Cluster", func(t *testing.T) (string, bool, redis.UniversalClient) {
			cl := redistest.StartCluster(t)
			opts, err := redis.ParseClusterURL(cl.URL)
			if err != nil {
				t.Fatal(err)
			}
			return cl.URL, true, redis.NewClusterClient(opts)
		}},
	}
	for _, st := range stores {
		t.Run(st.name, func(t *testing.T) {
			url, clustered, rdb := st.start(t)
			t.Cleanup(func() { _ = rdb.Close() })
			twoReplicas(t, url, clustered, rdb)
		})
	}
}

func twoReplicas(t *testing.T, redisURL string, clustered bool, rdb redis.UniversalClient) {
	c := newCluster(t, redisURL)
	c.redisCluster = clustered
	aPort := freePort(t)
	c.publicURL = "http://" + addr(aPort)
	a := c.startProxy(t, "replica-a", aPort, 0, "")
	b := c.startProxy(t, "replica-b", 0, 0, "")
	replicas := map[string]*proxy{a.id: a, b.id: b}

	t.Run("20 consumers opening a conversation through both replicas at once get 20 conversations and 20 dialogs", func(t *testing.T) {
		const n = 20
		cons := make([]consumer, n)
		for i := range cons {
			cons[i] = newConsumer(t, a.URL, fmt.Sprintf("both-at-once-%d", i))
		}
		before := len(c.sim.engagements(t))
		start := make(chan struct{})
		type answer struct {
			code int
			body string
			conv string
		}
		answers := make([][2]answer, n)
		var wg sync.WaitGroup
		for i := range cons {
			for j, p := range []*proxy{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					code, body := post(p.URL+"/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", cons[i].headers(), conversationRequest)
					answers[i][j] = answer{code: code, body: body, conv: conversationOf(body)}
				}()
			}
		}
		close(start)
		wg.Wait()
		convs := map[string]bool{}
		for i, pair := range answers {
			for j, an := range pair {
				if an.code != 200 || an.conv == "" {
					t.Errorf("consumer %d through replica %d: %d %s", i, j, an.code, an.body)
				}
			}
			if pair[0].conv != pair[1].conv {
				t.Errorf("consumer %d got two conversations: %s through A, %s through B", i, pair[0].conv, pair[1].conv)
			}
			convs[pair[0].conv] = true
		}
		engs := c.sim.engagements(t)[before:]
		if len(convs) != n || len(engs) != n {
			t.Fatalf("%d conversations and %d engagements for %d consumers", len(convs), len(engs), n)
		}
		axp := c.sim.axp(t)
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		for _, id := range engs {
			eng, err := axp.GetEngagement(ctx, id)
			if err != nil || len(eng.Dialogs) != 1 || !convs[eng.Dialogs[0].ProviderDialogID] {
				t.Errorf("engagement %s: %+v %v; want one dialog of one of the conversations", id, eng, err)
			}
		}
	})

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
func outboxDepth(ctx context.Context, rdb redis.UniversalClient) int64 {
	var n int64
	for s := range mapping.Shards {
		d, _ := rdb.HLen(ctx, shardKey(s, "oi")).Result()
		n += d
	}
	return n
}
