// Package connectorapi is connector-proxy's LivePerson-style Messaging
// Connector API face: the AppJWT and ConsumerJWS endpoints, CONVERSATION and
// SEND translated onto the AXP v1beta engagement client, and the webhook
// notifications (ms.MessagingEventNotification,
// cqm.ExConversationChangeNotification) made from AXP's events and delivered
// to each app's endpoints from the durable outbox, signed, in order within a
// conversation, retried with backoff until the app's retention time.
//
// Every mapping a later call needs is written to the store before the
// client is answered, so a restart loses no conversation and no pending
// notification.
package connectorapi
