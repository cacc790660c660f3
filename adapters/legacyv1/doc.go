// Package legacyv1 is connector-proxy's face for clients of AXP's legacy
// /api/digital/v1 engagement API (the left column of seeds 000/001): a
// legacy integration points its host at the proxy and keeps working, while
// the proxy speaks v1beta (or GA v1) to AXP through the one engagement
// client.
//
// # Layers
//
// The models (model.go) and the translation both ways (translate.go) are
// pure functions: epoch milliseconds ↔ ISO-8601, contextParameters ↔
// engagementParameters, mediaType ↔ channelId, the flat create answer
// (dialogId, sessionId, createTimeMillis) ↔ the nested dialogs[] and
// connections[], customerIdentifier ↔ customerIdentifiers, senderName ↔
// senderParticipantName, sourceParticipantId ↔ initiatorParticipantId,
// participantAddress ↔ providerParticipantId, and the enumerations (CREATED
// ↔ PENDING, ACTIVE/INACTIVE ↔ CONNECTED, QUEUED ↔ SENT, USER_DISCONNECTED →
// USER_CLOSED). What v1beta derives from the session a legacy document
// carries, so the way back takes a SessionContext. The golden tests hold
// every seed sample to the other column field by field and list, with
// reasons, each field that cannot match.
//
// The decoders (decode.go) check legacy input and answer the legacy error
// (problem.go) naming the legacy field, before anything reaches AXP or the
// store. The HTTP face (face.go, sessions.go, engagements.go, messages.go,
// hooks.go, token.go) serves, under /api/digital/v1/:
//
//	POST /sessions, GET /sessions/{id}, POST /sessions/{id}:terminate
//	POST /engagements, GET /engagements?sessionId=, GET /engagements/{id}
//	POST /engagements/{id}:join, POST /engagements/{id}:disconnect
//	POST /engagements/{id}/messages, GET /engagements/{id}/messages?dialogId=&sessionId=
//	GET /engagements/{id}/notifications
//	POST /channel-providers/{id}/webhooks, DELETE /channel-providers/{id}/webhooks/{webhookId}
//
// and the realm token endpoint legacy clients already call,
// POST /auth/realms/{accountId}/protocol/openid-connect/token.
//
// # Choices where the legacy API is silent
//
//   - Tokens are the proxy's own (HS256 JWTs with Keycloak's claims, 900 s),
//     for the configured clients, bound to the configured AXP account: a
//     body naming another accountId or tenantId is refused with 403 naming
//     the field; one naming none is taken as the bound account.
//   - A legacy client touches only sessions it made and the dialogs of
//     engagements it made (a 404 naming sessionId or dialogId otherwise):
//     the face records both in the registry before answering, and undoes
//     the AXP call when that write fails, so that nothing is half made.
//   - channelProviderId, where a legacy request repeats it, must be the
//     configured one; the path's of a webhook registration too (404).
//   - The single customerIdentifier is filed under Binding.IdentifierKey
//     (a Customer Journey identifier name, default "customerIdentifier");
//     emailAddress and contactNumber under emailAddresses and phoneNumbers;
//     firstName and lastName make the displayName when there is none;
//     userId is the providerCustomerId.
//   - Statuses are the legacy ones the clients check: 201 for a session
//     and a webhook registration, 200 for an engagement, a send, a
//     disconnect (no body), a terminate and a webhook removal.
//   - A listed engagement is ACTIVE while one of its dialogs is open; its
//     createTimeMillis is its first dialog's, its updateTimeMillis its
//     latest; its uri has the samples' form /v1/digital/engagements/{id};
//     every connection is participantMode PUBLIC with empty metadata.
//   - The message list is every message of the dialog (AXP's pages read
//     one after another), as one JSON array.
//   - Errors are RFC 7807 problem documents (the legacy API is OneCloud
//     CCaaS's, whose error-handling page the problem types of every later
//     generation name) with violations naming the legacy field; AXP's own
//     violations come back with their fields renamed (channelId →
//     mediaType, engagementParameters.x → contextParameters.x, …).
//   - Webhook payloads (EncodeEvent) follow the legacy events of the
//     reference (S17c): eventType, tenantId, epoch times, channelId CHAT,
//     legacy field names; a message event's status is DELIVERED.
//
// # What cannot be translated
//
//   - Listing engagements without a sessionId: v1beta lists per session only.
//   - The engagement-level correlationId of get and list: v1beta's answers
//     have none. The distinction USER_DISCONNECTED / USER_CLOSED, and
//     participant modes (WHISPER_ONLY, LISTEN_ONLY) and connection
//     metadata, which v1beta does not have.
//   - messageIndex, recipientParticipants (kept in webhooks only), rich
//     media and attachment contentId have no place in the legacy message.
//   - MESSAGES webhooks carry the contact center's messages only (the
//     proxy subscribes AXP to CC_MESSAGES; a customer's message is answered
//     by its send), and ENGAGEMENT_CREATED is never sent (the proxy does not
//     subscribe to it: it arrives before the create call is answered).
//
// # What the face needs from the event pipeline
//
// Webhook registrations, the notifications of an engagement and the
// delivery of legacy webhooks belong to the event pipeline (durable inbox,
// one worker per conversation, a generic outbox), which is built
// elsewhere. The face depends on it through three small things
// (pipeline.go), and is complete without it except for the endpoints that
// need them, which answer 501 until they are wired:
//
//   - Webhooks: RegisterWebhook, DeleteWebhook, and Webhooks(channel
//     provider) for matching, kept durably.
//   - Notifications: the legacy payloads of an engagement's events in the
//     order they were applied.
//   - Apply(conv, event, webhooks) → Effects: pure; for an AXP event of a
//     conversation whose owner is OwnerFace, the payload to keep as the
//     engagement's notification and one Delivery (queue = conversation, so
//     in order) per callback URL that wants the event. The pipeline's
//     worker calls it and writes both in the transaction that applies the
//     event; Delivery.OutboxItem is today's outbox item.
//
// The conversation record the face writes for each dialog (registry,
// OwnerFace, Attrs for the customer identifier and channel provider) is
// what routes an event to Apply; ContextOf reads it back.
package legacyv1
