package engagement

import (
	"context"
	"errors"
	"time"
)

// Class is what a failed AXP call means to the client whose request caused
// it. Every face maps a Class, never a raw AXP status, onto its own
// format, so one AXP answer gets one meaning on the Connector API, on
// init and on the sockets.
type Class uint8

// The classes of Classify.
const (
	// ClassInternal is a failure of the proxy itself (an answer it could
	// not decode, a bug): not the client's to retry.
	ClassInternal Class = iota
	// ClassInvalid is AXP refusing the request's content (400, 422): the
	// client must change the request.
	ClassInvalid
	// ClassNotFound is AXP not knowing the session, engagement or dialog
	// (404, 410).
	ClassNotFound
	// ClassConflict is a state that does not allow the call (409).
	ClassConflict
	// ClassThrottled is AXP's rate limit (429): retry after RetryAfter.
	ClassThrottled
	// ClassUnavailable is AXP (or, through Classify's extra errors, the
	// store) unreachable, timing out or failing (5xx): retry later.
	ClassUnavailable
	// ClassRefused is AXP refusing the proxy's own credentials (401,
	// 403): the operator's to fix, pointless for a client to retry.
	ClassRefused
	// ClassUnexpected is any other AXP answer.
	ClassUnexpected
)

var classNames = [...]string{"internal", "invalid", "not_found", "conflict", "throttled", "unavailable", "refused", "unexpected"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

// DefaultThrottleRetry is the Retry-After a throttled answer gets when AXP
// gave none.
const DefaultThrottleRetry = time.Second

// Failure is the classification of one error.
type Failure struct {
	Class Class
	// Status is AXP's HTTP status, 0 when AXP gave no answer.
	Status int
	// Retryable says the same request may succeed later unchanged.
	Retryable bool
	// RetryAfter is how long to wait first: AXP's Retry-After, or
	// DefaultThrottleRetry for a throttled answer without one; 0 when
	// unknown.
	RetryAfter time.Duration
	// Problem is AXP's problem document, nil when AXP gave no answer.
	Problem *Problem
}

// RetryAfterSeconds is RetryAfter rounded up to whole seconds, as
// Retry-After headers and the sockets' retryAfter carry it; 0 when unknown.
func (f Failure) RetryAfterSeconds() int {
	if f.RetryAfter <= 0 {
		return 0
	}
	return int((f.RetryAfter + time.Second - 1) / time.Second)
}

// Classify says what err, from a call of this package's Client, means for
// the client. unavailable lists other errors that mean "down, retry
// later" (a store's), so that a face needs this one function only.
func Classify(err error, unavailable ...error) Failure {
	var p *Problem
	switch {
	case err == nil:
		return Failure{Class: ClassInternal}
	case errors.As(err, &p):
		return classifyProblem(p)
	case errors.Is(err, ErrUnreachable), errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return Failure{Class: ClassUnavailable, Retryable: true}
	}
	for _, u := range unavailable {
		if errors.Is(err, u) {
			return Failure{Class: ClassUnavailable, Retryable: true}
		}
	}
	return Failure{Class: ClassInternal}
}

func classifyProblem(p *Problem) Failure {
	f := Failure{Status: p.Status, Problem: p, RetryAfter: p.RetryAfter}
	switch s := p.Status; {
	case s == 400 || s == 422:
		f.Class = ClassInvalid
	case s == 404 || s == 410:
		f.Class = ClassNotFound
	case s == 409:
		f.Class = ClassConflict
	case s == 429:
		f.Class, f.Retryable = ClassThrottled, true
		if f.RetryAfter <= 0 {
			f.RetryAfter = DefaultThrottleRetry
		}
	case s == 401 || s == 403:
		f.Class = ClassRefused
	case s >= 500:
		f.Class, f.Retryable = ClassUnavailable, true
	default:
		f.Class = ClassUnexpected
	}
	if !f.Retryable {
		f.RetryAfter = 0
	}
	return f
}
