package legacyv1

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// Error is the legacy face's error answer, and an error that carries its
// status. No legacy error sample is known; the legacy API is OneCloud
// CCaaS's, whose error-handling page the problem types of every later
// generation name, so the face answers the same RFC 7807 problem document
// (application/problem+json) with violations, each naming the legacy field
// at fault (mediaType, contextParameters.model, [0].callbackUrl, …).
type Error struct {
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Status     int         `json:"status"`
	Detail     string      `json:"detail,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	// retryAfter, in seconds, is sent as Retry-After (0: none).
	retryAfter int
}

// Violation names one bad field of a request, by its legacy name.
type Violation struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    int    `json:"code,omitempty"`
}

// Violation codes, those of AXP's problems (the simulator's list).
const (
	codeNotNull = 20002
	codeSize    = 20003
	codeEnum    = 20004
	codeState   = 20005
	codeType    = 20007 // the value is not of the field's JSON type
)

// Problem type URIs.
const (
	typeConstraintViolation = "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling#constraint-violation"
	typeBlank               = "about:blank"
)

// Error describes the answer.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "legacyv1: %d %s", e.Status, e.Title)
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, v := range e.Violations {
		b.WriteString("; " + v.Field + ": " + v.Message)
	}
	return b.String()
}

// Field is the first field the error names, "" when it names none.
func (e *Error) Field() string {
	if len(e.Violations) == 0 {
		return ""
	}
	return e.Violations[0].Field
}

// newError is an error of status with the reference's wording.
func newError(status int, detail string) *Error {
	return &Error{Type: typeBlank, Title: http.StatusText(status), Status: status, Detail: detail}
}

// badField is the 400 for one bad field.
func badField(field, msg string, code int) *Error {
	return violations([]Violation{{Field: field, Message: msg, Code: code}})
}

func violations(v []Violation) *Error {
	return &Error{
		Type:       typeConstraintViolation,
		Title:      "Constraint Violation",
		Status:     http.StatusBadRequest,
		Detail:     "A problem that indicates a syntactically correct, yet semantically illegal request.",
		Violations: v,
	}
}

// forbiddenField is the 403 for a request naming another account than the
// one the token is bound to; the field says where.
func forbiddenField(field, got, bound string) *Error {
	e := newError(http.StatusForbidden, "the token is bound to account "+bound)
	e.Violations = []Violation{{Field: field, Message: fmt.Sprintf("%q is not the token's account %q", got, bound)}}
	return e
}

// legacyField renames a v1beta field path of an AXP violation to the legacy
// field the client sent: the inverse of the request translation.
func legacyField(field string, b Binding) string {
	for _, r := range [...]struct{ v1beta, legacy string }{
		{"channelId", "mediaType"},
		{"engagementParameters", "contextParameters"},
		{"senderParticipantName", "senderName"},
		{"providerCustomerId", "userId"},
		{"initiatorParticipantId", "sourceParticipantId"},
	} {
		if field == r.v1beta {
			return r.legacy
		}
		if rest, ok := strings.CutPrefix(field, r.v1beta); ok && (rest[0] == '.' || rest[0] == '[') {
			return r.legacy + rest
		}
	}
	if rest, ok := strings.CutPrefix(field, "customerIdentifiers"); ok {
		key, _, _ := strings.Cut(strings.TrimLeft(rest, ".["), "[")
		key = strings.Trim(key, `"'].`)
		switch key {
		case keyEmails:
			return "emailAddress"
		case keyPhones:
			return "contactNumber"
		}
		return "customerIdentifier"
	}
	return field
}

// fromBackend is the legacy answer to a failure of AXP or the store, by
// engagement.Classify as every face answers it: AXP's constraint
// violations stay 400 with the fields renamed, an unknown id 404, a
// conflict 409, throttling 429 and AXP or the store failing 503 (both with
// AXP's Retry-After), AXP refusing the proxy's own credentials 502.
func fromBackend(err error, b Binding) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	if errors.Is(err, engagement.ErrOutcomeUnknown) {
		return newError(http.StatusServiceUnavailable, "AXP did not confirm the write and it is not there yet; send the same request again: it will not be applied twice")
	}
	f := engagement.Classify(err, mapping.ErrUnavailable)
	detail := ""
	if f.Problem != nil {
		detail = f.Problem.Detail
	}
	var out *Error
	switch f.Class {
	case engagement.ClassInvalid:
		out = violations(nil)
		if detail != "" {
			out.Detail = detail
		}
		for _, v := range f.Problem.Violations {
			out.Violations = append(out.Violations, Violation{Field: legacyField(v.Field, b), Message: v.Message, Code: v.Code})
		}
		return out
	case engagement.ClassNotFound:
		return newError(http.StatusNotFound, detail)
	case engagement.ClassConflict:
		return newError(http.StatusConflict, detail)
	case engagement.ClassThrottled:
		out = newError(http.StatusTooManyRequests, detail)
	case engagement.ClassRefused:
		return newError(http.StatusBadGateway, "AXP refused the proxy's credentials")
	case engagement.ClassUnavailable, engagement.ClassUnexpected:
		switch {
		case errors.Is(err, mapping.ErrUnavailable):
			out = newError(http.StatusServiceUnavailable, "the proxy's store is unavailable; retry later")
		case f.Status != 0:
			out = newError(http.StatusServiceUnavailable, "AXP failed ("+strconv.Itoa(f.Status)+"); retry later")
		default:
			out = newError(http.StatusServiceUnavailable, "AXP did not answer; retry later")
		}
	default:
		return newError(http.StatusInternalServerError, "An internal server error was encountered.")
	}
	out.retryAfter = f.RetryAfterSeconds()
	return out
}

// writeError answers e.
func writeError(ctx *fasthttp.RequestCtx, e *Error) {
	b, err := json.Marshal(e)
	if err != nil {
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/problem+json")
	if e.retryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.Status == http.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="connector-proxy"`)
	}
	ctx.SetBody(b)
}
