// Package engagement is connector-proxy's face towards AXP: a typed client for
// the v1beta Digital (Custom Chat) engagement API on fasthttp, the models with
// v1beta's exact field names, and the receiver for AXP's webhook callbacks.
// The API it speaks is described in the repository's docs/axp-v1beta.md.
//
// The client knows nothing of the client-side protocols; the faces translate
// onto it (see package mapping) and implement Sink to receive AXP's events.
// A failed call is classified once, by Classify (invalid, throttled,
// unavailable, refused …, retryable or not, with AXP's Retry-After), and
// every face maps that classification, never a raw status, onto its format.
package engagement
