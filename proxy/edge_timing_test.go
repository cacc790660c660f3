package proxy

import (
	"net"
	"net/netip"
	"testing"

	"github.com/valyala/fasthttp"
)

// BenchmarkClientAddr is the client address of a request through a trusted
// balancer (X-Forwarded-For parsed) and of a direct one.
func BenchmarkClientAddr(b *testing.B) {
	c := clientAddrs{trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, bc := range []struct{ name, peer string }{{"behind a balancer", "10.1.2.3"}, {"direct", "198.51.100.7"}} {
		b.Run(bc.name, func(b *testing.B) {
			var ctx fasthttp.RequestCtx
			ctx.Init(&fasthttp.Request{}, &net.TCPAddr{IP: net.ParseIP(bc.peer), Port: 1}, nil)
			ctx.Request.Header.Set("X-Forwarded-For", "203.0.113.9, 10.0.0.7")
			b.ReportAllocs()
			for b.Loop() {
				if !c.of(&ctx).IsValid() {
					b.Fatal("no address")
				}
			}
		})
	}
}

// BenchmarkGuardAdmitRelease is the accounting of one connection.
func BenchmarkGuardAdmitRelease(b *testing.B) {
	g := newEdgeGuard(1<<20, 1000, nil, newEdgeMetrics(nopRegisterer{}))
	a := netip.MustParseAddr("198.51.100.7")
	b.ReportAllocs()
	for b.Loop() {
		key, _, ok := g.admit(a)
		if !ok {
			b.Fatal("refused")
		}
		g.release(key)
	}
}
