package jsonscan

import (
	"encoding/binary"
	"encoding/json"
)

// MaxDepth is encoding/json's nesting limit.
const MaxDepth = 10000

// SkipSpace returns the index of the first non-whitespace byte at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// Valid reports whether b is one JSON value with optional whitespace
// around it, as json.Valid.
func Valid(b []byte) bool {
	i := SkipSpace(b, 0)
	end, ok := Value(b, i)
	return ok && SkipSpace(b, end) == len(b)
}

// SplitArray returns the elements of the JSON array b (which must start
// with '[' and may end with whitespace), each without surrounding
// whitespace and aliasing b; false when b is not such an array. It accepts
// what json.Unmarshal into a []json.RawMessage accepts.
func SplitArray(b []byte) ([]json.RawMessage, bool) {
	if len(b) == 0 || b[0] != '[' {
		return nil, false
	}
	out := make([]json.RawMessage, 0, 4)
	i := SkipSpace(b, 1)
	if i < len(b) && b[i] == ']' {
		return out, SkipSpace(b, i+1) == len(b)
	}
	for {
		end, ok := Value(b, i)
		if !ok {
			return nil, false
		}
		out = append(out, b[i:end:end])
		i = SkipSpace(b, end)
		if i >= len(b) {
			return nil, false
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case ']':
			return out, SkipSpace(b, i+1) == len(b)
		default:
			return nil, false
		}
	}
}

// Value returns the end of the JSON value that starts at b[i] (no
// whitespace before it), and whether there is a valid one.
func Value(b []byte, i int) (int, bool) {
	var inline [32]byte
	stack := inline[:0] // the open containers, '[' or '{'
	for {
		// A value starts at i.
		if i >= len(b) {
			return 0, false
		}
		open := false
		switch c := b[i]; {
		case c == '{' || c == '[':
			if len(stack) >= MaxDepth {
				return 0, false
			}
			stack = append(stack, c)
			i = SkipSpace(b, i+1)
			if i < len(b) && b[i] == c+2 { // '}' is '{'+2, ']' is '['+2
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if c == '{' {
				var ok bool
				if i, ok = member(b, i); !ok {
					return 0, false
				}
			}
			open = true
		case c == '"':
			end, ok := String(b, i)
			if !ok {
				return 0, false
			}
			i = end
		case c == '-' || c >= '0' && c <= '9':
			end, ok := number(b, i)
			if !ok {
				return 0, false
			}
			i = end
		case c == 't':
			if !literal(b, i, "true") {
				return 0, false
			}
			i += 4
		case c == 'f':
			if !literal(b, i, "false") {
				return 0, false
			}
			i += 5
		case c == 'n':
			if !literal(b, i, "null") {
				return 0, false
			}
			i += 4
		default:
			return 0, false
		}
		if open {
			continue // the first element or member value
		}
		// After a value: close containers until one goes on.
		for {
			if len(stack) == 0 {
				return i, true
			}
			i = SkipSpace(b, i)
			if i >= len(b) {
				return 0, false
			}
			top := stack[len(stack)-1]
			if b[i] == top+2 {
				stack = stack[:len(stack)-1]
				i++
				continue
			}
			if b[i] != ',' {
				return 0, false
			}
			i = SkipSpace(b, i+1)
			if top == '{' {
				var ok bool
				if i, ok = member(b, i); !ok {
					return 0, false
				}
			}
			break
		}
	}
}

// member reads `"key" :` and the whitespace after it; i is at the key.
func member(b []byte, i int) (int, bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, false
	}
	end, ok := String(b, i)
	if !ok {
		return 0, false
	}
	i = SkipSpace(b, end)
	if i >= len(b) || b[i] != ':' {
		return 0, false
	}
	return SkipSpace(b, i+1), true
}

// String returns the end of the JSON string at b[i] ('"'), past its
// closing quote.
func String(b []byte, i int) (int, bool) {
	i++
	for i < len(b) {
		// Eight bytes at a time while none ends the string or needs a look.
		for i+8 <= len(b) && !special8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		switch {
		case c == '"':
			return i + 1, true
		case c == '\\':
			if i+1 >= len(b) {
				return 0, false
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) {
					return 0, false
				}
				for _, h := range b[i+2 : i+6] {
					if !isHex(h) {
						return 0, false
					}
				}
				i += 6
			default:
				return 0, false
			}
		case c < 0x20:
			return 0, false
		default:
			i++
		}
	}
	return 0, false
}

// special8 reports whether one of the eight bytes in x may be a quote, a
// backslash or a control character (it may also answer true for none:
// the byte loop then decides).
func special8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	zero := func(v uint64) uint64 { return (v - ones) & ^v & highs }
	return zero(x^(ones*'"'))|zero(x^(ones*'\\'))|((x-ones*0x20) & ^x & highs) != 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// number returns the end of the JSON number at b[i].
func number(b []byte, i int) (int, bool) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return 0, false
		}
		for i < len(b) && isDigit(b[i]) {
			i++
		}
	}
	return i, true
}

func literal(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}
