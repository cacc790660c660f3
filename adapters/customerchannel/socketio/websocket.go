package socketio

import (
	"sync"
	"time"

	"github.com/fasthttp/websocket"
	"github.com/valyala/fasthttp"
)

// wsConn is a WebSocket on a hijacked fasthttp connection. fasthttp
// recycles the connection as soon as the upgrade handler returns, so every
// other goroutine that touches it (the writer, terminate) holds a use, taken
// under the session's lock while the WebSocket is still the session's, and
// the handler waits for the uses to end before it returns.
type wsConn struct {
	*websocket.Conn
	uses sync.WaitGroup
}

// handshakeWebSocket opens a session whose only transport is a WebSocket.
func (s *Server) handshakeWebSocket(ctx *fasthttp.RequestCtx) {
	err := s.upgrader.Upgrade(ctx, func(conn *websocket.Conn) {
		ws := &wsConn{Conn: conn}
		c := s.newConn(transportWebSocket)
		c.ws = ws
		if !s.register(c) {
			_ = ws.Close()
			return
		}
		s.goStart()
		defer s.goDone()
		// Closed first, so that no new use can start; then waited for.
		defer ws.uses.Wait()
		defer c.terminate("transport close")
		ws.SetReadLimit(int64(s.opts.MaxPayload))
		c.start()
		if c.send(s.openPacket(c.sid, false)) != nil {
			return
		}
		c.readLoop(ws)
	})
	if err != nil {
		s.opts.Logger.Debug("socketio: websocket upgrade failed", "err", err)
	}
}

// serveUpgrade takes a WebSocket for a polling session: "2probe" is
// answered "3probe", the pending GET is released with a noop, and "5" makes
// the WebSocket the session's transport, which then flushes the queue.
func (c *Conn) serveUpgrade(ctx *fasthttp.RequestCtx) {
	c.mu.Lock()
	ok := !c.closed && !c.closing && c.transport == transportPolling && !c.upgrading && c.probe == nil
	c.mu.Unlock()
	if !ok {
		engineError(ctx, fasthttp.StatusBadRequest, errBadRequest)
		return
	}
	s := c.srv
	err := s.upgrader.Upgrade(ctx, func(conn *websocket.Conn) {
		ws := &wsConn{Conn: conn}
		s.goStart()
		defer s.goDone()
		// Every way out below leaves ws neither the session's transport nor
		// its probe (terminated, or the probe taken back), so no new use
		// can start; the ones under way are waited for.
		defer ws.uses.Wait()
		c.mu.Lock()
		if c.closed || c.closing || c.transport != transportPolling || c.probe != nil {
			c.mu.Unlock()
			_ = ws.Close()
			return
		}
		c.probe = ws
		c.mu.Unlock()
		ws.SetReadLimit(int64(s.opts.MaxPayload))
		if !c.probeUpgrade(ws) {
			c.mu.Lock()
			if c.probe == ws {
				c.probe = nil
				c.upgrading = false
			}
			c.mu.Unlock()
			_ = ws.Close()
			return
		}
		c.readLoop(ws)
	})
	if err != nil {
		s.opts.Logger.Debug("socketio: websocket upgrade failed", "sid", c.sid, "err", err)
	}
}

// probeUpgrade runs the probe exchange; true once the WebSocket carries
// the session.
func (c *Conn) probeUpgrade(ws *wsConn) bool {
	_ = ws.SetReadDeadline(time.Now().Add(c.srv.opts.UpgradeTimeout))
	mt, msg, err := ws.ReadMessage()
	if err != nil || mt != websocket.TextMessage || string(msg) != "2probe" {
		return false
	}
	_ = ws.SetWriteDeadline(time.Now().Add(c.srv.opts.WriteTimeout))
	if ws.WriteMessage(websocket.TextMessage, pktPongProbe) != nil {
		return false
	}
	c.mu.Lock()
	c.upgrading = true
	c.kickLocked() // releases the pending GET with a noop
	c.mu.Unlock()
	for {
		mt, msg, err = ws.ReadMessage()
		if err != nil || mt != websocket.TextMessage {
			return false
		}
		if len(msg) == 1 && msg[0] == eioUpgrade {
			break
		}
		if len(msg) != 1 || msg[0] != eioNoop {
			return false
		}
	}
	_ = ws.SetReadDeadline(time.Time{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return false
	}
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
	return true
}
