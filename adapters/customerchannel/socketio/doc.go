// Package socketio is a Socket.IO v5 server on Engine.IO v4 for fasthttp: the
// subset that an unmodified socket.io-client 4.x with default options needs.
// No Go library speaks Engine.IO v4 on fasthttp, and the protocol is small
// (see reference/customer-channel-socketio.md, part B).
//
// # Transports
//
// HTTP long-polling (GET/POST, packets joined by 0x1e, one pending GET per
// session, a second concurrent GET or POST closes the session), WebSocket
// opened directly, and the upgrade from polling to WebSocket ("2probe",
// "3probe", a noop "6" that releases the pending GET, then "5"). Packets queued
// while an upgrade is under way stay in the session's queue and leave by
// whichever transport asks first, so none is lost. Requests for an unknown
// session, a bad transport or a bad EIO version get 400 and the Engine.IO
// error body {"code":N,"message":"..."} (codes as the Node server: 0 Transport
// unknown, 1 Session ID unknown, 2 Bad handshake method, 3 Bad request,
// 4 Forbidden, 5 Unsupported protocol version).
//
// The server pings every PingInterval and closes a session whose pong does not
// arrive within PingTimeout. A polling body over MaxPayload gets 413 and closes
// the session; a WebSocket frame over MaxPayload closes it with status 1009.
//
// # Socket.IO
//
// Only the default namespace "/" exists: a CONNECT to any other gets
// CONNECT_ERROR {"message":"Invalid namespace"} and the session stays open.
// CONNECT's auth object goes to Options.Authenticate; its error is answered
// with CONNECT_ERROR {"message": err.Error()}. Malformed packets (bad JSON, an
// EVENT that is not a non-empty array, a reserved event name, a packet before
// CONNECT) close the session without a reply, as the reference server does.
//
// Binary packets (Socket.IO types 5 and 6, binary WebSocket frames, "b"
// base64 polling packets) are refused: the client is sent the event
// "error" {"message":"binary packets are not supported"}, then DISCONNECT,
// and the refusal is logged. Attachments travel by URL instead.
//
// An event with no handler is answered with the event "error"
// {"message":"unknown event \"name\""}; its ack, if asked, is never called.
//
// # Concurrency model
//
// An idle session holds no goroutine and no buffer. WebSockets are read
// event by event (see websocket.go): fasthttp's hijacked TCP socket is
// duplicated out of it (fasthttp then recycles its request context and
// buffers), one goroutine per Server waits on an epoll set for all of them
// (itself parked in Go's network poller) and reads a socket that has bytes,
// into a buffer lent for the read; only the bytes of an incomplete frame
// stay with the connection. The RFC 6455 framing is this package's own
// (wsframe.go): masked client frames, fragmentation, ping/pong, the close
// handshake, MaxPayload per message (close 1009), protocol errors (close
// 1002); no extension is negotiated. Over TLS, or off Linux, each
// WebSocket keeps one reader goroutine (crypto/tls reads the socket
// itself). golang.org/x/sys/unix's epoll was chosen over a netpoll library:
// the ones that exist own the listener (gnet, cloudwego/netpoll) and cannot
// take a connection fasthttp accepted and hijacked, or are unmaintained;
// this needs only the readiness of sockets it is handed.
//
// Besides, a session has at most two goroutines, each existing only while
// it has work: a writer started when packets are queued and ended when the
// queue is empty (it joins the queued frames into one write from a pooled
// buffer, so at most one writer per socket), and a worker started when
// events arrive and ended when none are left; for polling, the fasthttp
// handler of each request reads. Outbound packets wait in a queue of
// Options.WriteQueue packets; a client that lets it fill up is
// disconnected (reason "write queue full"). Inbound events, acks, the
// CONNECT (Authenticate) and OnDisconnect run on the worker, one at a time,
// in arrival order: a slow handler delays only its own connection's later
// events, never the reads; when Options.EventQueue events and acks are
// waiting the client is disconnected (reason "event queue full"), and an
// ack for no pending EmitWithAck is dropped as it arrives. OnDisconnect
// runs after every event that arrived before the disconnect.
//
// An EVENT's arguments are validated and split in one pass and alias the
// packet (the transports hand over a buffer of their own), so a handler
// decodes each argument once.
//
// Handlers get a context that ends when the Server closes, not when the
// connection does: an event sent just before the client disconnects is
// still handled. Watch Conn.Done to stop work for a gone client.
//
// # Disconnect reasons
//
// "client namespace disconnect" (the client sent DISCONNECT), "server
// namespace disconnect" (Conn.Disconnect), "transport close", "transport
// error", "ping timeout", "parse error", "connect timeout", "write queue
// full", "event queue full", "binary packets are not supported", "server
// shutting down". Server.Close closes transports without DISCONNECT, so
// clients reconnect (to another replica); Conn.Disconnect sends DISCONNECT,
// which socket.io-client treats as final.
//
// # CORS and origins
//
// AllowedOrigins lists origins (scheme://host[:port]) allowed to use
// polling cross-origin and to open WebSockets; "*" allows any. A request
// whose Origin host equals its Host is always allowed. An allowed
// cross-origin request gets Access-Control-Allow-Origin set to its origin and
// Access-Control-Allow-Credentials: true (what socket.io's cors option with
// credentials does); a disallowed one gets 403. Requests without Origin
// (non-browser clients) are allowed.
package socketio
