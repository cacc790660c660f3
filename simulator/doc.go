// Package simulator is a stand-alone, in-memory AXP Digital (Custom Chat)
// backend, v1beta, GA v1 or both (Config.APIVersion): the token endpoints,
// sessions, engagements with
// dialogs and connections, messages with pagination, webhook subscriptions
// with at-least-once delivery, RFC 7807 problems with violations, and an
// agent side (/sim) that tests and demos drive. It follows the API as the
// repository's docs/axp-v1beta.md describes it; it is a product feature (try
// the proxy without a contact center), not a test double.
//
// Paths (host root; {gen} is v1beta or v1):
//
//	POST /auth/realms/{accountId}/protocol/openid-connect/token      (v1beta)
//	POST /api/auth/v1/{accountId}/protocol/openid-connect/token      (GA v1)
//	/api/digital/channel/{gen}/accounts/{accountId}/sessions[/{id}[:appendIdentifiers|:updateSessionParameters]]
//	/api/digital/channel/{gen}/accounts/{accountId}/engagements[/{id}[:join|:disconnect]]
//	/api/digital/channel/{gen}/accounts/{accountId}/engagements/{id}/messages
//	/api/digital/webhook/{gen}/accounts/{accountId}/subscriptions[/{id}]
//	/sim/accounts/{accountId}/engagements[/{id}:agentJoin|:agentMessage|:agentLeave|:engagementError|:endDialog]
//	/sim/faults, /sim/health, /sim/stats, /sim/auto-agent
//
// The generations differ only where the reference says they do (§0.2, §1):
// GA paths, the GA token endpoint, and an appkey header that every GA call
// must carry, the token request included. A GA call without it, or with
// another key than Config.AppKey, is refused with 401 and a problem document
// whose detail names the Appkey (AXP's gateway distinguishes "(Appkey)" from
// "(Access-Token)"), before its bearer token is looked at. A path of a
// generation the simulator does not serve is an unknown path: 404. GA token
// errors are problem documents (the GA Auth API's), v1beta's Keycloak's
// OAuth body. With APIBoth one state serves both, as one tenant is on both
// hosts during a migration: a token from either endpoint is good on either
// generation's paths, and the urls of an answer are written under the base
// of the call that asked.
//
// Where the reference is silent the simulator decides as follows:
//
//   - Tokens are HS256 JWTs with Keycloak's claims (tenantId, clientId, …),
//     signed by a key made at start-up, so they do not survive a restart.
//     Token endpoint errors use the OAuth 2.0 body ({"error", "error_description"})
//     that Keycloak answers: 401 invalid_client, 400 unsupported_grant_type,
//     404 for a realm that is not six letters, 415 without a form body.
//   - API errors: 401 for a missing, bad or expired bearer token; 403 for a
//     token of another account realm; 400 "Constraint Violation" with
//     violations (codes 20002 must not be null, 20003 size, 20004 not one of
//     the allowed values, 20005 illegal in the resource's state, 20006
//     pattern); 404 for unknown paths and ids (also ids of another account);
//     405 with Allow for a wrong method; 429 "Tenant Quota has been exhausted"
//     when a memory bound is reached.
//   - A send to a TERMINATED dialog or an ended session, a join to them, and a
//     message from a session disconnected from the dialog answer 400 with a
//     violation on dialogId or sessionId (code 20005): the reference's 400 is
//     "a syntactically correct, yet semantically illegal request", which is
//     this case; 404 stays "no such id" and 409 is not among the documented
//     answers of these operations.
//   - DELETE of a session without reason takes the declared default
//     USER_CLOSED; ending an ended session is a no-op 204. An ended session
//     still reads (sessionStatus TERMINATED) and its dialogs' messages still list.
//   - :disconnect disconnects the customer connection (PARTICIPANT_DISCONNECTED
//     for the customer) and TERMINATES the dialog once no customer is left in
//     it; every connection is then DISCONNECTED. Repeating it answers the same
//     echo without a second event. :join attaches another session of the
//     account (a second device) as a new CUSTOMER connection.
//   - Creating an engagement for a session that already has one adds a dialog
//     to it; the create answer lists the new dialog first (clients read
//     dialogs[0]); GET lists dialogs in creation order.
//   - messageIndex counts from 1 per dialog, shared by customer and
//     contact-center messages. The 202 and the MESSAGES webhook carry status
//     SENT; listed messages read DELIVERED. The 202 includes messageId.
//   - URLs (session/engagement url, links.prev/next) are relative paths that
//     include accounts/{accountId}.
//   - Subscriptions: callbackUrl must be https, except that http is accepted
//     for loopback hosts (127.0.0.0/8, ::1, localhost) so that the simulator
//     can run beside the proxy. Only a 200 within CallbackTimeout counts as
//     delivered; otherwise the event is re-sent after RedeliveryDelay,
//     doubling up to MaxRedeliveryDelay, at most MaxDeliveryAttempts times,
//     and the subscription's later events wait behind it. No signature header
//     is sent (AXP documents none). A PUT changes the URL of queued events too.
//   - CUSTOMER_MESSAGES matches MESSAGES sent by the customer, CC_MESSAGES
//     those sent by AGENT, BOT, SUPERVISOR or SYSTEM; a subscription gets each
//     event once however many of its types match.
//
// The agent side: :agentJoin adds an AGENT (or SUPERVISOR/BOT) connection,
// makes the dialog ACTIVE and fires PARTICIPANT_ADDED; :agentMessage fires
// MESSAGES (customData, e.g. {"whisper":"true"}, is passed through);
// :agentLeave fires PARTICIPANT_DISCONNECTED for each contact-center
// participant and TERMINATES the dialog; :engagementError fires
// ENGAGEMENT_ERROR and leaves the dialog as it is; :endDialog TERMINATES
// the dialog and sends no event at all, as AXP does when it ends a dialog on
// its own (its client learns it from its next call). They answer 409 when
// the dialog is TERMINATED or no agent has joined; an AGENT or SUPERVISOR
// message needs a joined participant of that type (a supervisor joins with
// :agentJoin {"participantType": "SUPERVISOR"}), else 409. GET /sim/auto-agent
// answers {"enabled", "name", "delayMs"}; PUT {"enabled": bool} switches the
// auto-agent at run time (Config.AutoAgent is only its initial state): off,
// it also drops the actions it had scheduled and not yet taken; on, it acts
// on dialogs created and messages sent from then on.
//
// Faults (/sim/faults) are what AXP is seen to do, injected on demand:
// API calls failed (status), slowed before they are applied (latencyMs: the
// write lands late) or applied at once and answered late (answerLatencyMs:
// the caller times out on a write that happened), the token endpoint
// included (narrow them with pathContains and method), never /sim calls;
// and webhook deliveries (webhook: drop, duplicate, delay with latencyMs,
// reorder with the next event), narrowed by eventType. /sim/stats counts
// callbacks delivered, failed and dropped, and the API calls received by
// operation ("Calls": {"ListMessages": 3, …}), so that a test can tell how
// often its client asked (observability only: counting changes no answer).
package simulator
