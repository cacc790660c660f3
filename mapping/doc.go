// Package mapping holds what connector-proxy remembers between calls: which
// client conversation is which AXP session, engagement and dialog, who owns
// it, which webhook events were already seen, and the outbox of notifications
// still to deliver. Registry and Outbox are the interfaces; Bolt is the
// embedded, durable implementation for one replica, Redis the shared one for
// several; Cached puts an LRU in front of the hot lookups.
//
// The cache is never the truth: every miss falls through to the store, and a
// store error is returned as an error, never as a miss.
package mapping
