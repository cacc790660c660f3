package socketio

import (
	"github.com/valyala/fasthttp"
)

// handshakePolling opens a session whose first transport is long-polling.
func (s *Server) handshakePolling(ctx *fasthttp.RequestCtx) {
	c := s.newConn(transportPolling)
	if h := s.opts.Handshake; h != nil {
		c.handshake = h(&ctx.Request.Header)
	}
	if !s.register(c) {
		engineError(ctx, fasthttp.StatusServiceUnavailable, errBadRequest)
		return
	}
	c.start()
	ctx.Response.Header.SetContentType("text/plain; charset=UTF-8")
	ctx.SetBody(s.openPacket(c.sid, true))
}

// servePoll answers a GET: it waits until packets are queued (a ping comes
// every PingInterval), the session ends or an upgrade needs the GET
// released, and returns the queue as one payload.
func (c *Conn) servePoll(ctx *fasthttp.RequestCtx) {
	c.mu.Lock()
	if c.closed || c.transport != transportPolling {
		c.mu.Unlock()
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	}
	if c.pollWaiting {
		c.mu.Unlock()
		c.srv.opts.Logger.Debug("socketio: overlapping GET", "sid", c.sid)
		c.terminate("transport error")
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	}
	c.pollWaiting = true
	c.srv.goStart() // Server.Close waits for released GETs
	defer c.srv.goDone()
	for len(c.queue) == 0 && !c.closing && !c.closed && !c.upgrading && c.transport == transportPolling {
		c.mu.Unlock()
		select {
		case <-c.notify:
		case <-c.closedCh:
		}
		c.mu.Lock()
	}
	c.pollWaiting = false
	var pkts [][]byte
	finish := false
	switch {
	case c.transport != transportPolling:
		pkts = [][]byte{pktNoop} // upgraded: the queue belongs to the WebSocket
	case c.closing && !c.closed && len(c.queue) > 0:
		// The last packets without the close packet, which the next GET
		// gets: socket.io-client handles a payload's messages a tick after
		// the payload, so a close in the same payload would end the
		// transport first and the client would see "transport close"
		// instead of the DISCONNECT.
		pkts = c.queue
		c.queue = nil
	case c.closing || c.closed:
		pkts = append(c.queue, pktClose)
		c.queue = nil
		finish = !c.closed
	case len(c.queue) > 0:
		pkts = c.queue
		c.queue = nil
	default: // upgrading
		pkts = [][]byte{pktNoop}
	}
	c.mu.Unlock()
	if finish {
		c.terminate(c.closeReason())
	}
	ctx.Response.Header.SetContentType("text/plain; charset=UTF-8")
	ctx.Response.SetBodyRaw(appendPayload(make([]byte, 0, payloadLen(pkts)), pkts))
}

func payloadLen(pkts [][]byte) int {
	n := len(pkts)
	for _, p := range pkts {
		n += len(p)
	}
	return n
}

// servePost reads a payload of packets from the client. The body is copied:
// the decoded packets alias it (see decodePacket) and outlive the request in
// the event queue.
func (c *Conn) servePost(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	if len(body) > c.srv.opts.MaxPayload {
		c.srv.opts.Logger.Debug("socketio: polling payload over maxPayload", "sid", c.sid, "bytes", len(body))
		c.terminate("transport error")
		ctx.SetStatusCode(fasthttp.StatusRequestEntityTooLarge)
		return
	}
	c.mu.Lock()
	switch {
	case c.closed || c.transport != transportPolling:
		c.mu.Unlock()
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	case c.posting:
		c.mu.Unlock()
		c.terminate("transport error")
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	}
	c.posting = true
	closing := c.closing
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.posting = false
		c.mu.Unlock()
	}()
	ctx.Response.Header.SetContentType("text/html")
	ctx.SetBodyString("ok")
	if closing {
		return // the session is delivering its last packets
	}
	pkts, err := splitPayload(append([]byte(nil), body...))
	if err != nil {
		_ = c.protocolError(err)
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	}
	for _, p := range pkts {
		if err := c.onEngine(p); err != nil {
			return
		}
	}
}
