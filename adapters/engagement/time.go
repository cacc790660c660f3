package engagement

import (
	"bytes"
	"fmt"
	"time"
)

// Time is an AXP timestamp. v1beta writes ISO-8601 with 0 to 3 fraction digits
// ("2018-11-13T20:25:39.34Z" occurs in the reference), so decoding accepts any
// RFC 3339 form with 0-9 digits; encoding always writes milliseconds, as AXP does.
type Time struct{ time.Time }

// TimeLayout is the layout AXP writes: yyyy-MM-dd'T'HH:mm:ss.SSSZ.
const TimeLayout = "2006-01-02T15:04:05.000Z07:00"

// MarshalJSON writes the timestamp in UTC with millisecond precision.
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte(`null`), nil
	}
	b := make([]byte, 0, len(TimeLayout)+2)
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, TimeLayout)
	return append(b, '"'), nil
}

// UnmarshalJSON accepts RFC 3339 with any number of fraction digits, a missing
// zone (taken as UTC, seen in hand-written samples) and null.
func (t *Time) UnmarshalJSON(b []byte) error {
	if bytes.Equal(b, []byte("null")) {
		t.Time = time.Time{}
		return nil
	}
	if len(b) < 2 || b[0] != '"' || b[len(b)-1] != '"' {
		return fmt.Errorf("engagement: timestamp %s is not a string", b)
	}
	v, err := ParseTime(string(b[1 : len(b)-1]))
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// ParseTime parses an AXP timestamp leniently (see Time).
func ParseTime(s string) (time.Time, error) {
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return v, nil
	}
	if v, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
		return v, nil
	}
	return time.Time{}, fmt.Errorf("engagement: bad timestamp %q", s)
}

// NewTime wraps t, truncated to the millisecond AXP keeps.
func NewTime(t time.Time) Time { return Time{t.UTC().Truncate(time.Millisecond)} }
