package jsonscan

import (
	"bytes"
	"unicode/utf8"
)

// Member returns the value of the member called name of the JSON object b
// (whitespace around it allowed), aliasing b, without decoding the rest:
// for a decoder that needs one member first (an event's type, a record's
// version). It answers false, for encoding/json to decide, whenever the
// two could differ: b is not one valid object, a member name is escaped
// (it may spell name), or more than one member matches name as
// encoding/json matches field names (case-insensitively, the last one
// winning). name must be ASCII.
func Member(b []byte, name string) ([]byte, bool) {
	i := SkipSpace(b, 0)
	if i >= len(b) || b[i] != '{' {
		return nil, false
	}
	var (
		val   []byte
		found bool
	)
	for i = SkipSpace(b, i+1); i < len(b) && b[i] != '}'; {
		if b[i] != '"' {
			return nil, false
		}
		end, ok := String(b, i)
		if !ok {
			return nil, false
		}
		key := b[i+1 : end-1]
		if bytes.IndexByte(key, '\\') >= 0 || !utf8.Valid(key) {
			return nil, false
		}
		if i = SkipSpace(b, end); i >= len(b) || b[i] != ':' {
			return nil, false
		}
		i = SkipSpace(b, i+1)
		vend, ok := Value(b, i)
		if !ok {
			return nil, false
		}
		if bytes.EqualFold(key, []byte(name)) {
			if found || string(key) != name {
				return nil, false
			}
			val, found = b[i:vend], true
		}
		if i = SkipSpace(b, vend); i < len(b) && b[i] == ',' {
			if i = SkipSpace(b, i+1); i < len(b) && b[i] == '}' {
				return nil, false // a trailing comma
			}
		} else if i >= len(b) || b[i] != '}' {
			return nil, false
		}
	}
	if i >= len(b) || SkipSpace(b, i+1) != len(b) {
		return nil, false
	}
	return val, found
}
