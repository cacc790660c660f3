package jsonscan

// Span is where a JSON value lies in its input: b[Start:End].
type Span struct{ Start, End int }

// Object walks the JSON object that starts at b[i] ('{'), calling fn with
// each member in order: key spans the member name as written, quotes
// included (escapes left as they are), and value the member's value
// without the whitespace around it. It returns the end of
// the object and true when b[i:] starts with a valid object and fn
// returned true for every member; a walk that fn stopped or that met
// invalid JSON returns false. A decoder of a fixed shape walks its input
// once this way instead of having it validated and then decoded by
// reflection; spans let it take its strings from one copy of the input.
func Object(b []byte, i int, fn func(key, value Span) bool) (int, bool) {
	if i >= len(b) || b[i] != '{' {
		return 0, false
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, true
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return 0, false
		}
		kend, ok := String(b, i)
		if !ok {
			return 0, false
		}
		v := SkipSpace(b, kend)
		if v >= len(b) || b[v] != ':' {
			return 0, false
		}
		v = SkipSpace(b, v+1)
		vend, ok := Value(b, v)
		if !ok || !fn(Span{i, kend}, Span{v, vend}) {
			return 0, false
		}
		i = SkipSpace(b, vend)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case '}':
			return i + 1, true
		default:
			return 0, false
		}
	}
}

// Array walks the JSON array that starts at b[i] ('['), calling fn with
// the span of each element in order, as Object does with members.
func Array(b []byte, i int, fn func(elem Span) bool) (int, bool) {
	if i >= len(b) || b[i] != '[' {
		return 0, false
	}
	i = SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, true
	}
	for {
		end, ok := Value(b, i)
		if !ok || !fn(Span{i, end}) {
			return 0, false
		}
		i = SkipSpace(b, end)
		if i >= len(b) {
			return 0, false
		}
		switch b[i] {
		case ',':
			i = SkipSpace(b, i+1)
		case ']':
			return i + 1, true
		default:
			return 0, false
		}
	}
}
