package socketio

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

const (
	transportPolling   = "polling"
	transportWebSocket = "websocket"
)

// Socket states.
const (
	sockNone       = iota // no CONNECT yet
	sockConnecting        // CONNECT is being authenticated
	sockConnected
	sockGone
)

// Packets the server sends as they are; never modified.
var (
	pktPing      = []byte{eioPing}
	pktClose     = []byte{eioClose}
	pktNoop      = []byte{eioNoop}
	pktPongProbe = []byte("3probe")
	pktSockBye   = []byte("41")
)

// Conn is one client: an Engine.IO session and its Socket.IO connection to
// the default namespace. Its methods are safe for concurrent use.
type Conn struct {
	srv *Server
	sid string // Engine.IO session id
	// handshake is what Options.Handshake read from the handshake request;
	// set before the connection is shared.
	handshake string

	mu        sync.Mutex
	transport string
	queue     [][]byte // encoded Engine.IO packets waiting for a transport
	closing   bool     // deliver the queue, then close
	closed    bool
	reason    string
	awaitPong bool
	heartbeat *time.Timer
	deadline  *time.Timer // CONNECT timeout, then the linger of a closing polling session

	// polling
	pollWaiting bool          // a GET is pending
	posting     bool          // a POST is being read
	upgrading   bool          // a WebSocket probe succeeded, "5" not yet received
	notify      chan struct{} // wakes the pending GET
	// websocket
	ws         *wsConn
	probe      *wsConn     // the WebSocket being upgraded to
	probeStep  int         // 0: "2probe" awaited, 1: "5" awaited
	probeTimer *time.Timer // UpgradeTimeout of the probe
	writing    bool        // the writer goroutine runs

	closedCh chan struct{} // closed with the session

	// Socket.IO
	sock      int
	id        string // Socket.IO sid
	data      any
	values    map[string]any
	connected time.Time
	done      chan struct{} // closed when the socket disconnects
	nextAck   int64
	acks      map[int64]func(args []json.RawMessage)
	work      []workItem
	working   bool
	// reading counts the poller's readers feeding this session now: work
	// they queue is run by the last of them once it has read all, in its
	// own goroutine, instead of in a goroutine started for it.
	reading int
}

// workItem is one piece of the worker's queue: an event or ack packet for
// its handler (no closure made per packet), or a function.
type workItem struct {
	f     func()
	h     EventHandler
	p     packet
	event bool // dispatch p to h; else onAck(p) when f is nil
}

// run does the item.
func (c *Conn) run(w *workItem) {
	switch {
	case w.f != nil:
		w.f()
	case w.event:
		c.dispatch(w.h, w.p)
	default:
		c.onAck(w.p)
	}
}

func (s *Server) newConn(transport string) *Conn {
	return &Conn{
		srv:       s,
		sid:       newID(),
		transport: transport,
		notify:    make(chan struct{}, 1),
		closedCh:  make(chan struct{}),
		done:      make(chan struct{}),
	}
}

// start arms the heartbeat and the CONNECT timeout.
func (c *Conn) start() {
	c.mu.Lock()
	c.heartbeat = time.AfterFunc(c.srv.opts.PingInterval, c.onHeartbeat)
	c.deadline = time.AfterFunc(c.srv.opts.ConnectTimeout, c.onConnectTimeout)
	c.mu.Unlock()
	c.srv.opts.Metrics.addConn(c.transport, 1)
}

// ID returns the Socket.IO sid (not the Engine.IO one).
func (c *Conn) ID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.id
}

// Transport returns "polling" or "websocket"; it changes on upgrade.
func (c *Conn) Transport() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.transport
}

// Data returns what Authenticate returned.
func (c *Conn) Data() any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.data
}

// Handshake returns what Options.Handshake read from the request that
// opened the connection ("" without it).
func (c *Conn) Handshake() string { return c.handshake }

// ConnectedAt returns when CONNECT was accepted (Options.Now).
func (c *Conn) ConnectedAt() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.connected
}

// SetValue stores v under key for the life of the connection.
func (c *Conn) SetValue(key string, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.values == nil {
		c.values = make(map[string]any, 2)
	}
	c.values[key] = v
}

// Value returns what SetValue stored under key, or nil.
func (c *Conn) Value(key string) any {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.values[key]
}

// Done is closed when the client is disconnected.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Emit queues event with args for the client without blocking. A full queue
// closes the connection and returns ErrQueueFull.
func (c *Conn) Emit(event string, args ...any) error {
	return c.emit(event, -1, args)
}

// EmitWithAck is Emit asking the client for an ack; ack runs on the
// connection's worker with the client's arguments. It is never called if the
// connection closes first.
func (c *Conn) EmitWithAck(event string, ack func(args []json.RawMessage), args ...any) error {
	c.mu.Lock()
	if c.sock != sockConnected {
		c.mu.Unlock()
		return ErrClosed
	}
	id := c.nextAck
	c.nextAck++
	if c.acks == nil {
		c.acks = make(map[int64]func([]json.RawMessage), 1)
	}
	c.acks[id] = ack
	c.mu.Unlock()
	if err := c.emit(event, id, args); err != nil {
		c.mu.Lock()
		delete(c.acks, id)
		c.mu.Unlock()
		return err
	}
	return nil
}

func (c *Conn) emit(event string, id int64, args []any) error {
	pkt, err := appendMessage(nil, sioEvent, id, event, args)
	if err != nil {
		return err
	}
	c.mu.Lock()
	if c.sock != sockConnected {
		c.mu.Unlock()
		return ErrClosed
	}
	c.mu.Unlock()
	return c.send(pkt)
}

// Disconnect sends DISCONNECT and closes the connection once it is written.
// socket.io-client does not reconnect after it.
func (c *Conn) Disconnect() error {
	c.mu.Lock()
	if c.sock != sockConnected {
		c.mu.Unlock()
		return ErrClosed
	}
	c.mu.Unlock()
	if err := c.send(pktSockBye); err != nil {
		return err
	}
	c.closeGracefully("server namespace disconnect")
	return nil
}

// send queues one encoded Engine.IO packet; a full queue closes the session.
func (c *Conn) send(pkt []byte) error { return c.queue1(pkt, true) }

// queue1 queues pkt, handing the queue to the transport when kick (else
// the caller flushes it).
func (c *Conn) queue1(pkt []byte, kick bool) error {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return ErrClosed
	}
	if len(c.queue) >= c.srv.opts.WriteQueue {
		c.mu.Unlock()
		c.srv.opts.Metrics.event("emit", ResultOverflow)
		c.srv.opts.Logger.Warn("socketio: client too slow, disconnecting", "sid", c.sid)
		c.terminate("write queue full")
		return ErrQueueFull
	}
	c.queue = append(c.queue, pkt)
	if kick {
		c.kickLocked()
	}
	c.mu.Unlock()
	return nil
}

// flush hands the queue to the transport; a WebSocket with no writer
// running is written by the calling goroutine.
func (c *Conn) flush() {
	c.mu.Lock()
	ws := c.ws
	if c.transport != transportWebSocket || c.writing || ws == nil || c.closed {
		c.kickLocked()
		c.mu.Unlock()
		return
	}
	c.writing = true
	c.mu.Unlock()
	c.writeQueue(ws)
}

// kickLocked hands the queue to the transport: it wakes the pending GET or
// starts the WebSocket writer.
func (c *Conn) kickLocked() {
	if c.transport == transportPolling {
		select {
		case c.notify <- struct{}{}:
		default:
		}
		return
	}
	if !c.writing && c.ws != nil && !c.closed {
		c.writing = true
		c.srv.goStart()
		go c.writeLoop(c.ws)
	}
}

// maxWriteBatch bounds the frames joined into one write.
const maxWriteBatch = 64 << 10

// writeLoop writes the queue to the WebSocket until it is empty, then ends:
// an idle connection has no writer goroutine and no write buffer. Queued
// packets leave as frames joined in one write.
func (c *Conn) writeLoop(ws *wsConn) {
	defer c.srv.goDone()
	c.writeQueue(ws)
}

// maxKeptQueue bounds the write queue's array kept between writes.
const maxKeptQueue = 4

// writeQueue writes the queue until it is empty; the caller set writing.
func (c *Conn) writeQueue(ws *wsConn) {
	var batch [][]byte
	for {
		c.mu.Lock()
		if c.closed {
			c.writing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.writing = false
			if c.queue == nil && cap(batch) <= maxKeptQueue {
				c.queue = batch[:0] // kept for the next packet
			}
			closing := c.closing
			c.mu.Unlock()
			if closing {
				c.terminate(c.closeReason()) // sends the close frame
			}
			return
		}
		batch, c.queue = c.queue, batch[:0]
		c.mu.Unlock()
		if err := c.writeFrames(ws, batch); err != nil {
			c.mu.Lock()
			c.writing = false
			c.mu.Unlock()
			c.terminate("transport error")
			return
		}
		clear(batch)
	}
}

// writeFrames writes pkts as text frames, in writes of at most about
// maxWriteBatch bytes, from a pooled buffer.
func (c *Conn) writeFrames(ws *wsConn, pkts [][]byte) error {
	bufp := c.srv.writeBufs.Get().(*[]byte)
	defer func() {
		if cap(*bufp) <= maxWriteBatch*2 {
			c.srv.writeBufs.Put(bufp)
		}
	}()
	b := (*bufp)[:0]
	for i, p := range pkts {
		b = appendFrame(b, opText, p)
		if len(b) >= maxWriteBatch || i == len(pkts)-1 {
			if err := ws.write(b, c.srv.opts.WriteTimeout); err != nil {
				*bufp = b[:0]
				return err
			}
			b = b[:0]
		}
	}
	*bufp = b
	return nil
}

func (c *Conn) closeReason() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// onHeartbeat sends a ping, or closes the session when the last one went
// unanswered.
func (c *Conn) onHeartbeat() {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	if c.awaitPong {
		c.mu.Unlock()
		c.terminate("ping timeout")
		return
	}
	c.awaitPong = true
	c.heartbeat.Reset(c.srv.opts.PingTimeout)
	c.mu.Unlock()
	_ = c.send(pktPing)
}

func (c *Conn) onPong() {
	c.mu.Lock()
	if c.awaitPong && !c.closed {
		c.awaitPong = false
		c.heartbeat.Reset(c.srv.opts.PingInterval)
	}
	c.mu.Unlock()
}

func (c *Conn) onConnectTimeout() {
	c.mu.Lock()
	linger := c.closing
	waiting := c.sock != sockConnected && c.sock != sockGone
	c.mu.Unlock()
	switch {
	case linger:
		c.terminate(c.closeReason())
	case waiting:
		c.terminate("connect timeout")
	}
}

// closeGracefully disconnects the socket, lets the transport deliver what is
// queued (WebSocket: then a close frame; polling: then the close packet on
// the next GET, or after PingTimeout) and closes the session.
func (c *Conn) closeGracefully(reason string) {
	c.mu.Lock()
	if c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	c.closing = true
	c.reason = reason
	if c.transport == transportPolling {
		c.deadline.Reset(c.srv.opts.PingTimeout)
	}
	c.kickLocked() // the writer or the next GET finishes the close
	c.mu.Unlock()
	c.disconnectSocket(reason)
}

// terminate closes the session now: the transport is closed, a pending GET
// gets the close packet, the socket is disconnected.
func (c *Conn) terminate(reason string) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.closed = true
	if c.reason == "" {
		c.reason = reason
	} else {
		reason = c.reason
	}
	c.heartbeat.Stop()
	c.deadline.Stop()
	if c.probeTimer != nil {
		c.probeTimer.Stop()
	}
	ws, probe, transport := c.ws, c.probe, c.transport
	close(c.closedCh)
	c.mu.Unlock()

	c.srv.remove(c)
	c.srv.opts.Metrics.addConn(transport, -1)
	status := closeNormal
	if reason == "server shutting down" {
		status = closeGoingAway
	}
	for _, w := range []*wsConn{ws, probe} {
		if w != nil {
			w.close(status)
		}
	}
	c.srv.opts.Logger.Debug("socketio: session closed", "sid", c.sid, "reason", reason)
	c.disconnectSocket(reason)
}

// disconnectSocket ends the Socket.IO connection once: Done is closed and
// OnDisconnect is queued behind the pending events.
func (c *Conn) disconnectSocket(reason string) {
	c.mu.Lock()
	was := c.sock
	if was == sockGone {
		c.mu.Unlock()
		return
	}
	c.sock = sockGone
	c.acks = nil
	close(c.done)
	c.mu.Unlock()
	if was != sockConnected {
		return
	}
	c.srv.connected.Add(-1)
	c.srv.opts.Metrics.event("disconnect", ResultOK)
	if f := c.srv.onDisconnect; f != nil {
		c.schedule(func() { f(c, reason) }, true)
	}
}

// schedule queues f on the connection's worker; false when EventQueue
// entries already wait (unless force).
func (c *Conn) schedule(f func(), force bool) bool {
	return c.enqueue(workItem{f: f}, force)
}

// maxKeptWork bounds the work queue's array kept between bursts: an idle
// session keeps almost nothing.
const maxKeptWork = 4

// enqueue queues w on the worker, started unless one runs or a poller's
// reader of the session will run it when it has read all.
func (c *Conn) enqueue(w workItem, force bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !force && len(c.work) >= c.srv.opts.EventQueue {
		return false
	}
	c.work = append(c.work, w)
	if !c.working && c.reading == 0 {
		c.working = true
		c.srv.goStart()
		go c.runWork()
	}
	return true
}

// runWork is the worker goroutine.
func (c *Conn) runWork() {
	defer c.srv.goDone()
	c.runQueued()
}

// runQueued runs the queued work in order and returns when none is left;
// the caller set working.
func (c *Conn) runQueued() {
	for {
		c.mu.Lock()
		if len(c.work) == 0 {
			c.working = false
			if cap(c.work) > maxKeptWork {
				c.work = nil
			} else {
				c.work = c.work[:0]
			}
			c.mu.Unlock()
			return
		}
		w := c.work[0]
		n := copy(c.work, c.work[1:]) // the array stays for the next item
		c.work[n] = workItem{}
		c.work = c.work[:n]
		c.mu.Unlock()
		c.safely(&w)
	}
}

// readerStarts and readerEnds bracket a poller reader's feeding: work
// queued meanwhile is run by the last reader to end, in its goroutine,
// unless a worker already runs. An event and its ack then cost no
// goroutine of their own.
func (c *Conn) readerStarts() {
	c.mu.Lock()
	c.reading++
	c.mu.Unlock()
}

func (c *Conn) readerEnds() {
	c.mu.Lock()
	c.reading--
	run := c.reading == 0 && !c.working && len(c.work) > 0
	if run {
		c.working = true
	}
	c.mu.Unlock()
	if run {
		c.runQueued()
	}
}

// safely runs w; a panicking handler is logged, not fatal.
func (c *Conn) safely(w *workItem) {
	defer func() {
		if r := recover(); r != nil {
			c.srv.opts.Logger.Error("socketio: handler panicked", "sid", c.sid, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		}
	}()
	c.run(w)
}

// errStop ends the reading of a transport: the session is closed.
var errStop = errors.New("socketio: session closed")

// onEngine handles one Engine.IO packet from the client's transport. An
// error means the session was closed.
func (c *Conn) onEngine(raw []byte) error {
	typ, data, err := parseEIO(raw)
	if err != nil {
		return c.protocolError(err)
	}
	switch typ {
	case eioPong:
		c.onPong()
	case eioPing: // EIO3 habit; answering is harmless
		return c.send(append([]byte{eioPong}, data...))
	case eioMessage:
		p, err := decodePacketNamed(data, c.srv.names)
		if err != nil {
			return c.protocolError(err)
		}
		return c.onPacket(p)
	case eioClose:
		c.terminate("transport close")
		return errStop
	case eioNoop:
	default: // open, upgrade: not from a client on an open transport
		return c.protocolError(fmt.Errorf("%w: unexpected Engine.IO packet %q", ErrMalformed, typ))
	}
	return nil
}

// protocolError closes the session for a bad packet; binary ones are
// answered first (see the package documentation).
func (c *Conn) protocolError(err error) error {
	c.mu.Lock()
	connected := c.sock == sockConnected
	c.mu.Unlock()
	if errors.Is(err, ErrBinary) {
		c.srv.opts.Logger.Warn("socketio: binary packet refused", "sid", c.sid)
		if connected {
			_ = c.Emit("error", errorPayload{Message: ErrBinary.Error()[len("socketio: "):]})
			_ = c.send(pktSockBye)
			c.closeGracefully("binary packets are not supported")
			return errStop
		}
		c.terminate("binary packets are not supported")
		return errStop
	}
	c.srv.opts.Logger.Debug("socketio: malformed packet", "sid", c.sid, "err", err)
	c.terminate("parse error")
	return errStop
}

type errorPayload struct {
	Message string `json:"message"`
}

// onPacket handles one Socket.IO packet.
func (c *Conn) onPacket(p packet) error {
	c.mu.Lock()
	state := c.sock
	c.mu.Unlock()
	if p.typ == sioConnect {
		if p.nsp != "/" {
			c.srv.opts.Metrics.event("connect", ResultRefused)
			data, _ := json.Marshal(errorPayload{Message: "Invalid namespace"})
			return c.send(messagePacket(packet{typ: sioConnectError, nsp: p.nsp, id: -1, data: data}))
		}
		if state != sockNone {
			return nil // already connected or connecting
		}
		c.mu.Lock()
		c.sock = sockConnecting
		c.mu.Unlock()
		auth := p.data
		if auth == nil {
			auth = json.RawMessage("{}")
		}
		c.schedule(func() { c.connect(auth) }, true)
		return nil
	}
	if p.nsp != "/" || state == sockNone {
		return c.protocolError(fmt.Errorf("%w: packet type %d before CONNECT to %q", ErrMalformed, p.typ, p.nsp))
	}
	if state == sockGone {
		return nil
	}
	switch p.typ {
	case sioDisconnect:
		c.disconnectSocket("client namespace disconnect")
		c.terminate("client namespace disconnect")
		return errStop
	case sioEvent:
		if !c.enqueue(workItem{h: c.srv.handlers[p.event], p: p, event: true}, false) {
			c.srv.opts.Metrics.event(c.eventLabel(p.event), ResultDropped)
			c.srv.opts.Logger.Warn("socketio: event queue full, disconnecting", "sid", c.sid)
			c.terminate("event queue full")
			return errStop
		}
	case sioAck:
		// Acks share the event queue's bound: a client cannot grow the
		// queue by acking while a handler waits. An ack no EmitWithAck
		// waits for is dropped here, before it takes a place.
		c.mu.Lock()
		_, pending := c.acks[p.id]
		c.mu.Unlock()
		if !pending {
			c.srv.opts.Logger.Debug("socketio: ack for no pending id", "sid", c.sid, "id", p.id)
			return nil
		}
		if !c.enqueue(workItem{p: p}, false) {
			c.srv.opts.Metrics.event("ack", ResultDropped)
			c.srv.opts.Logger.Warn("socketio: event queue full, disconnecting", "sid", c.sid)
			c.terminate("event queue full")
			return errStop
		}
	default:
		return c.protocolError(fmt.Errorf("%w: packet type %d from a client", ErrMalformed, p.typ))
	}
	return nil
}

// messagePacket encodes p as the data of an Engine.IO message packet.
func messagePacket(p packet) []byte {
	b := appendPacket(make([]byte, 1, len(p.data)+len(p.nsp)+24), p)
	b[0] = eioMessage
	return b
}

func (c *Conn) eventLabel(event string) string {
	if _, ok := c.srv.handlers[event]; ok {
		return event
	}
	return eventUnknown
}

// connect runs Authenticate on the worker and answers CONNECT.
func (c *Conn) connect(auth json.RawMessage) {
	var data any
	if f := c.srv.opts.Authenticate; f != nil {
		var err error
		if data, err = f(c.srv.ctx, auth); err != nil {
			c.mu.Lock()
			if c.sock == sockConnecting {
				c.sock = sockNone
			}
			c.mu.Unlock()
			c.srv.opts.Metrics.event("connect", ResultRefused)
			msg, _ := json.Marshal(errorPayload{Message: err.Error()})
			_ = c.send(messagePacket(packet{typ: sioConnectError, id: -1, data: msg}))
			return
		}
	}
	id := newID()
	c.mu.Lock()
	if c.sock != sockConnecting || c.closed || c.closing {
		c.mu.Unlock()
		return
	}
	c.sock = sockConnected
	c.id, c.data, c.connected = id, data, c.srv.opts.Now()
	c.deadline.Stop()
	c.mu.Unlock()
	c.srv.connected.Add(1)
	c.srv.opts.Metrics.event("connect", ResultOK)
	if err := c.send([]byte(`40{"sid":"` + id + `"}`)); err != nil {
		return
	}
	if f := c.srv.onConnect; f != nil {
		f(c.srv.ctx, c)
	}
}

// dispatch runs the handler of an event on the worker. An ack the handler
// sends before it returns is written by this goroutine once it returns,
// when no writer runs: no writer goroutine is started for it.
func (c *Conn) dispatch(h EventHandler, p packet) {
	var ack Ack
	var st *ackState
	if p.id >= 0 {
		st = &ackState{}
		st.inline.Store(true)
		ack = c.ackFunc(p.id, st)
	}
	if h == nil {
		c.srv.opts.Metrics.event(eventUnknown, ResultUnknown)
		_ = c.Emit("error", errorPayload{Message: fmt.Sprintf("unknown event %q", p.event)})
		return
	}
	h(c.srv.ctx, c, p.args, ack)
	if st != nil {
		st.inline.Store(false)
		if st.held.Load() {
			c.flush()
		}
	}
	c.srv.opts.Metrics.event(p.event, ResultOK)
}

// ackState is what an ack knows of its event: whether it was sent, and
// whether its handler is still running (the worker then writes it).
type ackState struct {
	sent, inline, held atomic.Bool
}

func (c *Conn) ackFunc(id int64, st *ackState) Ack {
	return func(args ...any) error {
		if !st.sent.CompareAndSwap(false, true) {
			return ErrClosed
		}
		pkt, err := appendMessage(nil, sioAck, id, "", args)
		if err != nil {
			return err
		}
		c.mu.Lock()
		live := c.sock == sockConnected
		c.mu.Unlock()
		if !live {
			return ErrClosed
		}
		if st.inline.Load() {
			st.held.Store(true)
			return c.queue1(pkt, false)
		}
		return c.send(pkt)
	}
}

func (c *Conn) onAck(p packet) {
	c.mu.Lock()
	f := c.acks[p.id]
	delete(c.acks, p.id)
	c.mu.Unlock()
	if f != nil {
		f(p.args)
	}
}
