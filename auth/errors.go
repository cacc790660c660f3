package auth

import (
	"errors"
	"fmt"
)

// LivePerson error codes; the first three digits are the HTTP status.
const (
	CodeMissingParameter   = 40001
	CodeInvalidAppJWT      = 40102
	CodeInvalidConsumerJWS = 40103
	CodeConsumerJWSMissing = 40104
	CodeAppJWTMissing      = 40105
)

// Sentinels an *Error unwraps to; match them with errors.Is.
var (
	ErrMissingParameter   = errors.New("auth: missing parameter")
	ErrInvalidAppJWT      = errors.New("auth: invalid AppJWT")
	ErrInvalidConsumerJWS = errors.New("auth: invalid ConsumerJWS")
	ErrConsumerJWSMissing = errors.New("auth: ConsumerJWS missing")
	ErrAppJWTMissing      = errors.New("auth: AppJWT missing")
	ErrBadCredentials     = errors.New("auth: bad client credentials")
	ErrBadValue           = errors.New("auth: value not accepted")
)

// Error is an authentication failure in LivePerson's terms: the HTTP status,
// errorCode, title and details of the error body a connector receives.
type Error struct {
	Status    int
	ErrorCode int
	Title     string
	Details   string
	kind      error
	cause     error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Title, e.Details, e.cause)
	}
	return e.Title + ": " + e.Details
}

// Unwrap gives the sentinel and the underlying cause.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.kind, e.cause}
	}
	return []error{e.kind}
}

// MissingParameter is 40001 naming what is missing.
func MissingParameter(details string) *Error {
	return &Error{Status: 400, ErrorCode: CodeMissingParameter, Title: "Missing parameter", Details: details, kind: ErrMissingParameter}
}

func invalidAppJWT(cause error) *Error {
	return &Error{Status: 401, ErrorCode: CodeInvalidAppJWT, Title: "Invalid AppJWT", Details: "AppJWT has expired or is invalid", kind: ErrInvalidAppJWT, cause: cause}
}

func appJWTMissing() *Error {
	return &Error{Status: 401, ErrorCode: CodeAppJWTMissing, Title: "AppJWT is missing", Details: "AUTHORIZATION header is not present", kind: ErrAppJWTMissing}
}

func invalidConsumerJWS(details string, cause error) *Error {
	return &Error{Status: 401, ErrorCode: CodeInvalidConsumerJWS, Title: "Invalid ConsumerJWS", Details: details, kind: ErrInvalidConsumerJWS, cause: cause}
}

func consumerJWSMissing() *Error {
	return &Error{Status: 401, ErrorCode: CodeConsumerJWSMissing, Title: "ConsumerJWS is missing", Details: "X_ON_BEHALF_HEADER is not present", kind: ErrConsumerJWSMissing}
}

// NotOwner is the 401 for a consumer touching a conversation that is not
// theirs: LivePerson answers it as an invalid ConsumerJWS.
func NotOwner() *Error {
	return invalidConsumerJWS("ConsumerJWS does not own this conversation", nil)
}

func badCredentials() *Error {
	return &Error{Status: 401, ErrorCode: CodeInvalidAppJWT, Title: "Invalid client credentials", Details: "client_id or client_secret is wrong for this account", kind: ErrBadCredentials}
}

func badValue(details string) *Error {
	return &Error{Status: 400, ErrorCode: 40000, Title: "Bad request", Details: details, kind: ErrBadValue}
}
