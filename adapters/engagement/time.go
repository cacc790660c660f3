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
	if v, ok := parseUTC(b[1 : len(b)-1]); ok {
		t.Time = v
		return nil
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

// parseUTC reads the form AXP writes, yyyy-MM-ddTHH:mm:ss[.f…]Z with up to
// nine fraction digits, as time.Parse would but without its allocation
// (the string): every webhook and every send's answer carries timestamps.
// ok is false for any other form, which ParseTime then reads.
func parseUTC(b []byte) (t time.Time, ok bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return t, false
	}
	year, ok1 := digits(b[0:4])
	month, ok2 := digits(b[5:7])
	day, ok3 := digits(b[8:10])
	hour, ok4 := digits(b[11:13])
	minute, ok5 := digits(b[14:16])
	sec, ok6 := digits(b[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return t, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return t, false
		}
		n, ok := digits(frac[1:])
		if !ok {
			return t, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	t = time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	// time.Date normalises what time.Parse refuses (a 31 April, a 24th
	// hour): such a date comes out different.
	if t.Year() != year || int(t.Month()) != month || t.Day() != day || t.Hour() != hour || t.Minute() != minute || t.Second() != sec {
		return time.Time{}, false
	}
	return t, true
}

// digits is the decimal number b spells, digits only.
func digits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
