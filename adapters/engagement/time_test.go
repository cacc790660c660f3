package engagement

import (
	"testing"
	"time"
)

func TestTimeReadsEveryFormAXPAndItsSamplesWrite(t *testing.T) {
	tests := []struct {
		name, in string
		want     time.Time
	}{
		{"milliseconds, as AXP writes", `"2026-12-03T13:26:27.123Z"`, time.Date(2026, 12, 3, 13, 26, 27, 123e6, time.UTC)},
		{"two fraction digits, as in the reference", `"2018-11-13T20:25:39.34Z"`, time.Date(2018, 11, 13, 20, 25, 39, 340e6, time.UTC)},
		{"no fraction", `"2026-02-28T00:00:00Z"`, time.Date(2026, 2, 28, 0, 0, 0, 0, time.UTC)},
		{"nanoseconds", `"2024-02-29T23:59:59.123456789Z"`, time.Date(2024, 2, 29, 23, 59, 59, 123456789, time.UTC)},
		{"an offset", `"2026-12-03T14:26:27.5+01:00"`, time.Date(2026, 12, 3, 13, 26, 27, 5e8, time.UTC)},
		{"no zone, taken as UTC", `"2026-12-03T13:26:27.123"`, time.Date(2026, 12, 3, 13, 26, 27, 123e6, time.UTC)},
		{"null", `null`, time.Time{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got Time
			if err := got.UnmarshalJSON([]byte(tc.in)); err != nil || !got.Equal(tc.want) {
				t.Fatalf("UnmarshalJSON(%s) = %s, %v; want %s", tc.in, got.Time, err, tc.want)
			}
		})
	}
}

func TestTimeRefusesWhatTimeParseRefuses(t *testing.T) {
	for _, in := range []string{
		`"2026-04-31T00:00:00Z"`, `"2025-02-29T00:00:00Z"`, `"2026-12-03T24:00:00Z"`, `"2026-12-03T13:60:00Z"`,
		`"2026-12-03T13:26:60Z"`, `"2026-13-03T13:26:27Z"`, `"2026-12-03T13:26:27.Z"`,
		`"2026-12-03 13:26:27Z"`, `"+026-12-03T13:26:27Z"`, `"2026-12-03T13:26:27"Z`, `2026`, `"yesterday"`,
	} {
		var got Time
		if err := got.UnmarshalJSON([]byte(in)); err == nil {
			t.Errorf("UnmarshalJSON(%s) = %s, want an error", in, got.Time)
		}
	}
}
