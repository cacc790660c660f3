package pipeline

import (
	"context"
	"sync/atomic"
	"time"
)

// waker drives a sweep loop (the applier's and the deliverer's): poke
// wakes it for what was hinted since its last sweep, pokeAll for a full
// sweep of the shards held, as its poll does.
type waker struct {
	c   chan struct{}
	all atomic.Bool // the next wake sweeps in full: shards were taken
}

func newWaker() *waker { return &waker{c: make(chan struct{}, 1)} }

func (w *waker) poke() {
	select {
	case w.c <- struct{}{}:
	default:
	}
}

func (w *waker) pokeAll() {
	w.all.Store(true)
	w.poke()
}

// loop runs sweep in full first, then at each wake, and in full at each
// poll, until ctx ends.
func (w *waker) loop(ctx context.Context, poll time.Duration, sweep func(ctx context.Context, full bool)) {
	t := time.NewTicker(poll)
	defer t.Stop()
	full := true
	for {
		sweep(ctx, full)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			full = true
		case <-w.c:
			full = w.all.Swap(false)
		}
	}
}
