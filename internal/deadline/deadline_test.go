package deadline

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAContextEndsAtItsDeadlineRoundedUpToTheTick(t *testing.T) {
	c := NewClock(10 * time.Millisecond)
	before := time.Now()
	ctx := c.After(30 * time.Millisecond)
	dl, ok := ctx.Deadline()
	if !ok || dl.Before(before.Add(30*time.Millisecond)) || dl.After(time.Now().Add(40*time.Millisecond)) {
		t.Fatalf("deadline %v (ok %v) for 30 ms from %v", dl, ok, before)
	}
	if dl.UnixNano()%int64(10*time.Millisecond) != 0 {
		t.Fatalf("deadline %v is not on a tick", dl)
	}
	if err := ctx.Err(); err != nil {
		t.Fatalf("Err before the deadline = %v", err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("Done never closed")
	}
	if now := time.Now(); now.Before(dl) {
		t.Fatalf("Done closed at %v, before the deadline %v", now, dl)
	}
	if err := ctx.Err(); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Err after the deadline = %v", err)
	}
	if ctx.Value("anything") != nil {
		t.Fatal("a clock's context carries a value")
	}
}

func TestWithinEndsNoLaterThanItsDeadlineRoundedDownToTheTick(t *testing.T) {
	const tick = 10 * time.Millisecond
	now := time.Unix(1000, 3_000_000) // 3 ms into a tick
	c := NewClock(tick)
	c.now = func() time.Time { return now }
	for _, tc := range []struct {
		name string
		d    time.Duration
		want time.Time
	}{
		{"a deadline between ticks ends at the tick before it", 45 * time.Millisecond, time.Unix(1000, 40_000_000)},
		{"a deadline on a tick ends there", 47 * time.Millisecond, time.Unix(1000, 50_000_000)},
		{"one tick ends at the next tick", tick, time.Unix(1000, 10_000_000)},
		{"under a tick is rounded up, not already over", 5 * time.Millisecond, time.Unix(1000, 10_000_000)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dl, ok := c.Within(tc.d).Deadline()
			if !ok || !dl.Equal(tc.want) {
				t.Fatalf("Within(%v) from %v: deadline %v, want %v", tc.d, now, dl, tc.want)
			}
		})
	}
}

func TestRequestsOfOneTickShareOneContextAndOthersGetTheirOwn(t *testing.T) {
	c := NewClock(time.Hour) // every call in this test falls in one tick
	a, b := c.After(time.Minute), c.After(time.Minute)
	if a != b {
		t.Fatal("two contexts for one tick")
	}
	if later := c.After(2 * time.Hour); later == a {
		t.Fatal("a later deadline got an earlier tick's context")
	}
	if again := c.After(time.Minute); again != a {
		t.Fatal("the first tick's context was not found again")
	}
}

func TestExpiredTicksAreForgotten(t *testing.T) {
	c := NewClock(5 * time.Millisecond)
	ctx := c.After(time.Millisecond)
	<-ctx.Done()
	c.mu.Lock()
	n := len(c.ticks)
	c.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d ticks kept after their deadline", n)
	}
}

func TestOnlyTellsAContextThatEndsAtItsDeadlineAlone(t *testing.T) {
	c := NewClock(time.Hour)
	base := c.After(time.Minute)
	want, _ := base.Deadline()
	type key struct{}
	cancelled, cancel := context.WithCancel(base)
	defer cancel()
	shorter, cancel2 := context.WithTimeout(base, time.Second)
	defer cancel2()
	tests := []struct {
		name string
		ctx  context.Context
		want bool
	}{
		{"the clock's context", base, true},
		{"a value added to it", context.WithValue(base, key{}, 1), true},
		{"a cancellable child", cancelled, false},
		{"a child with a shorter timeout", shorter, false},
		{"background", context.Background(), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dl, ok := Only(tc.ctx)
			if ok != tc.want || (ok && !dl.Equal(want)) {
				t.Fatalf("Only = %v, %v; want %v (deadline %v)", dl, ok, tc.want, want)
			}
		})
	}
}

func TestAClockUnderAParentEndsItsContextsWithIt(t *testing.T) {
	type key struct{}
	parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	c := NewClockUnder(parent, time.Hour)
	ctx := c.After(time.Minute)
	if ctx.Value(key{}) != "v" {
		t.Fatal("the parent's value is not carried")
	}
	if _, ok := Only(ctx); ok {
		t.Fatal("a context that its parent can end is not deadline-only")
	}
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("the parent's end did not end the context")
	}
	if err := ctx.Err(); !errors.Is(err, context.Canceled) {
		t.Fatalf("Err = %v, want the parent's", err)
	}
	if later := c.After(time.Minute); later.Err() == nil {
		t.Fatal("a context made after the parent ended is live")
	}
}
