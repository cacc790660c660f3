package connectorapi

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// staleHeads is a store whose first Heads call made while an attempt is
// under way reads the heads before that attempt's outcome (Remove or
// Retry) is written, and returns them only once it has been written and
// the attempt has had time to finish: the sweep then holds a head that is
// no longer true.
type staleHeads struct {
	mapping.Store
	mu      sync.Mutex
	armed   bool          // an attempt has taken its lease
	read    chan struct{} // closed once the armed Heads has read
	written chan struct{} // closed once the attempt's outcome is stored
}

func newStaleHeads(s mapping.Store) *staleHeads {
	return &staleHeads{Store: s, read: make(chan struct{}), written: make(chan struct{})}
}

func (s *staleHeads) Lease(ctx context.Context, queue, holder string, ttl time.Duration) (bool, error) {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
	return s.Store.Lease(ctx, queue, holder, ttl)
}

func (s *staleHeads) Heads(ctx context.Context) ([]*mapping.OutboxItem, error) {
	s.mu.Lock()
	armed := s.armed
	s.armed = false
	s.mu.Unlock()
	heads, err := s.Store.Heads(ctx)
	if !armed {
		return heads, err
	}
	select {
	case <-s.read:
		return heads, err // only the first armed read is held back
	default:
	}
	close(s.read)
	select {
	case <-s.written:
		time.Sleep(50 * time.Millisecond) // the attempt ends and leaves no trace in flight
	case <-time.After(2 * time.Second):
	}
	return heads, err
}

// outcome lets the attempt's write wait (boundedly) for the armed read,
// then signals it.
func (s *staleHeads) outcome(write func() error) error {
	select {
	case <-s.read:
	case <-time.After(2 * time.Second):
	}
	err := write()
	select {
	case <-s.written:
	default:
		close(s.written)
	}
	return err
}

func (s *staleHeads) Remove(ctx context.Context, it *mapping.OutboxItem) error {
	return s.outcome(func() error { return s.Store.Remove(ctx, it) })
}

func (s *staleHeads) Retry(ctx context.Context, it *mapping.OutboxItem) error {
	return s.outcome(func() error { return s.Store.Retry(ctx, it) })
}

// TestSweepWithStaleHeadsNeitherResendsNorSkipsBackoff: a sweep that read
// the heads while an attempt was under way must not act on the attempt's
// item once the attempt is over — neither send a delivered item again nor
// send a failed one again before its backoff (the clock does not move).
func TestSweepWithStaleHeadsNeitherResendsNorSkipsBackoff(t *testing.T) {
	for _, tt := range []struct {
		name   string
		status int
	}{
		{"delivered", 200},
		{"failed", 500},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var posts atomic.Int32
			url := serve(t, func(ctx *fasthttp.RequestCtx) {
				posts.Add(1)
				ctx.SetStatusCode(tt.status)
			})
			bolt, tokens := boltAndTokens(t, url)
			store := newStaleHeads(bolt)
			f, err := newFace(Config{ChannelProviderID: provider, Now: newClock().Now, PollInterval: 5 * time.Millisecond},
				&fakeBackend{}, store, tokens)
			if err != nil {
				t.Fatal(err)
			}
			app, _ := tokens.App(lpAccount, appID)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() { defer close(done); _ = f.Run(ctx) }()
			t.Cleanup(func() { cancel(); <-done })

			conv := &mapping.Conversation{ID: "conv-stale"}
			if err := f.enqueue(ctx, app, conv, auth.WebhookContentEvent, kindContent, []byte(`{}`)); err != nil {
				t.Fatal(err)
			}
			select {
			case <-store.written:
			case <-time.After(waitFor):
				t.Fatal("no attempt was made")
			}
			time.Sleep(300 * time.Millisecond) // many sweeps, the stale one among them
			if n := posts.Load(); n != 1 {
				t.Fatalf("%d POSTs of one notification, want 1", n)
			}
		})
	}
}
