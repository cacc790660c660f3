// Package connectorapi is connector-proxy's LivePerson-style Messaging
// Connector API face: the AppJWT and ConsumerJWS endpoints, CONVERSATION and
// SEND translated onto the AXP v1beta engagement client, and the webhook
// notifications (ms.MessagingEventNotification,
// cqm.ExConversationChangeNotification) made from AXP's events and delivered
// to each app's endpoints from the durable outbox, signed, in order within a
// conversation, retried with backoff until the app's retention time.
//
// It also answers LivePerson's Domain API (GET
// /api/account/{a}/service[/{name}]/baseURI[.json]), naming the proxy's
// public host for sentinel, idp and asyncMessagingEnt, so that a connector
// which resolves its hosts finds the proxy from the one host it is given.
// The README's section "Pointing an existing LivePerson connector at
// connector-proxy" says what a connector changes and what differs.
//
// Every mapping a later call needs is written to the store before the
// client is answered, so a restart loses no conversation and no pending
// notification.
package connectorapi
