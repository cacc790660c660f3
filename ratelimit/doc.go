// Package ratelimit is a keyed token-bucket limiter: one bucket per key (an
// app, a consumer, a client address), refilled at a steady rate up to a
// burst. Its clock is injected, so a test of a one-minute refill runs in
// microseconds, and the number of keys it keeps is bounded: a bucket that
// has refilled to its burst is the same as no bucket and is swept first;
// past the bound, arbitrary buckets are dropped (each drop can give its key
// at most one burst more, never lock a key out).
package ratelimit
