package proxy

import (
	"bytes"
	"net"
	"net/netip"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/ratelimit"
)

// clientKey is the address limits count a client by: IPv4 as is, IPv6 by
// its /64, which one subscriber usually holds whole (keyed by /128, one
// host could make itself 2^64 clients).
func clientKey(a netip.Addr) netip.Addr {
	a = a.Unmap()
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			return p.Addr()
		}
	}
	return a
}

// clientAddrs finds a request's client address.
type clientAddrs struct{ trusted []netip.Prefix }

func (c clientAddrs) isTrusted(a netip.Addr) bool {
	for _, p := range c.trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// of is the peer's address, or, when the peer is a trusted proxy, the
// last X-Forwarded-For address that is not itself trusted (what a client
// writes to the left of its own address proves nothing). A list the proxy
// cannot read leaves the peer.
func (c clientAddrs) of(ctx *fasthttp.RequestCtx) netip.Addr {
	var peer netip.Addr
	if ta, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		peer = ta.AddrPort().Addr().Unmap()
	}
	if len(c.trusted) == 0 || !c.isTrusted(peer) {
		return peer
	}
	headers := ctx.Request.Header.PeekAll("X-Forwarded-For")
	last := peer
	for i := len(headers) - 1; i >= 0; i-- {
		h := headers[i]
		for len(h) > 0 {
			var hop []byte
			if j := bytes.LastIndexByte(h, ','); j >= 0 {
				hop, h = h[j+1:], h[:j]
			} else {
				hop, h = h, nil
			}
			a, err := netip.ParseAddr(string(bytes.TrimSpace(hop)))
			if err != nil {
				return peer
			}
			if a = a.Unmap(); !c.isTrusted(a) {
				return a
			}
			last = a
		}
	}
	return last // every hop trusted: the one furthest away
}

// rateLimits builds the faces' rate limits from limits.rate; a rate of 0
// gives a nil function (no limit). Refusals are counted by limit.
type rateLimits struct {
	app, consumer func(string) time.Duration
	init, socket  func(*fasthttp.RequestCtx) time.Duration
}

func newRateLimits(r config.RateLimits, clients clientAddrs, m *edgeMetrics) rateLimits {
	return rateLimits{
		app:      keyLimit(r.App, m.rateLimited.WithLabelValues("app")),
		consumer: keyLimit(r.Consumer, m.rateLimited.WithLabelValues("consumer")),
		init:     addrLimit(r.Init, clients, m.rateLimited.WithLabelValues("init")),
		socket:   addrLimit(r.SocketIO, clients, m.rateLimited.WithLabelValues("socketio")),
	}
}

type counter interface{ Inc() }

func keyLimit(r config.Rate, refused counter) func(string) time.Duration {
	l := ratelimit.New[string](ratelimit.Options{Rate: r.PerSecond, Burst: r.Burst})
	if l == nil {
		return nil
	}
	return func(key string) time.Duration {
		w := l.Wait(key)
		if w > 0 {
			refused.Inc()
		}
		return w
	}
}

func addrLimit(r config.Rate, clients clientAddrs, refused counter) func(*fasthttp.RequestCtx) time.Duration {
	l := ratelimit.New[netip.Addr](ratelimit.Options{Rate: r.PerSecond, Burst: r.Burst})
	if l == nil {
		return nil
	}
	return func(ctx *fasthttp.RequestCtx) time.Duration {
		w := l.Wait(clientKey(clients.of(ctx)))
		if w > 0 {
			refused.Inc()
		}
		return w
	}
}
