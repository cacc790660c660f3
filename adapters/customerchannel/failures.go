package customerchannel

import (
	"strconv"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/valyala/fasthttp"
)

// The face's answers to a failed AXP or store call come from one
// classification (engagement.Classify), the same the Connector API uses:
//
//	class        HTTP (init, transcript)    socket error event
//	invalid      400 BAD_REQUEST            BAD_PAYLOAD
//	throttled    429 RATE_LIMITED           RATE_LIMITED, retryable
//	unavailable  503 UNAVAILABLE            UNAVAILABLE, retryable
//	any other    500 BACKEND_ERROR          BACKEND_ERROR
//	internal     500 INTERNAL               BACKEND_ERROR
//
// Retryable answers carry AXP's Retry-After when it is known (always for
// throttling): as the Retry-After header over HTTP, as retryAfter (seconds)
// in the error payload.

// classify is engagement.Classify with the store's outage counted as AXP's.
func classify(err error) engagement.Failure {
	return engagement.Classify(err, mapping.ErrUnavailable)
}

// httpFailure is the HTTP answer of a failed call; what says what was
// being done.
func httpFailure(what string, err error) *httpFail {
	f := classify(err)
	h := &httpFail{status: fasthttp.StatusInternalServerError, code: CodeBackend, msg: what + " failed", err: err,
		retryAfter: f.RetryAfterSeconds()}
	switch f.Class {
	case engagement.ClassInvalid:
		h.status, h.code = fasthttp.StatusBadRequest, "BAD_REQUEST"
		if v := firstViolation(f); v != nil {
			h.msg = what + " failed: the contact center refused " + v.Field + ": " + v.Message
		}
	case engagement.ClassThrottled:
		h.status, h.code = fasthttp.StatusTooManyRequests, CodeRateLimited
	case engagement.ClassUnavailable:
		h.status, h.code = fasthttp.StatusServiceUnavailable, CodeUnavailable
	case engagement.ClassInternal:
		h.code = "INTERNAL"
	}
	return h
}

// eventFailure is the socket error of a failed call.
func eventFailure(conv, what string, err error) *eventError {
	f := classify(err)
	e := &eventError{code: CodeBackend, conv: conv, msg: what + " failed", err: err,
		retryable: f.Retryable, retryAfter: f.RetryAfterSeconds()}
	switch f.Class {
	case engagement.ClassInvalid:
		e.code = CodeBadPayload
		if v := firstViolation(f); v != nil {
			e.msg = what + " failed: the contact center refused " + v.Field + ": " + v.Message
		}
	case engagement.ClassThrottled:
		e.code = CodeRateLimited
	case engagement.ClassUnavailable:
		e.code = CodeUnavailable
	}
	return e
}

func firstViolation(f engagement.Failure) *engagement.Violation {
	if f.Problem == nil || len(f.Problem.Violations) == 0 {
		return nil
	}
	return &f.Problem.Violations[0]
}

// writeFail answers an HTTP call's failure in the face's format.
func writeFail(ctx *fasthttp.RequestCtx, f *httpFail) {
	if f.retryAfter > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(f.retryAfter))
	}
	writeJSON(ctx, f.status, HTTPError{Status: f.status, Code: f.code, Message: f.msg, Field: f.field})
}
