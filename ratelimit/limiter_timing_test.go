package ratelimit

import (
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// BenchmarkWaitKnownKey is the usual call: a key seen before, allowed.
func BenchmarkWaitKnownKey(b *testing.B) {
	l := New[string](Options{Rate: 1e12, Burst: 1 << 30})
	l.Wait("client-id")
	b.ReportAllocs()
	for b.Loop() {
		if l.Wait("client-id") != 0 {
			b.Fatal("refused")
		}
	}
}

// BenchmarkWaitAddr keys by client address, as init and Socket.IO do.
func BenchmarkWaitAddr(b *testing.B) {
	l := New[netip.Addr](Options{Rate: 1e12, Burst: 1 << 30})
	a := netip.MustParseAddr("192.0.2.7")
	b.ReportAllocs()
	for b.Loop() {
		l.Wait(a)
	}
}

// BenchmarkWaitNewKeys is a flood of distinct keys at the bound: the sweep
// cost, spread over the calls.
func BenchmarkWaitNewKeys(b *testing.B) {
	keys := make([]string, 1<<16)
	for i := range keys {
		keys[i] = strconv.Itoa(i)
	}
	l := New[string](Options{Rate: 1, Burst: 1, MaxKeys: 10_000, Now: func() time.Time { return time.Unix(0, 0) }})
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		l.Wait(keys[i&(len(keys)-1)])
		i++
	}
}
