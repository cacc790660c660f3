package config

import (
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"
)

// Limits bound what one client can take of the public listener. Their
// defaults are set before the file and the environment are read, so an
// explicit 0 stays 0 (a cap or a rate of 0 is off).
type Limits struct {
	// MaxConns caps the open connections of the public listeners together;
	// past it new connections are closed at once (shed). 0: derived from
	// the process's open-file limit, leaving room for the store, AXP and
	// webhook connections and the admin listener.
	MaxConns int `yaml:"max_conns"`
	// MaxConnsPerIP caps the open connections of one client address; 0 is
	// no cap. Addresses in TrustedProxies are not capped.
	MaxConnsPerIP int `yaml:"max_conns_per_ip"`
	// TrustedProxies are the addresses or CIDR prefixes of load balancers in
	// front of the proxy: their connections are not capped per address, and
	// the client address of a request from one is taken from
	// X-Forwarded-For (the last address that is not itself trusted).
	TrustedProxies []string `yaml:"trusted_proxies"`
	// IdleTimeout closes a keep-alive connection that sends no new request.
	IdleTimeout time.Duration `yaml:"idle_timeout"`
	// ReadTimeout bounds reading one request, head and body (a client that
	// stops half-way is dropped after it).
	ReadTimeout time.Duration `yaml:"read_timeout"`
	// MaxHeaderBytes bounds a request's head (request line and headers).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// Rate limits requests; each answers 429 with Retry-After in its face's
	// format.
	Rate RateLimits `yaml:"rate"`
}

// RateLimits are the token buckets of the faces.
type RateLimits struct {
	// App: Connector API calls per app (ConsumerJWS, CONVERSATION, SEND).
	App Rate `yaml:"app"`
	// Consumer: CONVERSATION and SEND calls per consumer.
	Consumer Rate `yaml:"consumer"`
	// Init: POST /api/customer/init per client address.
	Init Rate `yaml:"init"`
	// SocketIO: new Engine.IO sessions (handshakes) per client address.
	SocketIO Rate `yaml:"socketio"`
}

// Rate is a token bucket: PerSecond steady, Burst at once. PerSecond 0
// turns it off.
type Rate struct {
	PerSecond float64 `yaml:"per_second"`
	Burst     int     `yaml:"burst"`
}

// Bounds of Limits.MaxHeaderBytes. The floor leaves room for an AppJWT and
// the largest ConsumerJWS the proxy issues (auth.MaxExtConsumerIDBytes) with
// the usual headers, so a token it gives out is always accepted back.
const (
	MinHeaderBytes = 8 << 10
	MaxHeaderBytes = 1 << 20
)

// DefaultLimits are generous: a stock Node server's 16 KiB head, idle
// connections closed after a minute; the connection cap of the whole
// listener follows the open-file limit. They stop one client from taking
// the process, not traffic. The cap per address and the rate limits are
// off: an app is a whole messaging platform's traffic, and a sidecar's
// clients often all come from its chat server's address (a widget's
// sockets too, through it), so a cap of a thousand per address would shed
// the thousand-and-first customer. An operator sets them for what faces
// the internet (the README and the Kubernetes manifests give values).
func DefaultLimits() Limits {
	return Limits{
		IdleTimeout:    60 * time.Second,
		ReadTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
	}
}

// TrustedPrefixes parses TrustedProxies (validated by Validate).
func (l Limits) TrustedPrefixes() []netip.Prefix {
	out := make([]netip.Prefix, 0, len(l.TrustedProxies))
	for _, s := range l.TrustedProxies {
		if p, err := parsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parsePrefix takes an address (one host) or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, err
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func (l Limits) check(bad func(field, format string, args ...any)) {
	if l.MaxConns < 0 {
		bad("limits.max_conns", "must be 0 (from the open-file limit) or more, got %d", l.MaxConns)
	}
	if l.MaxConnsPerIP < 0 {
		bad("limits.max_conns_per_ip", "must be 0 (no cap) or more, got %d", l.MaxConnsPerIP)
	}
	for i, s := range l.TrustedProxies {
		if _, err := parsePrefix(s); err != nil {
			bad(fmt.Sprintf("limits.trusted_proxies[%d]", i), "must be an IP address or a CIDR prefix, got %q", s)
		}
	}
	if l.IdleTimeout < time.Second {
		bad("limits.idle_timeout", "must be at least 1s, got %s", l.IdleTimeout)
	}
	if l.ReadTimeout < time.Second {
		bad("limits.read_timeout", "must be at least 1s, got %s", l.ReadTimeout)
	}
	if l.MaxHeaderBytes < MinHeaderBytes || l.MaxHeaderBytes > MaxHeaderBytes {
		bad("limits.max_header_bytes", "must be %d to %d bytes (the largest token the proxy issues must fit), got %d",
			MinHeaderBytes, MaxHeaderBytes, l.MaxHeaderBytes)
	}
	for _, nr := range []struct {
		name string
		r    Rate
	}{{"app", l.Rate.App}, {"consumer", l.Rate.Consumer}, {"init", l.Rate.Init}, {"socketio", l.Rate.SocketIO}} {
		f, r := "limits.rate."+nr.name, nr.r
		switch {
		case r.PerSecond < 0 || math.IsNaN(r.PerSecond) || math.IsInf(r.PerSecond, 0):
			bad(f+".per_second", "must be 0 (off) or a positive number, got %v", r.PerSecond)
		case r.PerSecond > 0 && r.Burst < 1:
			bad(f+".burst", "must be at least 1 when per_second is set, got %d", r.Burst)
		}
	}
}
