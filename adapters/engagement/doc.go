// Package engagement is connector-proxy's face towards AXP: a typed client for
// the Digital (Custom Chat) engagement API on fasthttp, the models with
// v1beta's exact field names, and the receiver for AXP's webhook callbacks.
// The API it speaks is described in the repository's docs/axp-v1beta.md.
//
// The client speaks either generation of the API, v1beta or GA v1
// (Config.APIVersion): one client and one set of models, since the GA schema
// is v1beta's; the generation decides the paths, the token endpoint and the
// appkey header the GA API requires on every call.
//
// The client knows nothing of the client-side protocols; the faces translate
// onto it (see package mapping) and implement Sink to receive AXP's events.
// A failed call is classified once, by Classify (invalid, throttled,
// unavailable, refused …, retryable or not, with AXP's Retry-After), and
// every face maps that classification, never a raw status, onto its format.
package engagement
