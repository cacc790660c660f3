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

// fromBackend is the legacy answer to a failure of AXP or the store: AXP's
// constraint violations stay 400 with the fields renamed, an unknown id
// 404, throttling 429, AXP refusing the proxy's own credentials 502, AXP or
// the store unreachable or failing 503.
func fromBackend(err error, b Binding) *Error {
	var le *Error
	if errors.As(err, &le) {
		return le
	}
	var p *engagement.Problem
	switch {
	case errors.As(err, &p):
		switch {
		case p.Status == http.StatusBadRequest:
			out := violations(nil)
			if p.Detail != "" {
				out.Detail = p.Detail
			}
			for _, v := range p.Violations {
				out.Violations = append(out.Violations, Violation{Field: legacyField(v.Field, b), Message: v.Message, Code: v.Code})
			}
			return out
		case p.Status == http.StatusNotFound:
			return newError(http.StatusNotFound, p.Detail)
		case p.Status == http.StatusConflict:
			return newError(http.StatusConflict, p.Detail)
		case p.Status == http.StatusTooManyRequests:
			return newError(http.StatusTooManyRequests, p.Detail)
		case p.Status == http.StatusUnauthorized || p.Status == http.StatusForbidden:
			return newError(http.StatusBadGateway, "AXP refused the proxy's credentials")
		}
		return newError(http.StatusServiceUnavailable, "AXP failed ("+strconv.Itoa(p.Status)+"); retry later")
	case errors.Is(err, engagement.ErrOutcomeUnknown):
		return newError(http.StatusServiceUnavailable, "AXP did not confirm the write and it is not there yet; send the same request again: it will not be applied twice")
	case errors.Is(err, engagement.ErrUnreachable):
		return newError(http.StatusServiceUnavailable, "AXP did not answer; retry later")
	case errors.Is(err, mapping.ErrUnavailable):
		return newError(http.StatusServiceUnavailable, "the proxy's store is unavailable; retry later")
	}
	return newError(http.StatusInternalServerError, "An internal server error was encountered.")
}

// writeError answers e.
func writeError(ctx *fasthttp.RequestCtx, e *Error) {
	b, err := json.Marshal(e)
	if err != nil {
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	ctx.SetStatusCode(e.Status)
	ctx.SetContentType("application/problem+json")
	if e.Status == http.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="connector-proxy"`)
	}
	ctx.SetBody(b)
}
