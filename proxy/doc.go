// Package proxy is the connector-proxy process: it turns a configuration
// into running parts and owns their lifecycle.
//
//   - New provisions: opens the store, starts the embedded simulator in demo
//     mode, builds the AXP client, both faces, the event pipeline and the webhook
//     receiver, and binds both listeners (so that a bad address fails at
//     start, not later). Once the public listener is bound it builds the
//     demo console (package console) when demo.console is on, and in demo
//     mode points the demo app's webhooks at the console's sink.
//   - Run serves until its context ends, keeps the AXP subscription in
//     place, runs the faces' background work, then shuts down gracefully:
//     listeners stop accepting, in-flight requests drain within the
//     shutdown timeout, background work stops, the store is closed last.
//
// The public listeners accept through the edge (edge.go): descriptor
// exhaustion is waited out, connections past the caps are shed, requests
// the HTTP server cannot read are refused in their face's format
// (refuse.go), and the faces' rate limits are built here (clientaddr.go).
//
// The package knows which parts exist and how they connect; it knows no
// protocol detail.
package proxy
