package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/valyala/fasthttp"
)

// Violation codes. 20002 and 20006 are the codes the reference's examples
// show; the others are the simulator's own, in the same range.
const (
	codeNotNull = 20002
	codeSize    = 20003
	codeEnum    = 20004
	codeState   = 20005
	codePattern = 20006
)

// Problem type URIs. The constraint-violation URI is the one AXP's examples use.
const (
	typeConstraintViolation = "https://developers.avayacloud.com/onecloud-ccaas/docs/error-handling#constraint-violation"
	typeBlank               = "about:blank"
)

// Violation is one entry of a problem's violations.
type Violation struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    int    `json:"code,omitempty"`
}

// Problem is an RFC 7807 problem document as AXP writes it.
type Problem struct {
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Status     int         `json:"status"`
	Detail     string      `json:"detail,omitempty"`
	Instance   string      `json:"instance,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// newProblem builds a problem with the reference's wording for the status.
func newProblem(status int, detail string) *Problem {
	p := &Problem{Type: typeBlank, Title: http.StatusText(status), Status: status, Detail: detail}
	if p.Detail == "" {
		p.Detail = defaultDetail(status)
	}
	return p
}

func defaultDetail(status int) string {
	switch status {
	case http.StatusUnauthorized:
		return "This operation requires authentication"
	case http.StatusForbidden:
		return "the current user and/or accountId does not have permission to access this resource"
	case http.StatusNotFound:
		return "There is no API method associated with the URL path or the resource was not found"
	case http.StatusTooManyRequests:
		return "Spike limit has been exhausted"
	case http.StatusInternalServerError:
		return "An internal server error was encountered."
	}
	return http.StatusText(status)
}

// violationProblem is the 400 AXP answers for constraint violations.
func violationProblem(v []Violation) *Problem {
	return &Problem{
		Type:       typeConstraintViolation,
		Title:      "Constraint Violation",
		Status:     http.StatusBadRequest,
		Detail:     "A problem that indicates a syntactically correct, yet semantically illegal request.",
		Violations: v,
	}
}

// stateProblem is a 400 for a request that is well formed but illegal in the
// resource's current state (a send to a TERMINATED dialog, …).
func stateProblem(field, msg string) *Problem {
	return violationProblem([]Violation{{Field: field, Message: msg, Code: codeState}})
}

func malformed(err error) *Problem {
	return &Problem{Type: typeBlank, Title: "Malformed Payload", Status: http.StatusBadRequest,
		Detail: "The request body could not be parsed: " + err.Error()}
}

func notFound(what, id string) *Problem {
	return newProblem(http.StatusNotFound, what+" "+id+" was not found")
}

func quota(detail string) *Problem {
	return newProblem(http.StatusTooManyRequests, "Tenant Quota has been exhausted: "+detail)
}

func writeProblem(ctx *fasthttp.RequestCtx, p *Problem) {
	b, err := json.Marshal(p)
	if err != nil {
		b = []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	ctx.SetStatusCode(p.Status)
	ctx.SetContentType("application/problem+json")
	if p.Status == http.StatusUnauthorized {
		ctx.Response.Header.Set("WWW-Authenticate", `Bearer realm="axp"`)
	}
	ctx.SetBody(b)
}

func writeJSON(ctx *fasthttp.RequestCtx, status int, v any) {
	if gaPath(ctx.Path()) {
		v = rebaseURLs(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		writeProblem(ctx, newProblem(http.StatusInternalServerError, ""))
		return
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}

// decodeBody unmarshals a JSON request body; an empty body is null.
func decodeBody(ctx *fasthttp.RequestCtx, v any) *Problem {
	body := ctx.PostBody()
	if len(body) == 0 {
		return malformed(fmt.Errorf("the body is empty"))
	}
	if err := json.Unmarshal(body, v); err != nil {
		return malformed(err)
	}
	return nil
}

// checker collects violations; field names are JSON paths as AXP reports them.
type checker struct{ v []Violation }

func (c *checker) add(field, msg string, code int) {
	c.v = append(c.v, Violation{Field: field, Message: msg, Code: code})
}

func (c *checker) problem() *Problem {
	if len(c.v) == 0 {
		return nil
	}
	return violationProblem(c.v)
}

func (c *checker) notNull(field string, present bool) bool {
	if !present {
		c.add(field, "must not be null", codeNotNull)
	}
	return present
}

// size checks an optional string's length in characters.
func (c *checker) size(field, s string, minLen, maxLen int) {
	if s == "" && minLen > 0 {
		return // absence is checked by notNull where the field is required
	}
	if n := utf8.RuneCountInString(s); n < minLen || n > maxLen {
		c.add(field, "size must be between "+strconv.Itoa(minLen)+" and "+strconv.Itoa(maxLen), codeSize)
	}
}

// requiredSize is notNull followed by size.
func (c *checker) requiredSize(field, s string, minLen, maxLen int) {
	if c.notNull(field, s != "") {
		c.size(field, s, minLen, maxLen)
	}
}

// uuid checks a required UUID field.
func (c *checker) uuid(field, s string) bool {
	if !c.notNull(field, s != "") {
		return false
	}
	if !isUUID(s) {
		c.add(field, `must match "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"`, codePattern)
		return false
	}
	return true
}

// dialogIDs checks the three ids a call on one customer's dialog names: the
// engagement in the path, the session and dialog in the body.
func (c *checker) dialogIDs(engagementID, sessionID, dialogID string) {
	c.uuid("engagementId", engagementID)
	c.uuid("sessionId", sessionID)
	c.uuid("dialogId", dialogID)
}

func (c *checker) enum(field, s string, allowed ...string) {
	if s == "" {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	c.add(field, fmt.Sprintf("must be one of %v", allowed), codeEnum)
}

// params checks a flat string map (sessionParameters, engagementParameters,
// customData, additionalHeaders).
func (c *checker) params(field string, p map[string]string, maxKeys, maxKey, maxVal int) {
	if len(p) > maxKeys {
		c.add(field, "size must be between 0 and "+strconv.Itoa(maxKeys), codeSize)
	}
	for k, v := range p {
		if n := utf8.RuneCountInString(k); n < 1 || n > maxKey {
			c.add(field+"."+k, "key size must be between 1 and "+strconv.Itoa(maxKey), codeSize)
		}
		if utf8.RuneCountInString(v) > maxVal {
			c.add(field+"."+k, "size must be between 0 and "+strconv.Itoa(maxVal), codeSize)
		}
	}
}

// identifiers checks a customerIdentifiers map: 1..10 keys of ≤50 characters,
// each a list of 1..5 values of 1..256 characters.
func (c *checker) identifiers(field string, ids map[string][]string) {
	if len(ids) < 1 || len(ids) > maxIdentifierKeys {
		c.add(field, "size must be between 1 and "+strconv.Itoa(maxIdentifierKeys), codeSize)
	}
	for k, vals := range ids {
		if n := utf8.RuneCountInString(k); n < 1 || n > 50 {
			c.add(field+"."+k, "key size must be between 1 and 50", codeSize)
		}
		if len(vals) < 1 || len(vals) > maxIdentifierValues {
			c.add(field+"."+k, "size must be between 1 and "+strconv.Itoa(maxIdentifierValues), codeSize)
		}
		for i, v := range vals {
			if n := utf8.RuneCountInString(v); n < 1 || n > 256 {
				c.add(field+"."+k+"["+strconv.Itoa(i)+"]", "size must be between 1 and 256", codeSize)
			}
		}
	}
}

const (
	maxIdentifierKeys   = 10
	maxIdentifierValues = 5
)

// isUUID reports whether s has the 8-4-4-4-12 hex form AXP's pattern demands.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < 36; i++ {
		ch := s[i]
		switch i {
		case 8, 13, 18, 23:
			if ch != '-' {
				return false
			}
		default:
			if !('0' <= ch && ch <= '9' || 'a' <= ch && ch <= 'f' || 'A' <= ch && ch <= 'F') {
				return false
			}
		}
	}
	return true
}

// isAccountID reports whether s matches ^[a-zA-Z]{6}$.
func isAccountID(s string) bool {
	if len(s) != 6 {
		return false
	}
	for i := 0; i < 6; i++ {
		ch := s[i]
		if !('a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z') {
			return false
		}
	}
	return true
}
