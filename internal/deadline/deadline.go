// Package deadline makes the contexts of requests that end at a deadline
// and at nothing else, without a timer and an allocation per request.
//
// context.WithTimeout costs five allocations and a runtime timer for every
// request, though almost every request ends long before its deadline. A
// Clock rounds deadlines up to its tick (100 ms by default) and hands every
// request of one tick the same context: one channel and one timer per tick,
// shared, closed when the tick's deadline passes. The contexts are complete
// (Done closes at the deadline, Err says context.DeadlineExceeded), so any
// code that takes a context can take them.
//
// A Clock made with NewClockUnder hands out contexts that also end when
// their parent does (a server's, cancelled at shutdown): one watch of the
// parent for the whole clock, not one per request.
//
// Only reports that a context ends only at its deadline (it is a Clock's
// without a parent that can end, or derived from one by values alone, as a
// tracing span is). A caller
// that is given such a context and bounds its own I/O by that deadline (a
// fasthttp DoDeadline, a connection deadline) needs no goroutine to watch
// Done: the deadline ends the I/O at the same moment.
package deadline

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// DefaultTick is the rounding of a Clock made with a tick ≤ 0.
const DefaultTick = 100 * time.Millisecond

// Clock hands out deadline contexts. Its zero value is not usable; make
// one with NewClock. It is safe for concurrent use.
type Clock struct {
	tick   time.Duration
	now    func() time.Time
	parent context.Context // nil: context.Background
	ended  atomic.Bool     // the parent ended: every context has too

	last  atomic.Pointer[slot] // the tick handed out last: the common case
	mu    sync.Mutex
	ticks map[int64]*slot // ticks whose deadline is still ahead
}

// slot is the context of every request whose deadline rounds to at.
type slot struct {
	c    *Clock
	n    int64 // at in ticks since the Unix epoch
	at   time.Time
	done chan struct{}
	err  error // set before done is closed
}

var (
	_       context.Context = (*slot)(nil)
	keyTick                 = tickKey{}
)

type tickKey struct{}

// NewClock returns a Clock rounding deadlines up to tick (DefaultTick when
// tick ≤ 0), reading the wall clock.
func NewClock(tick time.Duration) *Clock {
	if tick <= 0 {
		tick = DefaultTick
	}
	return &Clock{tick: tick, now: time.Now, ticks: map[int64]*slot{}}
}

// NewClockUnder is NewClock whose contexts also end when parent does, with
// its error, and carry its values.
func NewClockUnder(parent context.Context, tick time.Duration) *Clock {
	c := NewClock(tick)
	c.parent = parent
	if parent.Done() != nil {
		context.AfterFunc(parent, c.end)
	}
	return c
}

// end closes every context once the parent ended.
func (c *Clock) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended.Store(true)
	c.last.Store(nil)
	for n, t := range c.ticks {
		delete(c.ticks, n)
		t.err = c.parent.Err()
		close(t.done)
	}
}

// After returns a context that ends d from now, rounded up to the clock's
// tick (it may end up to one tick later than d, never earlier).
func (c *Clock) After(d time.Duration) context.Context {
	at := c.now().Add(d).UnixNano()
	n := at / int64(c.tick)
	if at%int64(c.tick) != 0 {
		n++
	}
	return c.at(n)
}

// Within returns a context that ends d from now rounded down to the
// clock's tick (up to one tick earlier than d, never later), for a caller
// whose answer must not be late. A d under one tick is rounded up, as
// After does: rounded down it would have ended already.
func (c *Clock) Within(d time.Duration) context.Context {
	if d < c.tick {
		return c.After(d)
	}
	return c.at(c.now().Add(d).UnixNano() / int64(c.tick))
}

// at returns the context of the n-th tick since the Unix epoch.
func (c *Clock) at(n int64) context.Context {
	if t := c.last.Load(); t != nil && t.n == n {
		return t
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended.Load() {
		return c.parent
	}
	t, ok := c.ticks[n]
	if !ok {
		t = &slot{c: c, n: n, at: time.Unix(0, n*int64(c.tick)), done: make(chan struct{})}
		c.ticks[n] = t
		time.AfterFunc(time.Until(t.at), func() { c.fire(t) })
	}
	c.last.Store(t)
	return t
}

// fire ends a tick's context once its deadline has passed.
func (c *Clock) fire(t *slot) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ticks[t.n] != t {
		return // ended with the parent
	}
	delete(c.ticks, t.n)
	t.err = context.DeadlineExceeded
	close(t.done)
}

// Deadline implements context.Context.
func (t *slot) Deadline() (time.Time, bool) { return t.at, true }

// Done implements context.Context.
func (t *slot) Done() <-chan struct{} { return t.done }

// Err implements context.Context.
func (t *slot) Err() error {
	select {
	case <-t.done:
		return t.err
	default:
		return nil
	}
}

// Value implements context.Context: a tick carries its parent's values,
// and itself for Only.
func (t *slot) Value(key any) any {
	if key == keyTick {
		return t
	}
	if t.c.parent != nil {
		return t.c.parent.Value(key)
	}
	return nil
}

// String names the context as the standard library's do.
func (t *slot) String() string { return "deadline.Clock.After(" + t.at.Format(time.RFC3339Nano) + ")" }

// Only reports whether ctx ends at its deadline and by nothing else: it is
// a Clock's context, or one derived from it that cannot end earlier (a
// value added to it). It returns the deadline.
func Only(ctx context.Context) (time.Time, bool) {
	t, ok := ctx.Value(keyTick).(*slot)
	if !ok || ctx.Done() != t.done || (t.c.parent != nil && t.c.parent.Done() != nil) {
		return time.Time{}, false
	}
	return t.at, true
}
