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
//     legacy field names; a message event's status is DELIVERED. The
//     notifications are the same payloads.
//   - A registration beyond Config.MaxWebhooks is 409; a conversation
//     closed by the client (:disconnect of the session that made it,
//     :terminate) is closed before the answer.
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
// # In the event pipeline
//
// The face is the pipeline's Face and Sender for the conversations it owns
// (OwnerFace; pipeline.go, sender.go). The conversation record it writes
// for each dialog (OwnerFace, the session as owner, Attrs for the customer
// identifier, the channel provider and the client's providerDialogId) is
// what routes an AXP event to Apply; ContextOf reads it back.
//
//   - Apply encodes the event's legacy payload (EncodeEvent), appends it to
//     the conversation's LogNotifications log and queues one outbox item
//     per distinct callback URL of the registrations that want it, all in
//     the commit that applies the event: a re-sent event is one
//     notification and one POST. It closes the conversation when the
//     customer of the session that made it leaves or AXP says the dialog
//     ended; anyone else leaving, or an ENGAGEMENT_ERROR, asks AXP.
//   - Registrations are kept in the store (mapping.Webhooks, scope: the
//     channel provider, at most Config.MaxWebhooks) and matched from a copy
//     in memory (registrations.go), since Apply does no I/O: read before
//     the face serves, after each of this replica's changes, and every
//     Config.WebhookRefresh for other replicas'.
//   - Send POSTs the payload with its Content-Type only: the legacy API,
//     like every AXP generation, documents no signature, so a client guards
//     its callback with an unguessable path and TLS. 2xx is delivered; a
//     callback no registration names any more, or a 410, is given up; the
//     rest is retried with the pipeline's backoff for Config.DeliveryWindow.
//     One conversation's webhooks go one at a time, in order, so a failing
//     callback holds back the others of that conversation until then.
//   - GET …/notifications asks AXP for the engagement's dialogs and answers
//     the logs of those the client made, kept as long as their
//     conversations (the store's retention after they close).
//
// # Retries
//
// AXP is given the conversation's id as every dialog's providerDialogId,
// so that its events name the conversation even when they overtake the
// create's answer; the client's own providerDialogId is kept with the
// conversation and shown in its place. It is also the create's handle: the
// conversation's id is made from the session and it, and a retry finds the
// conversation, or the dialog at AXP, instead of making a second. A send's
// providerMessageId is its handle likewise (a record under it before the
// send, the message looked for at AXP after one AXP did not answer).
// Without a handle an unanswered write is looked for by the proxy's own id
// for Config.SettleTimeout, then answered 503 saying a retry may apply it
// twice. :disconnect and :terminate are repeated once when AXP does not
// answer. A webhook registration has no handle: a retry makes a second one,
// and deliveries still go once per callback URL.
package legacyv1
