package engagement

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

func TestClassifyGivesEveryFaceOneMeaning(t *testing.T) {
	storeDown := errors.New("store: unavailable")
	wrap := func(err error) error { return fmt.Errorf("engagement: send_message: %w", err) }
	tests := []struct {
		name       string
		err        error
		class      Class
		retryable  bool
		retryAfter time.Duration
	}{
		{"violation", wrap(&Problem{Status: 400, Violations: []Violation{{Field: "text"}}}), ClassInvalid, false, 0},
		{"unprocessable", wrap(&Problem{Status: 422}), ClassInvalid, false, 0},
		{"unknown dialog", wrap(&Problem{Status: 404}), ClassNotFound, false, 0},
		{"gone", wrap(&Problem{Status: 410}), ClassNotFound, false, 0},
		{"conflict", wrap(&Problem{Status: 409}), ClassConflict, false, 0},
		{"throttled with Retry-After", wrap(&Problem{Status: 429, RetryAfter: 7 * time.Second}), ClassThrottled, true, 7 * time.Second},
		{"throttled without Retry-After", wrap(&Problem{Status: 429}), ClassThrottled, true, DefaultThrottleRetry},
		{"server error", wrap(&Problem{Status: 500}), ClassUnavailable, true, 0},
		{"unavailable with Retry-After", wrap(&Problem{Status: 503, RetryAfter: 2 * time.Second}), ClassUnavailable, true, 2 * time.Second},
		{"gateway timeout", wrap(&Problem{Status: 504}), ClassUnavailable, true, 0},
		{"credentials refused", wrap(&Problem{Status: 401}), ClassRefused, false, 0},
		{"forbidden", wrap(&Problem{Status: 403}), ClassRefused, false, 0},
		{"a Retry-After on a refusal is not passed on", wrap(&Problem{Status: 403, RetryAfter: time.Second}), ClassRefused, false, 0},
		{"method not allowed", wrap(&Problem{Status: 405}), ClassUnexpected, false, 0},
		{"unreachable", fmt.Errorf("%w: dial tcp: refused", ErrUnreachable), ClassUnavailable, true, 0},
		{"timed out", wrap(context.DeadlineExceeded), ClassUnavailable, true, 0},
		{"store down, named by the face", fmt.Errorf("load: %w", storeDown), ClassUnavailable, true, 0},
		{"anything else", errors.New("decode answer: bad JSON"), ClassInternal, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := Classify(tt.err, storeDown)
			if f.Class != tt.class || f.Retryable != tt.retryable || f.RetryAfter != tt.retryAfter {
				t.Fatalf("Classify = %+v (%s), want %s retryable=%v after %v", f, f.Class, tt.class, tt.retryable, tt.retryAfter)
			}
		})
	}
}

func TestRetryAfterSecondsRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]int{0: 0, time.Millisecond: 1, time.Second: 1, 1500 * time.Millisecond: 2, 30 * time.Second: 30} {
		if got := (Failure{RetryAfter: d}).RetryAfterSeconds(); got != want {
			t.Errorf("RetryAfterSeconds(%v) = %d, want %d", d, got, want)
		}
	}
}
