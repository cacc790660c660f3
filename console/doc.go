// Package console is the demo console: one web page, served by the proxy
// at /demo/, that shows a conversation crossing the proxy in both
// directions. It has three panes:
//
//   - Customer: a chat widget on the Customer Channel face. It calls
//     POST /api/customer/init, then speaks Socket.IO to /socket.io/ as a
//     widget would, through the page's own small client (static/socketio.js:
//     Engine.IO v4 / Socket.IO v5 over WebSocket, pings, acks, reconnect
//     with backoff; no long-polling, which a same-origin page on a proxy
//     that serves WebSocket does not need). It shows greetings, agents
//     joining and leaving, "no agent available", typing and the end of the
//     conversation as sentences, and links the PDF transcript once the
//     conversation has ended.
//   - LivePerson connector: the Messaging Connector API calls a connector
//     makes (AppJWT, ConsumerJWS, CONVERSATION, SEND, CLOSE), each request
//     and answer shown, and the notifications that come back.
//   - Agent desk: the simulator's agent API (list the open engagements of
//     both faces, join, reply or whisper, leave, and "no agent available",
//     which fires AXP's ENGAGEMENT_ERROR) and the auto-agent switch. The
//     list is polled every 2 s; an engagement is shown as the Customer
//     Channel's when its dialog has the "channel" engagement parameter
//     that face always sets, else as the Connector API's.
//
// The page is usable at a phone's width (one column from 375 px) and a
// desktop's (three panes from 1100 px), with the keyboard alone (a skip
// link, native controls, a switch with role="switch") and with a screen
// reader (labels on every control, role="log" live regions for what
// arrives). The proxy's error bodies, each face's own, are turned into
// sentences. test/browser/console.test.mjs checks all of it in Chromium.
//
// The page is plain HTML, CSS and JavaScript modules embedded in the binary
// (static/), with no build step and nothing loaded from elsewhere; the
// Content-Security-Policy allows only the page's own origin.
//
// # Paths
//
//	GET  /demo/                     the page and its files (static/)
//	GET  /demo/config.json          what the page needs to know (PageConfig)
//	ANY  /demo/agent/{rest}         the simulator's /sim/{rest}, in process
//	POST /demo/hooks/{webhook key}  the notification sink
//	GET  /demo/notifications        what the sink verified, as Server-Sent Events
//
// # Agent desk
//
// The page never calls the simulator's own listener (another origin, and
// loopback only): /demo/agent/{rest} is handed to the simulator's handler
// in process as /sim/{rest}, and only that, so the rest of the simulator
// (its AXP API, its tokens) stays unreachable from here. Requests other
// than GET must carry Content-Type: application/json and, when they carry
// an Origin, the page's own: a page of another site cannot drive the
// agent. Outside demo mode there is no simulator and these paths answer 404.
//
// # Notification sink
//
// In demo mode the proxy points the webhooks of every app that has none
// configured (the built-in demo-app) at its own public listener over the
// loopback, http://127.0.0.1:{port}/demo/hooks/{key} (the plain listener
// beside TLS when there is one; with TLS alone the proxy's certificate must
// be trusted, and the start-up log says so). The sink checks x-liveperson-signature
// with the secret of the app named by x-liveperson-client-id and
// x-liveperson-account-id (401 when it does not match or the app is
// unknown), that the body is JSON (400) and at most MaxHookBody bytes (413),
// then answers 200 at once: it never waits for a page. Each verified
// notification goes to every page connected to /demo/notifications as an SSE
// event "notification" whose data is {seq, key, receivedAt, accountId,
// clientId, verified, body}. Every subscriber has a buffer of
// SubscriberBuffer events; one that falls that far behind is dropped (its
// stream ends, and the browser's EventSource reconnects and asks for what it
// missed with Last-Event-ID, answered from the last ReplayEvents events).
// At most MaxSubscribers pages listen at once; more get 503. A stream sends
// a comment every Heartbeat so that a gone page is noticed, and ends when
// the server shuts down (fasthttp's RequestCtx.Done) or Close is called.
//
// Outside demo mode the console is off unless demo.console is set; then the
// page and the sink are served (an operator may point an app's webhook at
// the sink to watch what it receives), without the demo app's credentials
// and without the agent desk. Anyone who can open the page sees every
// notification the sink receives, so do not turn it on where the public
// listener faces the internet.
package console
