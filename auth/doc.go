// Package auth is the Messaging Connector API's security: the apps a
// deployment knows, the AppJWT (an RS256 client-credentials token living 60
// minutes) and the ConsumerJWS (a per-consumer token that never expires but is
// bound to its account and app), a bounded cache of verified tokens, the
// LivePerson error codes for what fails, and the HMAC signature put on
// webhook notifications.
package auth
