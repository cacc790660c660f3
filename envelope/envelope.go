package envelope

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// Kinds of envelope.
const (
	KindRequest      = "req"
	KindResponse     = "resp"
	KindNotification = "notification"
)

// MaxBatch is the most requests a batch may hold; CONVERSATION needs two.
const MaxBatch = 16

// Errors a decode wraps; match them with errors.Is.
var (
	// ErrSyntax is input that is not JSON of the expected shape.
	ErrSyntax = errors.New("envelope: malformed JSON")
	// ErrInvalid is an envelope with a missing or ill-typed field.
	ErrInvalid = errors.New("envelope: invalid envelope")
	// ErrKind is an envelope whose kind is unknown, or is not a request.
	ErrKind = errors.New("envelope: unsupported kind")
)

// Error says what is wrong with an envelope and where.
type Error struct {
	// Index is the envelope's position in a batch, -1 for a single one.
	Index int
	// Field names the offending field ("id", "body", …), "" for the whole.
	Field string
	// ReqID is the envelope's id when it could be read, for the answer.
	ReqID json.RawMessage
	Msg   string
	Err   error
}

func (e *Error) Error() string {
	var b bytes.Buffer
	b.WriteString("envelope")
	if e.Index >= 0 {
		b.WriteString("[" + strconv.Itoa(e.Index) + "]")
	}
	if e.Field != "" {
		b.WriteString(" field " + e.Field)
	}
	b.WriteString(": " + e.Msg)
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Envelope is one decoded request. ID and Body are the raw JSON the client
// sent; they are copies, safe to keep after the input buffer is reused.
type Envelope struct {
	Kind string
	ID   json.RawMessage
	Type string
	Body json.RawMessage
}

// wire is how an envelope is read; RawMessage keeps id and body verbatim.
type wire struct {
	Kind *string         `json:"kind"`
	ID   json.RawMessage `json:"id"`
	Type *string         `json:"type"`
	Body json.RawMessage `json:"body"`
}

// DecodeRequest decodes and validates one request envelope (a SEND).
func DecodeRequest(data []byte) (*Envelope, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		if len(data) > 0 && data[0] == '[' {
			return nil, &Error{Index: -1, Msg: "expected one envelope, got a batch", Err: ErrInvalid}
		}
		return nil, &Error{Index: -1, Msg: "expected a JSON object", Err: ErrSyntax}
	}
	return decodeOne(data, -1)
}

// DecodeBatch decodes and validates a JSON array of request envelopes (a
// CONVERSATION). It stops at the first bad envelope.
func DecodeBatch(data []byte) ([]*Envelope, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '[' {
		if len(data) > 0 && data[0] == '{' {
			return nil, &Error{Index: -1, Msg: "expected a JSON array of envelopes, got one envelope", Err: ErrInvalid}
		}
		return nil, &Error{Index: -1, Msg: "expected a JSON array", Err: ErrSyntax}
	}
	var raw []json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, &Error{Index: -1, Msg: syntaxMsg(err), Err: ErrSyntax}
	}
	if len(raw) == 0 {
		return nil, &Error{Index: -1, Msg: "empty batch", Err: ErrInvalid}
	}
	if len(raw) > MaxBatch {
		return nil, &Error{Index: -1, Msg: fmt.Sprintf("batch of %d envelopes, at most %d allowed", len(raw), MaxBatch), Err: ErrInvalid}
	}
	out := make([]*Envelope, 0, len(raw))
	for i, r := range raw {
		env, err := decodeOne(r, i)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

func decodeOne(data []byte, index int) (*Envelope, error) {
	var w wire
	if err := json.Unmarshal(data, &w); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, &Error{Index: index, Field: te.Field, Msg: "must be " + jsonscan.Expected(te.Type), Err: ErrInvalid}
		}
		return nil, &Error{Index: index, Msg: syntaxMsg(err), Err: ErrSyntax}
	}
	id, idErr := validID(w.ID)
	fail := func(field, msg string, sentinel error) error {
		e := &Error{Index: index, Field: field, Msg: msg, Err: sentinel}
		if idErr == nil {
			e.ReqID = id
		}
		return e
	}
	switch {
	case w.Kind == nil:
		return nil, fail("kind", "is missing", ErrInvalid)
	case *w.Kind == KindResponse || *w.Kind == KindNotification:
		return nil, fail("kind", fmt.Sprintf("%q is not accepted from a client", *w.Kind), ErrKind)
	case *w.Kind != KindRequest:
		return nil, fail("kind", fmt.Sprintf("unknown kind %q", *w.Kind), ErrKind)
	case idErr != nil:
		return nil, fail("id", idErr.Error(), ErrInvalid)
	case w.Type == nil || *w.Type == "":
		return nil, fail("type", "is missing", ErrInvalid)
	case len(w.Body) == 0 || bytes.Equal(w.Body, []byte("null")):
		return nil, fail("body", "is missing", ErrInvalid)
	case w.Body[0] != '{':
		return nil, fail("body", "must be a JSON object", ErrInvalid)
	}
	// json.RawMessage's UnmarshalJSON already copied id and body out of data.
	return &Envelope{Kind: *w.Kind, ID: id, Type: *w.Type, Body: w.Body}, nil
}

// validID accepts a JSON string or number, the two forms clients send.
func validID(id json.RawMessage) (json.RawMessage, error) {
	if len(id) == 0 || bytes.Equal(id, []byte("null")) {
		return nil, errors.New("is missing")
	}
	switch c := id[0]; {
	case c == '"':
		if len(id) == 2 {
			return nil, errors.New("is empty")
		}
		return id, nil
	case c == '-' || (c >= '0' && c <= '9'):
		return id, nil
	}
	return nil, errors.New("must be a string or a number")
}

func syntaxMsg(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se)
	}
	return "malformed JSON: " + err.Error()
}

// DecodeBody decodes an envelope's body into v, reporting a body field of the
// wrong type as an ErrInvalid naming that exact field, array indices
// included ("body.event.sequenceList[2]").
func (e *Envelope) DecodeBody(v any) error {
	if err := json.Unmarshal(e.Body, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			field := "body"
			if p := jsonscan.TypeErrorPath(e.Body, te); p != "" {
				if p[0] != '[' {
					field += "."
				}
				field += p
			}
			return &Error{Index: -1, Field: field, ReqID: e.ID, Msg: "must be " + jsonscan.Expected(te.Type), Err: ErrInvalid}
		}
		return &Error{Index: -1, Field: "body", ReqID: e.ID, Msg: syntaxMsg(err), Err: ErrSyntax}
	}
	return nil
}
