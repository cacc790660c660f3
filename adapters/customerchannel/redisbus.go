package customerchannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// RedisBus is the Bus of replicas that share a Redis store: messages go over
// Redis pub/sub on one channel, connector records are plain keys.
//
// Pub/sub, not a stream: a message is only useful to the sockets connected
// at the moment it is published. A replica that is down or cut off from
// Redis misses it, but its sockets are gone with it; the customer's
// socket.io-client reconnects (to any replica), joins again and gets
// conversationInfo with every message of the dialog, which AXP keeps. A
// stream would replay to a replica that no longer holds those sockets, and
// costs a trim policy and consumer bookkeeping for nothing. What must not be
// lost (the Connector API's webhook notifications) goes through the store's
// outbox instead, which survives any replica.
//
// Keys, under the prefix (default "connector-proxy:"):
//
//	cc:bus               the pub/sub channel
//	cc:connector:<chan>  the channel's connector, "<replica>/<socket id>"
type RedisBus struct {
	c       redis.UniversalClient
	prefix  string
	log     *slog.Logger
	drop    *redis.Script
	mu      sync.Mutex
	closers []func() error
}

var _ Bus = (*RedisBus)(nil)

// RedisBusOptions configures NewRedisBus.
type RedisBusOptions struct {
	// Prefix is put before every key and the channel (default
	// "connector-proxy:", the store's).
	Prefix string
	// Timeout bounds dialing, reads and writes (default 2 s).
	Timeout time.Duration
	// Cluster takes the URL as a Redis Cluster's (mapping.WithRedisCluster).
	Cluster bool
	Logger  *slog.Logger
}

// NewRedisBus connects to the Redis at url (as mapping.OpenRedis takes it)
// and checks that it answers; an unreachable Redis is an error wrapping
// mapping.ErrUnavailable.
func NewRedisBus(ctx context.Context, url string, o RedisBusOptions) (*RedisBus, error) {
	if o.Prefix == "" {
		o.Prefix = "connector-proxy:"
	}
	if o.Timeout <= 0 {
		o.Timeout = 2 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	// Fail fast while Redis is down, as the store does: the event that
	// needs the bus answers UNAVAILABLE instead of hanging.
	c, err := mapping.NewRedisClient(url, o.Cluster, o.Timeout)
	if err != nil {
		return nil, fmt.Errorf("customerchannel: %w", err)
	}
	b := &RedisBus{c: c, prefix: o.Prefix, log: o.Logger, drop: redis.NewScript(dropScript)}
	if err := b.c.Ping(ctx).Err(); err != nil {
		b.c.Close()
		return nil, fmt.Errorf("customerchannel: bus on redis %s: %w", url, unavailable(err))
	}
	return b, nil
}

// dropScript deletes KEYS[1] when it still holds ARGV[1].
const dropScript = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`

func unavailable(err error) error {
	if err == nil || errors.Is(err, redis.Nil) {
		return err
	}
	return fmt.Errorf("%w: %w", mapping.ErrUnavailable, err)
}

func (b *RedisBus) channel() string               { return b.prefix + "cc:bus" }
func (b *RedisBus) connectorKey(ch string) string { return b.prefix + "cc:connector:" + ch }

// Publish implements Bus.
func (b *RedisBus) Publish(ctx context.Context, m *BusMessage) error {
	raw, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return unavailable(b.c.Publish(ctx, b.channel(), raw).Err())
}

// Subscribe implements Bus. go-redis reconnects and subscribes again by
// itself after Redis comes back; what was published in between is lost (see
// the type's comment).
func (b *RedisBus) Subscribe(ctx context.Context, fn func(*BusMessage)) error {
	ps := b.c.Subscribe(ctx, b.channel())
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := ps.Receive(sctx); err != nil { // the subscription's confirmation
		ps.Close()
		return fmt.Errorf("customerchannel: subscribe: %w", unavailable(err))
	}
	b.mu.Lock()
	b.closers = append(b.closers, ps.Close)
	b.mu.Unlock()
	ch := ps.Channel(redis.WithChannelHealthCheckInterval(5 * time.Second))
	go func() {
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case msg, ok := <-ch:
				if !ok {
					return
				}
				m, err := decodeBusMessage([]byte(msg.Payload))
				if err != nil {
					b.log.Warn("customerchannel: bus message dropped", "error", err)
					continue
				}
				fn(m)
			}
		}
	}()
	return nil
}

// ClaimConnector implements Bus.
func (b *RedisBus) ClaimConnector(ctx context.Context, channel, owner string) error {
	return unavailable(b.c.Set(ctx, b.connectorKey(channel), owner, 0).Err())
}

// ConnectorOwner implements Bus.
func (b *RedisBus) ConnectorOwner(ctx context.Context, channel string) (string, error) {
	owner, err := b.c.Get(ctx, b.connectorKey(channel)).Result()
	if errors.Is(err, redis.Nil) {
		return "", nil
	}
	return owner, unavailable(err)
}

// DropConnector implements Bus.
func (b *RedisBus) DropConnector(ctx context.Context, channel, owner string) error {
	return unavailable(b.drop.Run(ctx, b.c, []string{b.connectorKey(channel)}, owner).Err())
}

// Close ends the subscriptions and the connections.
func (b *RedisBus) Close() error {
	b.mu.Lock()
	closers := b.closers
	b.closers = nil
	b.mu.Unlock()
	var errs []error
	for _, c := range closers {
		if err := c(); err != nil && !errors.Is(err, redis.ErrClosed) {
			errs = append(errs, err)
		}
	}
	if err := b.c.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}
