package ratelimit

import (
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestWait(t *testing.T) {
	type step struct {
		after time.Duration // clock advance before the call
		key   string
		want  time.Duration // 0: allowed
	}
	tests := []struct {
		name  string
		rate  float64
		burst int
		steps []step
	}{
		{"a burst passes, the next waits for one token", 2, 3, []step{
			{0, "a", 0}, {0, "a", 0}, {0, "a", 0}, {0, "a", 500 * time.Millisecond},
		}},
		{"a refused call takes no token", 1, 1, []step{
			{0, "a", 0}, {0, "a", time.Second}, {0, "a", time.Second}, {time.Second, "a", 0},
		}},
		{"the wait shrinks as time passes", 1, 1, []step{
			{0, "a", 0}, {400 * time.Millisecond, "a", 600 * time.Millisecond},
		}},
		{"keys have their own buckets", 1, 1, []step{
			{0, "a", 0}, {0, "b", 0}, {0, "a", time.Second}, {0, "b", time.Second},
		}},
		{"refill stops at the burst", 10, 2, []step{
			{0, "a", 0}, {0, "a", 0}, {time.Hour, "a", 0}, {0, "a", 0}, {0, "a", 100 * time.Millisecond},
		}},
		{"a fractional rate", 0.5, 1, []step{
			{0, "a", 0}, {time.Second, "a", time.Second}, {time.Second, "a", 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			l := New[string](Options{Rate: tt.rate, Burst: tt.burst, Now: c.Now})
			for i, s := range tt.steps {
				c.advance(s.after)
				if got := l.Wait(s.key); got != s.want {
					t.Fatalf("step %d (%s): Wait = %v, want %v", i, s.key, got, s.want)
				}
			}
		})
	}
}

func TestDisabledLimiterAllowsEverything(t *testing.T) {
	for _, rate := range []float64{0, -1} {
		l := New[string](Options{Rate: rate, Burst: 1})
		if l != nil {
			t.Fatalf("rate %v: New returned a limiter, want nil (disabled)", rate)
		}
		for range 1000 {
			if w := l.Wait("a"); w != 0 {
				t.Fatalf("disabled limiter refused: %v", w)
			}
		}
		if l.Len() != 0 {
			t.Fatal("disabled limiter keeps keys")
		}
	}
}

func TestKeysAreBounded(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration // between new keys: long enough refills every bucket
	}{
		{"full buckets are swept", time.Hour},
		{"busy buckets are dropped past the bound", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			const maxKeys = 100
			l := New[int](Options{Rate: 1, Burst: 5, MaxKeys: maxKeys, Now: c.Now})
			for k := range 10 * maxKeys {
				c.advance(tt.advance)
				if w := l.Wait(k); w != 0 {
					t.Fatalf("a new key waits %v", w)
				}
				if n := l.Len(); n > maxKeys {
					t.Fatalf("%d keys kept, bound %d", n, maxKeys)
				}
			}
		})
	}
}

func TestSweepKeepsBusyBuckets(t *testing.T) {
	c := newClock()
	l := New[string](Options{Rate: 1, Burst: 1, MaxKeys: 4, Now: c.Now})
	l.Wait("busy") // empty now
	for i := range 3 {
		l.Wait(fmt.Sprint("idle", i))
	}
	// Refill everything but "busy", which keeps being used.
	for range 3 {
		c.advance(time.Second)
		if l.Wait("busy") != 0 {
			t.Fatal("busy key refused after a second")
		}
	}
	l.Wait("new") // over the bound: the full idle buckets go
	if w := l.Wait("busy"); w == 0 {
		t.Fatal("the busy bucket was swept: its next call passed at once")
	}
}

func TestConcurrentWaitsTakeExactlyTheBurst(t *testing.T) {
	c := newClock()
	const burst = 50
	l := New[string](Options{Rate: 1, Burst: burst, Now: c.Now})
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if l.Wait("k") == 0 {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != burst {
		t.Fatalf("%d calls allowed, want the burst %d", allowed, burst)
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		wait time.Duration
		want string
	}{
		{0, "1"}, {time.Millisecond, "1"}, {time.Second, "1"}, {1001 * time.Millisecond, "2"}, {90 * time.Second, "90"},
	}
	for _, tt := range tests {
		if got := RetryAfter(tt.wait); got != tt.want {
			t.Errorf("RetryAfter(%v) = %s, want %s", tt.wait, got, tt.want)
		}
	}
}
