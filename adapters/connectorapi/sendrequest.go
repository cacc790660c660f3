package connectorapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"github.com/connector-proxy/connector-proxy/envelope"
	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// How a SEND is read. Almost every SEND is an ms.PublishEvent of one fixed
// shape, written by a program: {"kind":"req","id":…,"type":"ms.PublishEvent",
// "body":{"dialogId":…,"event":{"type":…,"contentType":…,"message":…}}}.
// scanSend reads that shape in one pass, into what publish needs, the id and
// body aliasing the request. Anything else it does not judge: another type,
// a member spelled in other case or with escapes (encoding/json matches
// them), a duplicate member, a value of another JSON type, a null, JSON
// that is not valid; the envelope package and encoding/json then decode
// the request as they always did, and give their exact answers and
// refusals. So the fast path accepts only input that the general one
// decodes to the same values (FuzzScanSend holds the two together), and is
// hand-written because the standard decoder reads the envelope, then its
// body again, into interface values, with some thirty allocations; a
// faster general codec would still decode what publish does not need.

// messageKind is the JSON kind of a ContentEvent's message, which publish
// checks before it reads the text.
type messageKind uint8

const (
	messageNone   messageKind = iota // absent or null
	messageString                    // a string: the text
	messageOther                     // anything else
)

// publishEvent is ms.PublishEvent's body as publish needs it.
type publishEvent struct {
	id       string // dialogId, else conversationId
	hasEvent bool
	typ      string
	ctype    string // contentType
	state    string // chatState
	status   string
	text     string
	kind     messageKind
}

// publishBody is ms.PublishEvent's body, as encoding/json reads it.
type publishBody struct {
	DialogID       string `json:"dialogId"`
	ConversationID string `json:"conversationId"`
	Event          *struct {
		Type        string `json:"type"`
		ContentType string `json:"contentType"`
		// Message is any JSON so that one decode tells a text from
		// something text/plain cannot be.
		Message      any    `json:"message"`
		ChatState    string `json:"chatState"`
		Status       string `json:"status"`
		SequenceList []int  `json:"sequenceList"`
	} `json:"event"`
}

// decodePublish is the general reading of a PublishEvent's body.
func decodePublish(env *envelope.Envelope) (publishEvent, error) {
	var b publishBody
	if err := env.DecodeBody(&b); err != nil {
		return publishEvent{}, err
	}
	ev := publishEvent{id: b.DialogID}
	if ev.id == "" {
		ev.id = b.ConversationID
	}
	if e := b.Event; e != nil {
		ev.hasEvent = true
		ev.typ, ev.ctype, ev.state, ev.status = e.Type, e.ContentType, e.ChatState, e.Status
		switch m := e.Message.(type) {
		case nil:
		case string:
			ev.text, ev.kind = m, messageString
		default:
			ev.kind = messageOther
		}
	}
	return ev, nil
}

// scanSend reads a SEND of the common shape; ok is false for anything
// else, which the general decoding then reads.
func scanSend(b []byte) (env envelope.Envelope, ev publishEvent, ok bool) {
	var kind, id, typ, body bool
	end, ok := members(b, jsonscan.SkipSpace(b, 0), func(key, v []byte) bool {
		switch string(key) {
		case "kind":
			if kind || string(v) != `"req"` {
				return false
			}
			kind, env.Kind = true, envelope.KindRequest
		case "id":
			if id || !plainID(v) {
				return false
			}
			id, env.ID = true, json.RawMessage(v[:len(v):len(v)])
		case "type":
			if typ || string(v) != `"`+typePublishEvent+`"` {
				return false
			}
			typ, env.Type = true, typePublishEvent
		case "body":
			if body || !scanPublish(v, &ev) {
				return false
			}
			body, env.Body = true, json.RawMessage(v[:len(v):len(v)])
		default:
			return !foldsTo(key, "kind", "id", "type", "body")
		}
		return true
	})
	if !ok || !kind || !id || !typ || !body || jsonscan.SkipSpace(b, end) != len(b) {
		return envelope.Envelope{}, publishEvent{}, false
	}
	return env, ev, true
}

// plainID is an envelope id as the general decoding takes it: a non-empty
// string or a number.
func plainID(v []byte) bool {
	switch c := v[0]; {
	case c == '"':
		return len(v) > 2
	case c == '-' || (c >= '0' && c <= '9'):
		return true
	}
	return false
}

// scanPublish reads ms.PublishEvent's body.
func scanPublish(b []byte, ev *publishEvent) bool {
	var dialog, conv []byte
	var text []byte // a text without escapes, in the request: copied beside the id
	var haveDialog, haveConv, haveEvent bool
	_, ok := members(b, 0, func(key, v []byte) bool {
		switch string(key) {
		case "dialogId":
			if haveDialog || !plainString(v) {
				return false
			}
			haveDialog, dialog = true, v[1:len(v)-1]
		case "conversationId":
			if haveConv || !plainString(v) {
				return false
			}
			haveConv, conv = true, v[1:len(v)-1]
		case "event":
			if haveEvent || !scanEvent(v, ev, &text) {
				return false
			}
			haveEvent, ev.hasEvent = true, true
		default:
			return !foldsTo(key, "dialogId", "conversationId", "event")
		}
		return true
	})
	if !ok {
		return false
	}
	if len(dialog) == 0 {
		dialog = conv
	}
	if text != nil {
		ev.id, ev.text = twoStrings(dialog, text)
	} else {
		ev.id = string(dialog)
	}
	return true
}

// twoStrings copies a and b into one allocation: a SEND's id and text,
// which live as long as each other.
func twoStrings(a, b []byte) (string, string) {
	var sb strings.Builder
	sb.Grow(len(a) + len(b))
	sb.Write(a)
	sb.Write(b)
	s := sb.String()
	return s[:len(a)], s[len(a):]
}

// scanEvent reads the event of ms.PublishEvent; a text without escapes is
// left in the request, in *text, for the caller to copy.
func scanEvent(b []byte, ev *publishEvent, text *[]byte) bool {
	var seen [5]bool // type, contentType, chatState, status, message
	once := func(i int) bool {
		if seen[i] {
			return false
		}
		seen[i] = true
		return true
	}
	_, ok := members(b, 0, func(key, v []byte) bool {
		switch string(key) {
		case "type":
			if !once(0) || !plainString(v) {
				return false
			}
			ev.typ = eventType(v[1 : len(v)-1])
		case "contentType":
			if !once(1) || !plainString(v) {
				return false
			}
			ev.ctype = contentType(v[1 : len(v)-1])
		case "chatState":
			if !once(2) || !plainString(v) {
				return false
			}
			ev.state = string(v[1 : len(v)-1])
		case "status":
			if !once(3) || !plainString(v) {
				return false
			}
			ev.status = string(v[1 : len(v)-1])
		case "message":
			if !once(4) || v[0] != '"' {
				return false
			}
			if plainString(v) {
				*text = v[1 : len(v)-1 : len(v)-1]
			} else {
				var s string // escapes, read as encoding/json reads them
				if json.Unmarshal(v, &s) != nil {
					return false
				}
				ev.text = s
			}
			ev.kind = messageString
		default:
			// sequenceList (AcceptStatusEvent) is left to encoding/json,
			// which checks its numbers.
			return !foldsTo(key, "type", "contentType", "chatState", "status", "message", "sequenceList")
		}
		return true
	})
	return ok
}

// eventType and contentType return the usual values as constants, so
// that reading them copies nothing.
func eventType(v []byte) string {
	switch string(v) {
	case "ContentEvent":
		return "ContentEvent"
	case "ChatStateEvent":
		return "ChatStateEvent"
	case "AcceptStatusEvent":
		return "AcceptStatusEvent"
	}
	return string(v)
}

func contentType(v []byte) string {
	switch string(v) {
	case "text/plain":
		return "text/plain"
	case "":
		return ""
	}
	return string(v)
}

// plainString is a JSON string without escapes, in valid UTF-8: its
// bytes are its value.
func plainString(v []byte) bool {
	return len(v) >= 2 && v[0] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v)
}

// foldsTo reports whether key matches one of names as encoding/json
// matches member names (case-insensitively), which the fast path leaves to
// it.
func foldsTo(key []byte, names ...string) bool {
	for _, n := range names {
		if len(key) == len(n) && bytes.EqualFold(key, []byte(n)) {
			return true
		}
	}
	return false
}

// members walks the object that starts at b[i], calling fn with each
// member's name and value (valid JSON, validated as it goes); it stops,
// not ok, at a name with escapes, at invalid JSON, or when fn says so. It
// returns the index after the object.
func members(b []byte, i int, fn func(key, v []byte) bool) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		end, ok := jsonscan.String(b, i)
		if !ok {
			return 0, false
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			return 0, false
		}
		i = jsonscan.SkipSpace(b, end)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = jsonscan.SkipSpace(b, i+1)
		vend, ok := jsonscan.Value(b, i)
		if !ok || !fn(key, b[i:vend]) {
			return 0, false
		}
		i = jsonscan.SkipSpace(b, vend)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}
