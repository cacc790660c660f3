package socketio

import (
	"bytes"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/valyala/fasthttp"
)

// A WebSocket is read event by event: on Linux, with a plain TCP
// connection, the hijacked socket is duplicated out of fasthttp (which then
// closes its copy and recycles its request context and buffers), and the
// server's poller starts a short-lived reader when bytes arrive. An idle
// WebSocket then holds no goroutine and no buffer: its framing state is
// nil between frames. Over TLS (crypto/tls must read the socket itself) or
// elsewhere, the hijacked connection keeps one reader goroutine. Writes go
// through the connection as a whole frame batch from the session's one
// writer (or a control frame), under wmu, each with a deadline.

// Detachable is a connection that wraps the TCP connection a listener
// accepted (a listener's own type, counting or guarding connections) and
// lets the server's poller watch the socket itself. TCPConn returns the
// socket (nil when there is none to take: over TLS, say); Detach is
// called once the poller holds its own copy of it: fasthttp closes the
// wrapper when the hijack handler returns, so the wrapper must then keep
// what it accounts for the connection, until the server calls release,
// once, when the WebSocket is closed.
type Detachable interface {
	TCPConn() *net.TCPConn
	Detach() (release func())
}

// errWouldBlock: the socket has nothing more to read now.
var errWouldBlock = errors.New("socketio: would block")

// wsConn is one WebSocket of a session: the session's transport or the
// probe of an upgrade.
type wsConn struct {
	c   *Conn
	nc  net.Conn        // writes and Close
	raw syscall.RawConn // event-driven reads; nil when a goroutine reads
	p   *poller         // the poller watching it, once it does
	id  uint64          // the poller's key

	pending atomic.Int32 // readiness events not yet drained

	frameReader        // touched by one reader at a time
	rr          rawIO  // the event-driven read, reused
	rw          rawIO  // the write without a deadline, reused
	release     func() // a Detachable's, once the socket is closed

	wmu    sync.Mutex // one frame batch on the wire at a time
	closed atomic.Bool
}

// acceptWebSocket checks the upgrade request (RFC 6455 §4.2.1) and sets the
// 101 answer; false when it answered an error instead.
func acceptWebSocket(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	key := h.Peek("Sec-WebSocket-Key")
	if !ctx.IsGet() || !headerHasToken(h.Peek("Sec-WebSocket-Version"), "13") || !validChallengeKey(key) {
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return false
	}
	// No extension is accepted: permessage-deflate, which browsers and
	// Node's ws offer, is declined by not answering it.
	ctx.SetStatusCode(fasthttp.StatusSwitchingProtocols)
	ctx.Response.Header.Set("Upgrade", "websocket")
	ctx.Response.Header.Set("Connection", "Upgrade")
	ctx.Response.Header.Set("Sec-WebSocket-Accept", acceptKey(key))
	return true
}

// isWebSocketUpgrade: Connection has the token upgrade and Upgrade the
// token websocket (both case-insensitive).
func isWebSocketUpgrade(ctx *fasthttp.RequestCtx) bool {
	h := &ctx.Request.Header
	return headerHasToken(h.Peek("Connection"), "upgrade") && headerHasToken(h.Peek("Upgrade"), "websocket")
}

// headerHasToken reports whether a comma-separated header value holds
// token, case-insensitively.
func headerHasToken(v []byte, token string) bool {
	for len(v) > 0 {
		var item []byte
		if i := bytes.IndexByte(v, ','); i >= 0 {
			item, v = v[:i], v[i+1:]
		} else {
			item, v = v, nil
		}
		if bytes.EqualFold(bytes.TrimSpace(item), []byte(token)) {
			return true
		}
	}
	return false
}

// handshakeWebSocket opens a session whose only transport is a WebSocket.
func (s *Server) handshakeWebSocket(ctx *fasthttp.RequestCtx) {
	if !acceptWebSocket(ctx) {
		return
	}
	var handshake string // read now: the request is gone once hijacked
	if h := s.opts.Handshake; h != nil {
		handshake = h(&ctx.Request.Header)
	}
	ctx.Hijack(func(hc net.Conn) {
		s.goStart()
		defer s.goDone()
		c := s.newConn(transportWebSocket)
		c.handshake = handshake
		ws, leftover := s.takeWebSocket(hc, c)
		if ws == nil {
			return
		}
		c.ws = ws
		if !s.register(c) {
			ws.close(closeGoingAway)
			return
		}
		c.start()
		if c.send(s.openPacket(c.sid, false)) != nil {
			ws.close(closeNormal)
			return
		}
		s.serveWebSocket(hc, ws, leftover)
	})
}

// serveUpgrade takes a WebSocket for a polling session: "2probe" is
// answered "3probe", the pending GET is released with a noop, and "5" makes
// the WebSocket the session's transport, which then flushes the queue (see
// onProbe).
func (c *Conn) serveUpgrade(ctx *fasthttp.RequestCtx) {
	c.mu.Lock()
	ok := !c.closed && !c.closing && c.transport == transportPolling && !c.upgrading && c.probe == nil
	c.mu.Unlock()
	if !ok {
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	}
	if !acceptWebSocket(ctx) {
		return
	}
	s := c.srv
	ctx.Hijack(func(hc net.Conn) {
		s.goStart()
		defer s.goDone()
		ws, leftover := s.takeWebSocket(hc, c)
		if ws == nil {
			return
		}
		c.mu.Lock()
		if c.closed || c.closing || c.transport != transportPolling || c.probe != nil {
			c.mu.Unlock()
			ws.close(closeNormal)
			return
		}
		c.probe = ws
		c.probeStep = 0
		c.probeTimer = time.AfterFunc(s.opts.UpgradeTimeout, func() { c.probeFailed(ws) })
		c.mu.Unlock()
		s.serveWebSocket(hc, ws, leftover)
	})
}

// takeWebSocket makes the WebSocket of a hijacked connection: event-driven
// when the poller can watch it (with the bytes the client sent after its
// handshake, already read by fasthttp), else read by serveWebSocket's
// goroutine. nil when the connection could not be taken (it is closed).
func (s *Server) takeWebSocket(hc net.Conn, c *Conn) (*wsConn, []byte) {
	ws := &wsConn{c: c, nc: hc}
	if u, ok := hc.(interface{ UnsafeConn() net.Conn }); ok {
		// fasthttp reuses its wrapper once the hijack handler returns;
		// writes may outlive it.
		ws.nc = u.UnsafeConn()
	}
	tc, ok := ws.nc.(*net.TCPConn)
	d, wrapped := ws.nc.(Detachable)
	if !ok && wrapped {
		tc = d.TCPConn()
		ok = tc != nil
	}
	if !ok || s.poll() == nil {
		return ws, nil
	}
	leftover, err := readBuffered(hc)
	if err != nil {
		s.opts.Logger.Debug("socketio: websocket read", "err", err)
		return nil, nil
	}
	f, err := tc.File()
	if err != nil {
		s.opts.Logger.Debug("socketio: websocket dup", "err", err)
		return ws, leftover // stay on the goroutine path
	}
	nc, err := net.FileConn(f)
	_ = f.Close()
	if err != nil {
		s.opts.Logger.Debug("socketio: websocket dup", "err", err)
		return ws, leftover
	}
	raw, err := nc.(syscall.Conn).SyscallConn()
	if err != nil {
		_ = nc.Close()
		return ws, leftover
	}
	ws.nc, ws.raw, ws.p = nc, raw, s.poll()
	if wrapped {
		ws.release = d.Detach()
	}
	return ws, leftover
}

// readBuffered returns what fasthttp read past the handshake request (a
// client may send frames before it sees the 101): with the deadline
// passed, reads return only buffered bytes.
func readBuffered(hc net.Conn) ([]byte, error) {
	if err := hc.SetReadDeadline(time.Unix(1, 0)); err != nil {
		return nil, err
	}
	var out []byte
	var buf [512]byte
	for {
		n, err := hc.Read(buf[:])
		out = append(out, buf[:n]...)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return out, nil
			}
			return nil, err
		}
	}
}

// serveWebSocket reads ws: with the poller, it hands ws over and returns
// (fasthttp then closes its copy of the socket); without, it reads in this
// goroutine until the WebSocket ends.
func (s *Server) serveWebSocket(hc net.Conn, ws *wsConn, leftover []byte) {
	if ws.raw != nil {
		if len(leftover) > 0 && ws.feed(leftover) != nil {
			return
		}
		if err := ws.p.add(ws); err != nil {
			s.opts.Logger.Debug("socketio: websocket poller", "err", err)
			ws.gone(closeGoingAway, "transport error")
		}
		return
	}
	_ = hc.SetReadDeadline(time.Time{})
	buf := make([]byte, 4096)
	for {
		n, err := hc.Read(buf)
		if n > 0 && ws.feed(buf[:n]) != nil {
			return
		}
		if err != nil {
			ws.gone(closeNormal, "transport close")
			return
		}
	}
}

// ready is the poller's callback: a reader starts unless one runs, which
// then reads the new bytes too. The reader is one parked after its last
// drain when there is one: a new goroutine's stack grew 2 KiB at a time
// down the handler's calls (10% of the CPU of acked typing events).
func (s *Server) ready(ws *wsConn) {
	if ws.pending.Add(1) == 1 {
		select {
		case s.readers <- ws:
		default:
			s.goStart()
			go s.reader(ws)
		}
	}
}

// readerIdle is how long a reader stays parked for the next ready socket,
// and maxParked how many may: past a burst, the rest end.
const (
	readerIdle = 5 * time.Second
	maxParked  = 256
)

// reader drains ws, then waits parked for the next socket to drain, and
// ends when none came for readerIdle or the server closes. Idle sockets
// hold no reader: readers are as many as the sockets drained at once.
func (s *Server) reader(ws *wsConn) {
	defer s.goDone()
	idle := time.NewTimer(readerIdle)
	defer idle.Stop()
	for {
		ws.drain()
		ws = nil // parked, it holds no socket
		if s.parked.Add(1) > maxParked {
			s.parked.Add(-1)
			return
		}
		idle.Reset(readerIdle)
		select {
		case ws = <-s.readers:
		case <-idle.C:
		case <-s.ctx.Done():
		}
		s.parked.Add(-1)
		if ws == nil {
			return
		}
	}
}

// drain reads everything the socket holds, then ends; an event that came
// meanwhile makes it read again. The work the messages queued is then run
// here, when no worker runs (see Conn.readerEnds).
func (ws *wsConn) drain() {
	c := ws.c
	c.readerStarts()
	ws.readAll()
	c.readerEnds()
}

func (ws *wsConn) readAll() {
	s := ws.c.srv
	bufp := s.readBufs.Get().(*[]byte)
	defer s.readBufs.Put(bufp)
	buf := *bufp
	for {
		seen := ws.pending.Load()
		for {
			n, err := ws.readRaw(buf)
			if n > 0 && ws.feed(buf[:n]) != nil {
				return
			}
			if errors.Is(err, errWouldBlock) {
				break
			}
			if err != nil || n == 0 {
				ws.gone(closeNormal, "transport close")
				return
			}
			if n < len(buf) {
				break // the socket is empty; new bytes bring a new event
			}
		}
		if ws.pending.CompareAndSwap(seen, 0) {
			return
		}
	}
}

// feed parses and handles the frames in b; an error means the WebSocket
// is closed.
func (ws *wsConn) feed(b []byte) error {
	err := ws.frameReader.feed(b, ws.c.srv.opts.MaxPayload, ws)
	if err == nil {
		return nil
	}
	var we *wsError // made only for a failure: errors.As moves it to the heap
	if errors.As(err, &we) {
		return ws.fail(err)
	}
	return err
}

// control handles a ping, pong or close frame; payload is not kept.
func (ws *wsConn) control(op byte, payload []byte) error {
	switch op {
	case opPing:
		_ = ws.write(appendFrame(make([]byte, 0, 2+len(payload)), opPong, payload), ws.c.srv.opts.WriteTimeout)
	case opClose:
		code := closeNormal
		if len(payload) >= 2 {
			code = int(payload[0])<<8 | int(payload[1])
		}
		// The close handshake is answered with the code received, then
		// the connection closes.
		ws.gone(code, "transport close")
		return errStop
	}
	return nil
}

// message hands one message to the session or the upgrade it belongs to.
// msg is owned by the callee (packets alias it).
func (ws *wsConn) message(op byte, msg []byte) error {
	c := ws.c
	c.mu.Lock()
	session := c.ws == ws && !c.closed && !c.closing
	probe := c.probe == ws
	c.mu.Unlock()
	switch {
	case probe:
		c.onProbe(ws, op, msg)
	case session:
		var err error
		if op != opText {
			err = c.protocolError(ErrBinary)
		} else {
			err = c.onEngine(msg)
		}
		if err != nil && !errors.Is(err, errStop) && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrQueueFull) {
			c.terminate("transport error")
		}
	}
	if ws.closed.Load() {
		return errStop
	}
	return nil // a closing session drains its WebSocket until the close completes
}

// fail closes the WebSocket for a framing error, with its status.
func (ws *wsConn) fail(err error) error {
	code := closeProtocolError
	var we *wsError
	if errors.As(err, &we) {
		code = we.code
	}
	ws.c.srv.opts.Logger.Debug("socketio: websocket closed", "sid", ws.c.sid, "err", err)
	ws.gone(code, "transport error")
	return errStop
}

// gone ends the WebSocket, closing it with code: the session with reason
// when it is its transport, the upgrade when it is its probe.
func (ws *wsConn) gone(code int, reason string) {
	ws.close(code)
	c := ws.c
	c.mu.Lock()
	session, probe := c.ws == ws, c.probe == ws
	c.mu.Unlock()
	switch {
	case session:
		c.terminate(reason)
	case probe:
		c.probeFailed(ws)
	}
}

// write sends whole frames, giving up after timeout. An event-driven
// socket is first offered them without a deadline: arming one is a timer
// update per ack (2% of the CPU of acked typing events), and a socket
// with room takes them at once. Only what it does not take is written
// under a deadline, which the next raw write does not look at.
func (ws *wsConn) write(frames []byte, timeout time.Duration) error {
	ws.wmu.Lock()
	defer ws.wmu.Unlock()
	if ws.closed.Load() {
		return ErrClosed
	}
	if ws.raw != nil {
		n, err := ws.writeRaw(frames)
		if err != nil || n == len(frames) {
			return err
		}
		frames = frames[n:]
	}
	_ = ws.nc.SetWriteDeadline(time.Now().Add(timeout))
	_, err := ws.nc.Write(frames)
	return err
}

// close sends a close frame with code, unless a write is under way (a
// client that does not read must not hold the close up), and closes the
// connection; later calls do nothing.
func (ws *wsConn) close(code int) {
	if !ws.closed.CompareAndSwap(false, true) {
		return
	}
	if ws.wmu.TryLock() {
		if code != closeNoStatus {
			_ = ws.nc.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
			_, _ = ws.nc.Write(closeFrame(code))
		}
		ws.wmu.Unlock()
	}
	if ws.p != nil {
		ws.p.remove(ws)
	}
	// A writer blocked in Write, or the reader goroutine blocked in Read,
	// returns with an error.
	_ = ws.nc.Close()
	if ws.release != nil {
		ws.release()
	}
}

// onProbe runs the probe exchange of an upgrade, one message at a time.
func (c *Conn) onProbe(ws *wsConn, op byte, msg []byte) {
	c.mu.Lock()
	step := c.probeStep
	c.mu.Unlock()
	switch {
	case op != opText:
		c.probeFailed(ws)
	case step == 0 && string(msg) == "2probe":
		if ws.write(appendFrame(nil, opText, pktPongProbe), c.srv.opts.WriteTimeout) != nil {
			c.probeFailed(ws)
			return
		}
		c.mu.Lock()
		if c.probe == ws {
			c.probeStep = 1
			c.upgrading = true
			c.kickLocked() // releases the pending GET with a noop
		}
		c.mu.Unlock()
	case step == 1 && len(msg) == 1 && msg[0] == eioNoop:
	case step == 1 && len(msg) == 1 && msg[0] == eioUpgrade:
		c.mu.Lock()
		if c.probe != ws || c.closed {
			c.mu.Unlock()
			c.probeFailed(ws)
			return
		}
		c.probeTimer.Stop()
		// A closing session upgrades too: the client now listens on the
		// WebSocket only, and the writer delivers the last packets there.
		c.transport = transportWebSocket
		c.ws, c.probe, c.upgrading = ws, nil, false
		select { // a GET still pending is released with a noop
		case c.notify <- struct{}{}:
		default:
		}
		c.kickLocked()
		c.mu.Unlock()
		c.srv.opts.Metrics.addConn(transportPolling, -1)
		c.srv.opts.Metrics.addConn(transportWebSocket, 1)
	default:
		c.probeFailed(ws)
	}
}

// probeFailed gives up an upgrade: the session goes on polling.
func (c *Conn) probeFailed(ws *wsConn) {
	c.mu.Lock()
	if c.probe == ws {
		c.probe = nil
		c.upgrading = false
		c.probeTimer.Stop()
	}
	c.mu.Unlock()
	ws.close(closeNormal)
}
