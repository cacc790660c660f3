package socketio

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"
)

// Errors returned by Conn methods.
var (
	// ErrClosed: the connection is not connected (closed, or not yet past
	// CONNECT), or the ack was already sent.
	ErrClosed = errors.New("socketio: connection closed")
	// ErrQueueFull: the client did not keep up; the connection was closed.
	ErrQueueFull = errors.New("socketio: write queue full")
)

// Options configure a Server. Zero fields take the defaults shown.
type Options struct {
	PingInterval time.Duration // 25s
	PingTimeout  time.Duration // 20s
	MaxPayload   int           // 1e6 bytes: a polling POST body or a WebSocket frame
	WriteQueue   int           // 64 packets waiting for a slow client, then it is disconnected
	// AllowedOrigins for cross-origin polling and WebSocket: "scheme://host[:port]"
	// entries or "*". Empty allows same-origin requests (and requests without
	// Origin) only.
	AllowedOrigins []string
	// Authenticate maps CONNECT's auth payload ({} when the client sent none)
	// to the connection's data; an error is sent as CONNECT_ERROR
	// {"message": err.Error()}. Nil accepts every client with nil data.
	Authenticate func(ctx context.Context, auth json.RawMessage) (any, error)
	Metrics      *Metrics // nil counts nothing
	Logger       *slog.Logger
	Now          func() time.Time // stamps Conn.ConnectedAt; timers use durations

	EventQueue     int           // 64 inbound events waiting for a handler, then the client is disconnected
	ConnectTimeout time.Duration // 45s from the handshake to CONNECT
	UpgradeTimeout time.Duration // 10s from the WebSocket probe request to "5"
	WriteTimeout   time.Duration // 10s for one WebSocket write

	// Handshake, when set, reads what a connection keeps of its handshake
	// request's headers (its trace context), for Conn.Handshake.
	Handshake func(h *fasthttp.RequestHeader) string
}

func (o *Options) defaults() {
	setDur := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	setDur(&o.PingInterval, 25*time.Second)
	setDur(&o.PingTimeout, 20*time.Second)
	setDur(&o.ConnectTimeout, 45*time.Second)
	setDur(&o.UpgradeTimeout, 10*time.Second)
	setDur(&o.WriteTimeout, 10*time.Second)
	if o.MaxPayload <= 0 {
		o.MaxPayload = 1e6
	}
	if o.WriteQueue <= 0 {
		o.WriteQueue = 64
	}
	if o.EventQueue <= 0 {
		o.EventQueue = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// EventHandler handles one client event. args are the event's arguments;
// ack is nil when the client asked for none.
type EventHandler func(ctx context.Context, c *Conn, args []json.RawMessage, ack Ack)

// Ack answers a client's event; it may be called once, from any goroutine.
type Ack func(args ...any) error

// Server is a Socket.IO server. Register handlers, then mount Handler.
type Server struct {
	opts         Options
	handlers     map[string]EventHandler
	names        map[string]string // the handlers' event names, each to itself
	onConnect    func(ctx context.Context, c *Conn)
	onDisconnect func(c *Conn, reason string)
	open         []byte // the constant part of the open packet

	// Buffers lent to a WebSocket reader or writer while it runs.
	readBufs, writeBufs sync.Pool
	// readers hands a ready WebSocket to a reader parked after its last
	// drain (see ready).
	readers chan *wsConn
	parked  atomic.Int32 // readers waiting on readers

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	conns   map[string]*Conn // by Engine.IO sid
	running int              // goroutines started by the server
	idle    *sync.Cond       // signalled when running drops to 0
	poller  *poller          // started with the first WebSocket
	noPoll  bool             // the poller could not be made

	connected atomic.Int64
}

// NewServer returns a server with opts (defaults filled in).
func NewServer(opts Options) *Server {
	opts.defaults()
	s := &Server{
		opts:     opts,
		handlers: make(map[string]EventHandler),
		names:    make(map[string]string),
		conns:    make(map[string]*Conn),
		readers:  make(chan *wsConn),
	}
	s.idle = sync.NewCond(&s.mu)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.readBufs.New = func() any { b := make([]byte, 16<<10); return &b }
	s.writeBufs.New = func() any { b := make([]byte, 0, 4<<10); return &b }
	open, _ := json.Marshal(struct {
		PingInterval int64 `json:"pingInterval"`
		PingTimeout  int64 `json:"pingTimeout"`
		MaxPayload   int   `json:"maxPayload"`
	}{opts.PingInterval.Milliseconds(), opts.PingTimeout.Milliseconds(), opts.MaxPayload})
	s.open = open[1:] // without "{": the sid and upgrades go first
	return s
}

// Context is the context the handlers run under; Close cancels it.
func (s *Server) Context() context.Context { return s.ctx }

// On registers the handler of event; call it before serving.
func (s *Server) On(event string, h EventHandler) {
	s.handlers[event] = h
	s.names[event] = event
}

// OnConnect registers a function run on a connection's worker once its
// CONNECT is accepted, before any of its events; call it before serving.
func (s *Server) OnConnect(f func(ctx context.Context, c *Conn)) { s.onConnect = f }

// OnDisconnect registers a function run once when a connected client goes,
// after its pending events; call it before serving.
func (s *Server) OnDisconnect(f func(c *Conn, reason string)) { s.onDisconnect = f }

// Len returns the number of connected Socket.IO clients (past CONNECT).
func (s *Server) Len() int { return int(s.connected.Load()) }

// Close refuses new sessions, closes every transport (without DISCONNECT,
// so that clients reconnect elsewhere), cancels the handlers' context and
// waits for every goroutine the server started. Shut the fasthttp server
// down first so that no request is being served.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	conns := make([]*Conn, 0, len(s.conns))
	for _, c := range s.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	s.cancel()
	for _, c := range conns {
		c.terminate("server shutting down")
	}
	s.mu.Lock()
	p := s.poller
	s.mu.Unlock()
	if p != nil {
		p.close()
	}
	s.mu.Lock()
	for s.running > 0 {
		s.idle.Wait()
	}
	s.mu.Unlock()
	return nil
}

// poll returns the server's poller, started on first use; nil where there
// is none (WebSockets are then read by a goroutine each) or once the
// server is closed.
func (s *Server) poll() *poller {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poller != nil || s.noPoll || s.closed {
		return s.poller
	}
	p, err := newPoller()
	if err != nil {
		s.noPoll = true
		s.opts.Logger.Warn("socketio: no event-driven WebSockets, one goroutine each", "err", err)
		return nil
	}
	s.poller = p
	go p.run(s.ready)
	return p
}

// goStart counts a goroutine the server starts; goDone ends it.
func (s *Server) goStart() {
	s.mu.Lock()
	s.running++
	s.mu.Unlock()
}

func (s *Server) goDone() {
	s.mu.Lock()
	s.running--
	if s.running == 0 {
		s.idle.Broadcast()
	}
	s.mu.Unlock()
}

func (s *Server) lookup(sid []byte) *Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns[string(sid)]
}

func (s *Server) remove(c *Conn) {
	s.mu.Lock()
	delete(s.conns, c.sid)
	s.mu.Unlock()
}

// register adds a new session; false once the server is closed.
func (s *Server) register(c *Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[c.sid] = c
	return true
}

// Engine.IO error codes of the Node server.
const (
	errTransportUnknown = iota
	errSessionUnknown
	errBadHandshakeMethod
	errBadRequest
	errForbidden
	errUnsupportedProtocol
)

var errMessages = [...]string{
	"Transport unknown", "Session ID unknown", "Bad handshake method",
	"Bad request", "Forbidden", "Unsupported protocol version",
}

func engineError(ctx *fasthttp.RequestCtx, status, code int) {
	ctx.Response.Header.SetContentType("application/json")
	ctx.SetStatusCode(status)
	ctx.SetBodyString(`{"code":` + strconv.Itoa(code) + `,"message":"` + errMessages[code] + `"}`)
}

// Handler serves Engine.IO requests; mount it at /socket.io/ (the path is
// not checked).
func (s *Server) Handler(ctx *fasthttp.RequestCtx) {
	if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 {
		if !s.originAllowed(ctx) {
			engineError(ctx, fasthttp.StatusForbidden, errForbidden)
			return
		}
		if !sameHost(origin, ctx.Host()) {
			h := &ctx.Response.Header
			h.SetBytesV("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			h.Add("Vary", "Origin")
		}
	}
	if ctx.IsOptions() {
		h := &ctx.Response.Header
		h.Set("Access-Control-Allow-Methods", "GET,HEAD,PUT,PATCH,POST,DELETE")
		if rh := ctx.Request.Header.Peek("Access-Control-Request-Headers"); len(rh) > 0 {
			h.SetBytesV("Access-Control-Allow-Headers", rh)
		}
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	args := ctx.QueryArgs()
	if string(args.Peek("EIO")) != "4" {
		engineError(ctx, fasthttp.StatusBadRequest, errUnsupportedProtocol)
		return
	}
	sid := args.Peek("sid")
	switch string(args.Peek("transport")) {
	case transportPolling:
		if len(sid) == 0 {
			if !ctx.IsGet() {
				engineError(ctx, fasthttp.StatusBadRequest, errBadHandshakeMethod)
				return
			}
			s.handshakePolling(ctx)
			return
		}
		c := s.lookup(sid)
		if c == nil {
			engineError(ctx, fasthttp.StatusBadRequest, errSessionUnknown)
			return
		}
		switch {
		case ctx.IsGet():
			c.servePoll(ctx)
		case ctx.IsPost():
			c.servePost(ctx)
		default:
			engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		}
	case transportWebSocket:
		if !isWebSocketUpgrade(ctx) {
			engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
			return
		}
		if len(sid) == 0 {
			s.handshakeWebSocket(ctx)
			return
		}
		c := s.lookup(sid)
		if c == nil {
			engineError(ctx, fasthttp.StatusBadRequest, errSessionUnknown)
			return
		}
		c.serveUpgrade(ctx)
	default:
		engineError(ctx, fasthttp.StatusBadRequest, errTransportUnknown)
	}
}

// originAllowed: no Origin, the request's own host, a listed origin or "*".
func (s *Server) originAllowed(ctx *fasthttp.RequestCtx) bool {
	origin := ctx.Request.Header.Peek("Origin")
	if len(origin) == 0 || sameHost(origin, ctx.Host()) {
		return true
	}
	for _, o := range s.opts.AllowedOrigins {
		// A configured entry may end in "/"; an Origin header never does
		// (the customer channel face's CORS reads the list the same way).
		if o == "*" || strings.TrimRight(o, "/") == string(origin) {
			return true
		}
	}
	return false
}

func sameHost(origin, host []byte) bool {
	u, err := url.Parse(string(origin))
	return err == nil && u.Host != "" && bytes.EqualFold([]byte(u.Host), host)
}

// openPacket encodes the Engine.IO handshake.
func (s *Server) openPacket(sid string, upgrades bool) []byte {
	b := make([]byte, 0, 128)
	b = append(b, `0{"sid":"`...)
	b = append(b, sid...)
	if upgrades {
		b = append(b, `","upgrades":["websocket"],`...)
	} else {
		b = append(b, `","upgrades":[],`...)
	}
	return append(b, s.open...)
}

// newID returns a random URL-safe id of 20 characters.
func newID() string {
	var b [15]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}
