package ratelimit

import (
	"math"
	"strconv"
	"sync"
	"time"
)

// DefaultMaxKeys bounds the keys a Limiter keeps when Options.MaxKeys is 0.
const DefaultMaxKeys = 100_000

// Options configure a Limiter.
type Options struct {
	// Rate is the steady number of requests per second a key may make.
	Rate float64
	// Burst is how many it may make at once after a quiet while; at least 1.
	Burst int
	// MaxKeys bounds the buckets kept (default DefaultMaxKeys).
	MaxKeys int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Limiter holds one token bucket per key. It is safe for concurrent use.
type Limiter[K comparable] struct {
	rate    float64 // tokens per nanosecond
	burst   float64
	maxKeys int
	now     func() time.Time
	epoch   time.Time

	mu      sync.Mutex
	buckets map[K]bucket
}

// bucket is stored by value: a lookup allocates nothing.
type bucket struct {
	tokens float64
	at     int64 // nanoseconds since the limiter's epoch, when tokens was right
}

// New returns a limiter, or nil when o.Rate is not positive: a nil
// *Limiter allows everything, so a disabled limit costs one nil check.
func New[K comparable](o Options) *Limiter[K] {
	if o.Rate <= 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		return nil
	}
	if o.Burst < 1 {
		o.Burst = 1
	}
	if o.MaxKeys <= 0 {
		o.MaxKeys = DefaultMaxKeys
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Limiter[K]{
		rate: o.Rate / float64(time.Second), burst: float64(o.Burst), maxKeys: o.MaxKeys,
		now: o.Now, epoch: o.Now(), buckets: make(map[K]bucket),
	}
}

// Wait takes one token of key's bucket and returns 0, or, when the bucket
// is empty, takes nothing and returns how long until a token is there.
func (l *Limiter[K]) Wait(key K) time.Duration {
	if l == nil {
		return 0
	}
	now := int64(l.now().Sub(l.epoch))
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.maxKeys {
			l.sweep(now)
		}
		b = bucket{tokens: l.burst, at: now}
	} else {
		b.tokens = l.level(b, now)
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		l.buckets[key] = b
		return 0
	}
	l.buckets[key] = b
	return time.Duration(math.Ceil((1 - b.tokens) / l.rate))
}

// level is b's tokens at now.
func (l *Limiter[K]) level(b bucket, now int64) float64 {
	if elapsed := now - b.at; elapsed > 0 {
		return min(l.burst, b.tokens+float64(elapsed)*l.rate)
	}
	return b.tokens
}

// sweep makes room: first every full bucket (dropping one changes
// nothing), then, if that was not a quarter of the bound, arbitrary ones.
// It runs at most once per maxKeys/4 new keys, so its cost spreads thin.
func (l *Limiter[K]) sweep(now int64) {
	for k, b := range l.buckets {
		if l.level(b, now) >= l.burst {
			delete(l.buckets, k)
		}
	}
	target := l.maxKeys - max(1, l.maxKeys/4)
	for k := range l.buckets { // map order is random: no key is favoured
		if len(l.buckets) <= target {
			break
		}
		delete(l.buckets, k)
	}
}

// Len is the number of buckets kept.
func (l *Limiter[K]) Len() int {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}

// RetryAfter is a Retry-After header value for a wait: whole seconds,
// rounded up, at least 1 (a client told 0 would retry at once).
func RetryAfter(wait time.Duration) string {
	s := int64(math.Ceil(wait.Seconds()))
	return strconv.FormatInt(max(s, 1), 10)
}
