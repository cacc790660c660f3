package legacyv1

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// Millis is a legacy timestamp: epoch milliseconds, an int64 on the wire
// (v1beta replaced it with ISO-8601, seed 000 "Summary of changes"). It
// encodes as a JSON number; decoding also takes a numeric string or an
// ISO-8601 string, which hand-written legacy clients send, and null (0).
type Millis int64

// MarshalJSON writes the number.
func (m Millis) MarshalJSON() ([]byte, error) {
	return strconv.AppendInt(nil, int64(m), 10), nil
}

// UnmarshalJSON reads a number, a string holding one, an ISO-8601 string or null.
func (m *Millis) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*m = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: %w", errTimestamp, err)
		}
		if s == "" {
			*m = 0
			return nil
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			*m = Millis(n)
			return nil
		}
		t, err := engagement.ParseTime(s)
		if err != nil {
			return fmt.Errorf("%w: %q is neither epoch milliseconds nor ISO-8601", errTimestamp, s)
		}
		*m = MillisOf(engagement.Time{Time: t})
		return nil
	}
	// A float such as 1.5977e12 is accepted when it is a whole number of
	// milliseconds; json.Number keeps the digits exact.
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("%w: %s is not a number", errTimestamp, b)
	}
	if i, err := n.Int64(); err == nil {
		*m = Millis(i)
		return nil
	}
	f, err := n.Float64()
	if err != nil || f != float64(int64(f)) {
		return fmt.Errorf("%w: %s is not whole epoch milliseconds", errTimestamp, b)
	}
	*m = Millis(int64(f))
	return nil
}

// MillisOf converts a v1beta timestamp; the zero time is 0 (left out).
func MillisOf(t engagement.Time) Millis {
	if t.IsZero() {
		return 0
	}
	return Millis(t.UnixMilli())
}

// millisOfPtr is MillisOf for an optional timestamp.
func millisOfPtr(t *engagement.Time) Millis {
	if t == nil {
		return 0
	}
	return MillisOf(*t)
}

// Time converts to a v1beta timestamp; 0 is the zero time.
func (m Millis) Time() engagement.Time {
	if m == 0 {
		return engagement.Time{}
	}
	return engagement.NewTime(time.UnixMilli(int64(m)))
}

// timePtr is Time for an optional v1beta field: 0 is nil.
func (m Millis) timePtr() *engagement.Time {
	if m == 0 {
		return nil
	}
	t := m.Time()
	return &t
}
