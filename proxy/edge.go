package proxy

import (
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/customerchannel/socketio"
)

// The edge: what stands between a client's TCP connection and fasthttp.
//
//   - Accept survives running out of file descriptors: EMFILE, ENFILE,
//     ENOBUFS and ENOMEM are waited out with a backoff (5 ms doubling to
//     1 s), as net/http does, instead of ending Serve and the process.
//   - Past limits.max_conns open connections, or limits.max_conns_per_ip
//     from one address, a new connection is closed at once, before any
//     byte is read (shed): the client sees a reset and may retry, and the
//     proxy keeps descriptors for the store, AXP, webhooks and /readyz.
//   - Each connection remembers the first bytes of the request being read,
//     so that a request whose head is too big to parse is still refused in
//     the format of the face its path names, and, once refused, is closed
//     gently: the write side first, then what the client is still sending
//     is read and dropped (bounded), so that it can read the answer
//     instead of meeting a reset.

// Accept backoff bounds.
const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// Lingering close of a refused request: how much of the rest is read and
// dropped, and for how long at most.
const (
	lingerBytes = 16 << 20
	lingerTime  = 3 * time.Second
)

// requestStartBytes is how much of a request's first bytes a connection
// keeps: the method and enough of the path to tell the faces and their
// calls apart (for the refusals' route label).
const requestStartBytes = 160

// edgeMetrics are the public listeners' own series.
type edgeMetrics struct {
	open        prometheus.Gauge
	refused     *prometheus.CounterVec
	acceptErrs  *prometheus.CounterVec
	timeouts    *prometheus.CounterVec
	refusals    *prometheus.CounterVec
	connErrors  *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
}

func newEdgeMetrics(reg prometheus.Registerer) *edgeMetrics {
	m := &edgeMetrics{
		open: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_http_connections",
			Help: "Open connections on the public listeners (WebSockets included).",
		}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_http_connections_refused_total",
			Help: "Connections closed as soon as accepted: over limits.max_conns (max_conns) or over limits.max_conns_per_ip from one address (per_ip).",
		}, []string{"reason"}),
		acceptErrs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_http_accept_errors_total",
			Help: "Accept failures waited out with a backoff: out of file descriptors (fd_limit), of kernel memory (resources).",
		}, []string{"reason"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_http_connection_timeouts_total",
			Help: "Connections closed by a timeout: no new request within limits.idle_timeout (idle), a request not read within limits.read_timeout (read).",
		}, []string{"kind"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_http_refusals_total",
			Help: "Requests refused before reaching a face: head_too_large (431), body_too_large (413), timeout (408), malformed (400).",
		}, []string{"route", "reason"}),
		connErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_http_connection_errors_total",
			Help: "Connection-level errors the HTTP server reported (logged at debug, without their contents).",
		}, []string{"kind"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "connector_proxy_rate_limited_total",
			Help: "Requests answered 429 by a rate limit: app, consumer (Connector API), init, socketio (per client address).",
		}, []string{"limit"}),
	}
	reg.MustRegister(m.open, m.refused, m.acceptErrs, m.timeouts, m.refusals, m.connErrors, m.rateLimited)
	return m
}

// edgeGuard counts the open connections of all public listeners.
type edgeGuard struct {
	maxConns, perIP int // 0: no cap
	clients         clientAddrs
	m               *edgeMetrics

	mu     sync.Mutex
	open   int
	byAddr map[netip.Addr]int // by clientKey
}

func newEdgeGuard(maxConns, perIP int, trusted []netip.Prefix, m *edgeMetrics) *edgeGuard {
	return &edgeGuard{maxConns: maxConns, perIP: perIP, clients: clientAddrs{trusted: trusted}, m: m, byAddr: map[netip.Addr]int{}}
}

// admit takes a place for a connection from a, or says why there is none;
// key is what it counts against (invalid: the per-address cap does not
// apply, as for trusted proxies).
func (g *edgeGuard) admit(a netip.Addr) (key netip.Addr, reason string, ok bool) {
	if g.perIP > 0 && a.IsValid() && !g.clients.isTrusted(a) {
		key = clientKey(a)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.maxConns > 0 && g.open >= g.maxConns {
		return netip.Addr{}, "max_conns", false
	}
	if key.IsValid() {
		if g.byAddr[key] >= g.perIP {
			return netip.Addr{}, "per_ip", false
		}
		g.byAddr[key]++
	}
	g.open++
	g.m.open.Inc()
	return key, "", true
}

func (g *edgeGuard) release(key netip.Addr) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open--
	g.m.open.Dec()
	if key.IsValid() {
		if n := g.byAddr[key] - 1; n > 0 {
			g.byAddr[key] = n
		} else {
			delete(g.byAddr, key)
		}
	}
}

// edgeListener guards one public listener; tlsConf, when set, makes it
// serve TLS (the guard acts before the handshake, on the raw connection).
// With no guard (the admin listener) it only waits out accept errors.
type edgeListener struct {
	net.Listener
	g       *edgeGuard
	m       *edgeMetrics
	tlsConf *tls.Config
	log     *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}
	lastWarn  time.Time // only Accept's goroutine touches it
}

func newEdgeListener(ln net.Listener, g *edgeGuard, m *edgeMetrics, tlsConf *tls.Config, log *slog.Logger) *edgeListener {
	return &edgeListener{Listener: ln, g: g, m: m, tlsConf: tlsConf, log: log, closed: make(chan struct{})}
}

// Accept returns the next connection admitted by the guard. Running out of
// descriptors or kernel memory is waited out; only a closed or broken
// listener ends it.
func (l *edgeListener) Accept() (net.Conn, error) {
	delay := time.Duration(0)
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			reason, temporary := acceptErrorReason(err)
			if !temporary {
				return nil, err
			}
			l.m.acceptErrs.WithLabelValues(reason).Inc()
			delay = min(max(2*delay, acceptBackoffMin), acceptBackoffMax)
			if now := time.Now(); now.Sub(l.lastWarn) > time.Minute {
				l.lastWarn = now
				l.log.Warn("accept failed; waiting before accepting again (counted in connector_proxy_http_accept_errors_total)",
					"reason", reason, "err", err, "in", delay.String())
			}
			t := time.NewTimer(delay)
			select {
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			case <-t.C:
			}
			continue
		}
		delay = 0
		if l.g == nil {
			return c, nil
		}
		key, reason, ok := l.g.admit(remoteAddr(c))
		if !ok {
			l.g.m.refused.WithLabelValues(reason).Inc()
			_ = c.Close()
			continue
		}
		ec := &edgeConn{Conn: c, g: l.g, key: key}
		ec.fresh.Store(true)
		if l.tlsConf == nil {
			return ec, nil
		}
		// The wrapper sits above TLS, where the request's bytes are plain;
		// the guard's count is still released once, by the wrapper's Close.
		tc := tls.Server(c, l.tlsConf)
		ec.Conn = tc
		return &edgeTLSConn{edgeConn: ec, tls: tc}, nil
	}
}

// Close stops the listener and wakes an Accept waiting out a backoff.
func (l *edgeListener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.Listener.Close()
}

// acceptErrorReason says whether an Accept error is worth waiting out.
func acceptErrorReason(err error) (reason string, temporary bool) {
	switch {
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "fd_limit", true
	case errors.Is(err, syscall.ENOBUFS), errors.Is(err, syscall.ENOMEM):
		return "resources", true
	case errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EINTR):
		return "aborted", true
	}
	return "", false
}

func remoteAddr(c net.Conn) netip.Addr {
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// edgeConn is a public connection: it releases its place in the guard on
// Close, keeps the first bytes of the request being read, counts read
// timeouts, and closes gently after a refusal.
type edgeConn struct {
	net.Conn
	g   *edgeGuard
	key netip.Addr // what its place is counted against

	fresh    atomic.Bool // the next bytes read begin a request
	hijacked atomic.Bool // a WebSocket now: fasthttp is done with it
	detached atomic.Bool // the socket was handed to the Socket.IO poller
	linger   atomic.Bool // close gently: a refusal was written
	closed   atomic.Bool

	// Written by Read only while fresh, read by the error handler: both on
	// fasthttp's goroutine for the connection.
	start    [requestStartBytes]byte
	startLen int
}

// edgeTLSConn is an edgeConn over TLS; fasthttp recognises TLS by these
// two methods (ctx.IsTLS, which the Domain API reads).
type edgeTLSConn struct {
	*edgeConn
	tls *tls.Conn
}

func (c *edgeTLSConn) Handshake() error                     { return c.tls.Handshake() }
func (c *edgeTLSConn) ConnectionState() tls.ConnectionState { return c.tls.ConnectionState() }

func (c *edgeConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.fresh.Load() {
		c.fresh.Store(false)
		c.startLen = copy(c.start[:], p[:n])
	}
	if err != nil && !c.hijacked.Load() && errors.Is(err, os.ErrDeadlineExceeded) {
		kind := "read"
		if c.fresh.Load() {
			kind = "idle"
		}
		c.g.m.timeouts.WithLabelValues(kind).Inc()
	}
	return n, err
}

// requestPath is the path of the request whose first bytes were kept
// (without the query), or nil.
func (c *edgeConn) requestPath() []byte {
	b := c.start[:c.startLen]
	for len(b) > 0 && (b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	sp := indexByte(b, ' ')
	if sp < 0 {
		return nil
	}
	b = b[sp+1:]
	for i, ch := range b {
		if ch == ' ' || ch == '?' || ch == '\r' {
			return b[:i]
		}
	}
	return b
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

// Close releases the connection's place once; after a refusal it first
// shuts the write side and drops what the client still sends, bounded, so
// that the client reads the answer rather than a reset.
func (c *edgeConn) Close() error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	if c.linger.Load() {
		if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		}
		if c.Conn.SetReadDeadline(time.Now().Add(lingerTime)) == nil {
			_, _ = io.CopyN(io.Discard, c.Conn, lingerBytes)
		}
	}
	err := c.Conn.Close()
	if !c.detached.Load() { // a detached socket keeps its place until it closes
		c.g.release(c.key)
	}
	return err
}

var _ socketio.Detachable = (*edgeConn)(nil)

// TCPConn and Detach let the Socket.IO server's poller watch a WebSocket's
// socket itself (socketio.Detachable); its place in the guard is released
// when the WebSocket closes, not when fasthttp closes this wrapper.
func (c *edgeConn) TCPConn() *net.TCPConn {
	tc, _ := c.Conn.(*net.TCPConn) // nil over TLS
	return tc
}

// Detach implements socketio.Detachable.
func (c *edgeConn) Detach() func() {
	c.detached.Store(true)
	var once sync.Once
	return func() { once.Do(func() { c.g.release(c.key) }) }
}

// edgeOf finds the edgeConn under a fasthttp connection.
func edgeOf(c net.Conn) *edgeConn {
	switch ec := c.(type) {
	case *edgeConn:
		return ec
	case *edgeTLSConn:
		return ec.edgeConn
	}
	return nil
}

// connState follows fasthttp's view of each connection: after a response
// the next bytes begin a new request; a hijacked one is a WebSocket.
func connState(c net.Conn, s fasthttp.ConnState) {
	ec := edgeOf(c)
	if ec == nil {
		return
	}
	switch s {
	case fasthttp.StateIdle:
		ec.fresh.Store(true)
	case fasthttp.StateHijacked:
		ec.hijacked.Store(true)
	}
}

// edge is the edge's metrics, registered on first use (the faces are
// provisioned before the listeners, and both need them).
func (p *Proxy) edge() *edgeMetrics {
	if p.edgeM == nil {
		p.edgeM = newEdgeMetrics(p.reg)
	}
	return p.edgeM
}

// rateLimits are the faces' limits from limits.rate, built once.
func (p *Proxy) rateLimits() *rateLimits {
	if p.limits == nil {
		l := newRateLimits(p.cfg.Limits.Rate, clientAddrs{trusted: p.cfg.Limits.TrustedPrefixes()}, p.edge())
		p.limits = &l
	}
	return p.limits
}

// maxConns is limits.max_conns, or, when 0, what the open-file limit
// leaves once a reserve is kept for everything else the process opens (the
// store, AXP and webhook connections, Redis, the admin listener, the demo
// simulator): a tenth of the limit, at least 128 and at most 4096.
func maxConns(configured int, log *slog.Logger) int {
	if configured > 0 {
		return configured
	}
	limit := fdLimit()
	if limit <= 0 {
		return 0 // unknown here: accept errors are waited out
	}
	n := max(limit-min(max(limit/10, 128), 4096), 16)
	log.Info("public connections capped from the open-file limit", "max_conns", n, "open_file_limit", limit)
	return n
}

// subscriptionCheck is the result of the last AXP subscription check.
type subscriptionCheck struct{ err error }
