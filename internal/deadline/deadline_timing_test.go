package deadline

import (
	"context"
	"testing"
	"time"
)

// BenchmarkAfter is a request's context from the clock; WithTimeout is
// what it replaces.
func BenchmarkAfter(b *testing.B) {
	c := NewClock(0)
	b.ReportAllocs()
	for b.Loop() {
		ctx := c.After(15 * time.Second)
		if ctx.Err() != nil {
			b.Fatal(ctx.Err())
		}
	}
}

func BenchmarkWithTimeout(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		_ = ctx.Done()
		cancel()
	}
}
