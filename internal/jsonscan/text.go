package jsonscan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth matches encoding/json's nesting limit; deeper input is left to
// the decoder, which refuses it.
const maxDepth = 10000

// Problem is a string that is not clean text.
type Problem struct {
	// Path names the value holding the string, or the member whose name
	// it is.
	Path string
	// Reason says what is wrong, e.g. "holds a NUL character".
	Reason string
	// Key is true when the string is a member name rather than a value.
	Key bool
}

func (p *Problem) Error() string {
	what := "value"
	if p.Key {
		what = "member name"
	}
	if p.Path == "" {
		return fmt.Sprintf("the %s %s", what, p.Reason)
	}
	return fmt.Sprintf("%s: the %s %s", p.Path, what, p.Reason)
}

// Text returns the first string of data that is not clean text, nil when
// every string is (or when data is not JSON).
func Text(data []byte) *Problem {
	s := scanner{data: data, target: -1}
	f := s.value()
	if f == nil || f.syntax {
		return nil
	}
	return &Problem{Path: f.path(), Reason: f.reason, Key: f.key}
}

// PathAt returns the path of the innermost value whose text spans offset
// (a value spans its first byte up to and including the byte after its
// last, as the decoder's offsets count "bytes read"). ok is false when data
// is not JSON or offset lies outside every value.
func PathAt(data []byte, offset int64) (path string, ok bool) {
	if offset < 0 || offset > int64(len(data)) {
		return "", false
	}
	s := scanner{data: data, target: int(offset)}
	f := s.value()
	if f == nil || f.syntax {
		return "", false
	}
	return f.path(), true
}

// CheckLine reports what makes s unfit for a one-line field (a name, an
// id): invalid UTF-8, U+FFFD (what a decoder made of invalid bytes), or any
// control character, tab and line breaks included. "" means s is clean.
func CheckLine(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n == 1 {
				return "is not valid UTF-8"
			}
			return "holds U+FFFD, the mark of text that was not valid UTF-8"
		case r == 0:
			return "holds a NUL character"
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return fmt.Sprintf("holds the control character U+%04X", r)
		}
	}
	return ""
}

// found is what the walk stopped at, its path built on the way back up as
// a list of segments, innermost first.
type found struct {
	syntax bool // data is not JSON: nothing to report
	reason string
	key    bool
	segs   []string
}

func (f *found) path() string {
	var b []byte
	for i := len(f.segs) - 1; i >= 0; i-- {
		seg := f.segs[i]
		if seg[0] != '[' && len(b) > 0 {
			b = append(b, '.')
		}
		b = append(b, seg...)
	}
	return string(b)
}

var errSyntax = &found{syntax: true}

type scanner struct {
	data  []byte
	pos   int
	depth int
	// target >= 0 locates the value spanning that offset; -1 checks text.
	target int
}

func (s *scanner) skipSpace() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

// value walks one value; a non-nil result ends the walk.
func (s *scanner) value() *found {
	s.skipSpace()
	if s.pos >= len(s.data) {
		return errSyntax
	}
	start := s.pos
	var f *found
	switch c := s.data[s.pos]; {
	case c == '{':
		f = s.object()
	case c == '[':
		f = s.array()
	case c == '"':
		var reason string
		reason, f = s.str()
		if f == nil && reason != "" && s.target < 0 {
			return &found{reason: reason}
		}
	case c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n':
		for s.pos < len(s.data) && literalByte(s.data[s.pos]) {
			s.pos++
		}
	default:
		return errSyntax
	}
	if f != nil {
		return f
	}
	if s.target >= 0 && start < s.target && s.target <= s.pos {
		return &found{}
	}
	return nil
}

func literalByte(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' || c == '.' || c == 'E'
}

func (s *scanner) object() *found {
	if s.depth++; s.depth > maxDepth {
		return errSyntax
	}
	defer func() { s.depth-- }()
	s.pos++ // {
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return errSyntax
		}
		keyStart := s.pos
		reason, f := s.str()
		if f != nil {
			return f
		}
		key := s.data[keyStart:s.pos]
		if reason != "" && s.target < 0 {
			return &found{reason: reason, key: true, segs: []string{memberName(key)}}
		}
		s.skipSpace()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return errSyntax
		}
		s.pos++
		if f := s.value(); f != nil {
			if !f.syntax {
				f.segs = append(f.segs, memberName(key))
			}
			return f
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

func (s *scanner) array() *found {
	if s.depth++; s.depth > maxDepth {
		return errSyntax
	}
	defer func() { s.depth-- }()
	s.pos++ // [
	s.skipSpace()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for i := 0; ; i++ {
		if f := s.value(); f != nil {
			if !f.syntax {
				f.segs = append(f.segs, "["+strconv.Itoa(i)+"]")
			}
			return f
		}
		s.skipSpace()
		if s.pos >= len(s.data) {
			return errSyntax
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return errSyntax
		}
	}
}

// memberName decodes a member name for a path; a name that does not decode
// is shown as written.
func memberName(raw []byte) string {
	var k string
	if json.Unmarshal(raw, &k) != nil || k == "" {
		return string(raw)
	}
	return k
}

// str walks a string from its opening quote. reason is the first thing
// unclean in it ("" when clean); f is non-nil only for a syntax error.
func (s *scanner) str() (reason string, f *found) {
	s.pos++ // "
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return reason, nil
		case c == '\\':
			r, n, ok := escape(s.data[s.pos:])
			if !ok {
				return "", errSyntax
			}
			s.pos += n
			if reason == "" {
				reason = runeProblem(r, s.data[s.pos-n:s.pos])
			}
		case c < utf8.RuneSelf:
			if reason == "" && (c < 0x20 || c == 0x7f) && c != '\t' && c != '\n' && c != '\r' {
				reason = runeProblem(rune(c), nil)
			}
			s.pos++
		default:
			r, n := utf8.DecodeRune(s.data[s.pos:])
			if reason == "" {
				if r == utf8.RuneError && n == 1 {
					reason = fmt.Sprintf("is not valid UTF-8 (byte 0x%02x)", c)
				} else {
					reason = runeProblem(r, nil)
				}
			}
			s.pos += n
		}
	}
	return "", errSyntax
}

// runeProblem says what is wrong with one character, "" when nothing; esc
// is its escape as written, if it was escaped.
func runeProblem(r rune, esc []byte) string {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return ""
	case r == 0:
		return "holds a NUL character"
	case r < 0x20 || (r >= 0x7f && r <= 0x9f):
		return fmt.Sprintf("holds the control character U+%04X", r)
	case r >= 0xd800 && r <= 0xdfff:
		return fmt.Sprintf("holds an unpaired surrogate %s, which is not a character", esc)
	}
	return ""
}

// escape decodes the escape at the start of b ("\n", "\u00e9", a surrogate
// pair): the character, the bytes it took, and whether it is well formed.
// An unpaired surrogate comes back as itself.
func escape(b []byte) (rune, int, bool) {
	if len(b) < 2 {
		return 0, 0, false
	}
	switch b[1] {
	case '"', '\\', '/':
		return rune(b[1]), 2, true
	case 'b':
		return '\b', 2, true
	case 'f':
		return '\f', 2, true
	case 'n':
		return '\n', 2, true
	case 'r':
		return '\r', 2, true
	case 't':
		return '\t', 2, true
	case 'u':
	default:
		return 0, 0, false
	}
	r, ok := hex4(b[2:])
	if !ok {
		return 0, 0, false
	}
	if r >= 0xd800 && r < 0xdc00 && len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if lo, ok := hex4(b[8:]); ok && lo >= 0xdc00 && lo <= 0xdfff {
			return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), 12, true
		}
	}
	return r, 6, true
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}

// Locate finds the value a decoder's type error means when the error has
// no offset (errors an UnmarshalJSON method returns carry only the
// decoder's Field, member names joined by "." without array indices):
// the first value, in document order, at that index-free path whose JSON
// kind is kind ("string", "number", "bool", "object", "array", "null"; a
// decoder's Value such as "number 1.5" is read by its first word). It
// returns the full path, indices included.
func Locate(data []byte, field, kind string) (string, bool) {
	var root any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if dec.Decode(&root) != nil {
		return "", false
	}
	if i := strings.IndexByte(kind, ' '); i >= 0 {
		kind = kind[:i]
	}
	var segs []string
	if field != "" {
		segs = strings.Split(field, ".")
	}
	return locate(root, segs, kind, "")
}

func locate(v any, segs []string, kind, path string) (string, bool) {
	if arr, ok := v.([]any); ok && (len(segs) > 0 || kind != "array") {
		for i, e := range arr {
			if p, ok := locate(e, segs, kind, path+"["+strconv.Itoa(i)+"]"); ok {
				return p, true
			}
		}
		return "", false
	}
	if len(segs) == 0 {
		return path, kindOf(v) == kind
	}
	m, ok := v.(map[string]any)
	if !ok {
		return "", false
	}
	child, ok := m[segs[0]]
	if !ok {
		return "", false
	}
	next := segs[0]
	if path != "" {
		next = path + "." + segs[0]
	}
	return locate(child, segs[1:], kind, next)
}

func kindOf(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case map[string]any:
		return "object"
	case []any:
		return "array"
	}
	return "null"
}

// TypeErrorPath is the exact path, array indices included, of the value a
// decoder's type error over data is about; the decoder's own Field when it
// cannot be found.
func TypeErrorPath(data []byte, te *json.UnmarshalTypeError) string {
	if te.Offset > 0 {
		if p, ok := PathAt(data, te.Offset); ok {
			return p
		}
	}
	if p, ok := Locate(data, te.Field, te.Value); ok {
		return p
	}
	return te.Field
}

// Expected says in JSON's words what a Go type decodes from ("a string",
// "a number", "an object" …) for messages such as "must be a string". A
// type with its own UnmarshalJSON says it with a JSONExpected method.
func Expected(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	if e, ok := reflect.Zero(t).Interface().(interface{ JSONExpected() string }); ok {
		return e.JSONExpected()
	}
	switch t.Kind() {
	case reflect.Pointer:
		return Expected(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	}
	return "another type"
}
