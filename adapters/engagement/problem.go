package engagement

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ErrUnreachable is wrapped by every error that means AXP could not be
// reached: dial errors that persisted after the retries, timeouts, a
// connection lost before an answer. Faces answer 503 for it.
var ErrUnreachable = errors.New("engagement: AXP unreachable")

// ErrOutcomeUnknown is wrapped, beside ErrUnreachable, by the errors of a
// call that is not idempotent (a POST) and may have reached AXP: the request
// was, or may have been, written and no answer came (a timeout, a lost
// connection). Whether AXP applied it has to be found out by reading
// (FindMessage, FindDialog); sending it again could apply it twice.
var ErrOutcomeUnknown = errors.New("engagement: AXP did not answer; whether it applied the call is unknown")

// Problem is an RFC 7807 problem document from AXP, and the error every non-2xx
// answer becomes (a body that is not a problem document still yields a Problem
// with Status set and the body, shortened, as Detail).
type Problem struct {
	Type       string      `json:"type,omitempty"`
	Title      string      `json:"title,omitempty"`
	Status     int         `json:"status"`
	Detail     string      `json:"detail,omitempty"`
	Instance   string      `json:"instance,omitempty"`
	Violations []Violation `json:"violations,omitempty"`
	// RetryAfter is the answer's Retry-After (a 429's or a 503's), 0 when
	// it had none; Classify carries it to the faces.
	RetryAfter time.Duration `json:"-"`
}

// Violation names one invalid field of a 400 answer.
type Violation struct {
	Field   string `json:"field"`
	Message string `json:"message"`
	Code    int    `json:"code,omitempty"`
}

// Error describes the problem with its violations.
func (p *Problem) Error() string {
	var b strings.Builder
	b.WriteString("engagement: AXP answered ")
	b.WriteString(strconv.Itoa(p.Status))
	if p.Title != "" {
		b.WriteString(" ")
		b.WriteString(p.Title)
	}
	if p.Detail != "" {
		b.WriteString(": ")
		b.WriteString(p.Detail)
	}
	for i, v := range p.Violations {
		if i == 0 {
			b.WriteString(" (")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(v.Field)
		b.WriteString(": ")
		b.WriteString(v.Message)
		if i == len(p.Violations)-1 {
			b.WriteString(")")
		}
	}
	return b.String()
}

// Violation returns the violation of the named field, or nil.
func (p *Problem) Violation(field string) *Violation {
	for i := range p.Violations {
		if p.Violations[i].Field == field {
			return &p.Violations[i]
		}
	}
	return nil
}

// UnmarshalJSON tolerates "status" and "code" written as strings: one of
// AXP's documented examples has "status":"400".
func (p *Problem) UnmarshalJSON(b []byte) error {
	var aux struct {
		Type       string     `json:"type"`
		Title      string     `json:"title"`
		Status     looseInt   `json:"status"`
		Detail     string     `json:"detail"`
		Instance   string     `json:"instance"`
		Violations []struct { // Violation with a loose code
			Field   string   `json:"field"`
			Message string   `json:"message"`
			Code    looseInt `json:"code"`
		} `json:"violations"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	*p = Problem{Type: aux.Type, Title: aux.Title, Status: int(aux.Status), Detail: aux.Detail, Instance: aux.Instance}
	for _, v := range aux.Violations {
		p.Violations = append(p.Violations, Violation{Field: v.Field, Message: v.Message, Code: int(v.Code)})
	}
	return nil
}

// looseInt decodes a JSON number or a string holding one ("" and null are 0).
type looseInt int

func (n *looseInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	if len(b) >= 2 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(strings.TrimSpace(s))
		if len(b) == 0 {
			*n = 0
			return nil
		}
	}
	v, err := strconv.Atoi(string(b))
	if err != nil {
		return fmt.Errorf("engagement: %q is not an integer: %w", b, err)
	}
	*n = looseInt(v)
	return nil
}

// maxDetail bounds how much of a non-problem error body lands in Detail.
const maxDetail = 512

// problemFrom builds the Problem of a non-2xx answer. The status line wins
// over a missing or different "status" in the body, since that is what AXP
// actually answered.
func problemFrom(status int, contentType, body []byte) *Problem {
	p := &Problem{}
	trimmed := bytes.TrimSpace(body)
	isJSON := bytes.Contains(contentType, []byte("json")) || (len(trimmed) > 0 && trimmed[0] == '{')
	if !isJSON || json.Unmarshal(trimmed, p) != nil {
		p = &Problem{Detail: shorten(trimmed)}
	}
	p.Status = status
	if p.Title == "" {
		p.Title = http.StatusText(status)
	}
	return p
}

func shorten(b []byte) string {
	if len(b) <= maxDetail {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	cut := maxDetail
	for cut > 0 && !utf8.RuneStart(b[cut]) {
		cut--
	}
	return strings.ToValidUTF8(string(b[:cut]), "\uFFFD") + "…"
}
