// Package engagement is connector-proxy's face towards AXP: a typed client for
// the v1beta Digital (Custom Chat) engagement API on fasthttp, the models with
// v1beta's exact field names, and the receiver for AXP's webhook callbacks.
//
// The client knows nothing of the client-side protocols; the faces translate
// onto it (see package mapping) and implement Sink to receive AXP's events.
package engagement
