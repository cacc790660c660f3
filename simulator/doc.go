// Package simulator is a stand-alone, in-memory AXP v1beta Digital (Custom
// Chat) backend: the Keycloak token endpoint, sessions, engagements with
// dialogs and connections, messages with pagination, webhook subscriptions
// with at-least-once delivery, RFC 7807 problems with violations, and an
// agent side (/sim) that tests and demos drive. It follows the API as the
// repository's docs/axp-v1beta.md describes it; it is a product feature (try
// the proxy without a contact center), not a test double.
//
// Paths (host root):
//
//	POST /auth/realms/{accountId}/protocol/openid-connect/token
//	/api/digital/channel/v1beta/accounts/{accountId}/sessions[/{id}[:appendIdentifiers|:updateSessionParameters]]
//	/api/digital/channel/v1beta/accounts/{accountId}/engagements[/{id}[:join|:disconnect]]
//	/api/digital/channel/v1beta/accounts/{accountId}/engagements/{id}/messages
//	/api/digital/webhook/v1beta/accounts/{accountId}/subscriptions[/{id}]
//	/sim/accounts/{accountId}/engagements[/{id}:agentJoin|:agentMessage|:agentLeave|:engagementError]
//	/sim/faults, /sim/health
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
// ENGAGEMENT_ERROR and leaves the dialog as it is. They answer 409 when the
// dialog is TERMINATED or no agent has joined; an AGENT or SUPERVISOR
// message needs a joined participant of that type (a supervisor joins with
// :agentJoin {"participantType": "SUPERVISOR"}), else 409. Faults (/sim/faults) delay or
// fail API calls, the token endpoint included (narrow them with pathContains),
// never /sim calls.
package simulator
