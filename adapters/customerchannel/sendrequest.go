package customerchannel

import (
	"bytes"
	"encoding/json"
	"unicode/utf8"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// sendMessage is the hot event (every message and every typing
// notification), so its payload is decoded by hand in one pass over the
// bytes the Socket.IO packet already validated, instead of through
// encoding/json's reflection (which scans twice: to validate, then to
// decode). Anything the fast path is not sure of (escapes in a key, a
// non-ASCII key, a value of the wrong type, bad syntax) is left to
// json.Unmarshal, so that the result and the error are always exactly
// encoding/json's; the fuzz test holds the two to that.

// decodeSend reads a sendMessage payload into req, as decode does, with
// the same checks of its text.
func decodeSend(payload json.RawMessage, req *SendRequest) *eventError {
	if len(payload) == 0 || payload[0] != '{' {
		return fail(CodeBadPayload, "", "the payload must be a JSON object")
	}
	if !fastDecodeSend(payload, req) {
		var general SendRequest // on the heap only for this path
		err := checkPayload(payload, &general)
		*req = general
		return err
	}
	if p := jsonscan.Text(payload); p != nil {
		return fieldError(p.Path, p.Reason)
	}
	return checkSendLines(req)
}

// checkSendLines is checkLines for a SendRequest, without making the list.
func checkSendLines(r *SendRequest) *eventError {
	check := func(name, v string) *eventError {
		if reason := jsonscan.CheckLine(v); reason != "" {
			return fieldError(name, reason)
		}
		return nil
	}
	for _, f := range [...]struct{ name, v string }{{"type", r.Type}, {"conversationId", r.ConversationID}, {"tag", r.Tag},
		{"refId", r.RefID}, {"activityType", r.ActivityType}} {
		if err := check(f.name, f.v); err != nil {
			return err
		}
	}
	if r.From != nil {
		if err := check("from.id", r.From.ID); err != nil {
			return err
		}
		return check("from.name", r.From.Name)
	}
	return nil
}

// fastDecodeSend decodes b (starting with '{') into req; false when it
// left the case to json.Unmarshal (req may then be partly set).
func fastDecodeSend(b []byte, req *SendRequest) bool {
	end, ok := decodeObject(b, 0, func(key, val []byte) bool {
		switch {
		case fieldIs(key, "type"):
			return knownField(val, &req.Type, TypeChatMessage, TypeActivityMessage)
		case fieldIs(key, "conversationId"):
			return stringField(val, &req.ConversationID)
		case fieldIs(key, "id"):
			return stringField(val, &req.ID)
		case fieldIs(key, "text"):
			return stringField(val, &req.Text)
		case fieldIs(key, "tag"):
			return stringField(val, &req.Tag)
		case fieldIs(key, "refId"):
			return stringField(val, &req.RefID)
		case fieldIs(key, "activityType"):
			return knownField(val, &req.ActivityType, ActivityTyping)
		case fieldIs(key, "from"):
			if string(val) == "null" {
				req.From = nil
				return true
			}
			if val[0] != '{' {
				return false
			}
			if req.From == nil { // a repeated "from" fills the same value, as encoding/json does
				req.From = &Participant{}
			}
			p := req.From
			_, ok := decodeObject(val, 0, func(key, val []byte) bool {
				switch {
				case fieldIs(key, "id"):
					return stringField(val, &p.ID)
				case fieldIs(key, "name"):
					return stringField(val, &p.Name)
				case fieldIs(key, "type"):
					return stringField(val, &p.Type)
				}
				return true
			})
			return ok
		}
		return true // unknown members are ignored
	})
	return ok && jsonscan.SkipSpace(b, end) == len(b)
}

// decodeObject walks the object at b[i], calling member with each key
// token (quotes included) and value token; it returns the end of the
// object. False on bad syntax or when member returns false.
func decodeObject(b []byte, i int, member func(key, val []byte) bool) (int, bool) {
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
		kend, ok := jsonscan.String(b, i)
		if !ok {
			return 0, false
		}
		key := b[i:kend]
		if !plainKey(key) {
			return 0, false
		}
		i = jsonscan.SkipSpace(b, kend)
		if i >= len(b) || b[i] != ':' {
			return 0, false
		}
		i = jsonscan.SkipSpace(b, i+1)
		vend, ok := jsonscan.Value(b, i)
		if !ok || !member(key, b[i:vend]) {
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

// plainKey: a key token of printable ASCII without escapes. encoding/json
// unescapes keys and folds some non-ASCII letters (K, ſ) onto ASCII ones,
// so any other key is left to it.
func plainKey(key []byte) bool {
	for _, c := range key[1 : len(key)-1] {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// fieldIs matches a plain key token against a field name as encoding/json
// does: ignoring ASCII case (the names differ in more than case).
func fieldIs(key []byte, name string) bool {
	k := key[1 : len(key)-1]
	return len(k) == len(name) && bytes.EqualFold(k, []byte(name))
}

// knownField is stringField for a field whose usual values are known:
// those are set as the constants, without a copy.
func knownField(val []byte, dst *string, known ...string) bool {
	if len(val) > 2 && val[0] == '"' {
		for _, k := range known {
			if string(val[1:len(val)-1]) == k {
				*dst = k
				return true
			}
		}
	}
	return stringField(val, dst)
}

// stringField sets *dst from a string token, leaves it for null; false for
// anything json.Unmarshal must judge.
func stringField(val []byte, dst *string) bool {
	switch {
	case string(val) == "null":
		return true
	case val[0] != '"':
		return false // a type error: encoding/json words it
	}
	s := val[1 : len(val)-1]
	if bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s) {
		*dst = string(s)
		return true
	}
	// Escapes (a newline in a message) or bytes encoding/json replaces.
	var out string
	if err := json.Unmarshal(val, &out); err != nil {
		return false
	}
	*dst = out
	return true
}
