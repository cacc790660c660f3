package simulator

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Webhook faults: what AXP's webhook delivery is seen to do.
const (
	WebhookDrop      = "drop"      // the event is never sent
	WebhookDuplicate = "duplicate" // sent again once accepted (as a slow 200 makes AXP do)
	WebhookDelay     = "delay"     // held LatencyMs while later events go first
	WebhookReorder   = "reorder"   // the next event goes first
)

// Fault is an injected failure or delay of API calls (never of /sim
// paths), or, with Webhook set, a misbehaviour of webhook delivery.
type Fault struct {
	ID string `json:"id"`
	// LatencyMs delays each matching call before it is served (the write
	// lands late; at most 60000); for a WebhookDelay fault, how long the
	// event is held.
	LatencyMs int `json:"latencyMs,omitempty"`
	// AnswerLatencyMs serves the call at once and holds its answer that
	// long (the write lands, its answer comes late; at most 60000).
	AnswerLatencyMs int `json:"answerLatencyMs,omitempty"`
	// Webhook, when set, makes this a fault of webhook delivery, matched by
	// EventType (any when empty) instead of path and method.
	Webhook   string `json:"webhook,omitempty"`
	EventType string `json:"eventType,omitempty"`
	// Status, when set (400..599), answers matching calls with that status as
	// a problem document instead of serving them.
	Status int `json:"status,omitempty"`
	// Count is how many matching calls the fault still applies to; 0 means
	// every matching call until the fault is cleared.
	Count int `json:"count,omitempty"`
	// Ratio is the share (0..1] of matching calls the fault applies to; 0 means all.
	Ratio float64 `json:"ratio,omitempty"`
	// RetryAfter is the Retry-After header in seconds (a 429 gets 1 if unset).
	RetryAfter int `json:"retryAfter,omitempty"`
	// PathContains and Method narrow which calls match.
	PathContains string `json:"pathContains,omitempty"`
	Method       string `json:"method,omitempty"`
}

func (f *Fault) check() *Problem {
	var c checker
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		c.add("status", "must be between 400 and 599", codeSize)
	}
	if f.LatencyMs < 0 || f.LatencyMs > 60000 {
		c.add("latencyMs", "must be between 0 and 60000", codeSize)
	}
	if f.AnswerLatencyMs < 0 || f.AnswerLatencyMs > 60000 {
		c.add("answerLatencyMs", "must be between 0 and 60000", codeSize)
	}
	switch f.Webhook {
	case "":
		if f.Status == 0 && f.LatencyMs == 0 && f.AnswerLatencyMs == 0 {
			c.add("status", "a fault needs a status, a latencyMs or an answerLatencyMs", codeNotNull)
		}
		if f.EventType != "" {
			c.add("eventType", "only webhook faults match an event type", codeEnum)
		}
	case WebhookDrop, WebhookDuplicate, WebhookReorder, WebhookDelay:
		if f.Status != 0 || f.AnswerLatencyMs != 0 || f.PathContains != "" || f.Method != "" {
			c.add("webhook", "a webhook fault takes only eventType, latencyMs (delay), count and ratio", codeEnum)
		}
		if f.Webhook == WebhookDelay && f.LatencyMs == 0 {
			c.add("latencyMs", "a delay needs a latencyMs", codeNotNull)
		}
	default:
		c.add("webhook", "must be one of drop, duplicate, delay, reorder", codeEnum)
	}
	if f.Count < 0 {
		c.add("count", "must not be negative", codeSize)
	}
	if f.Ratio < 0 || f.Ratio > 1 {
		c.add("ratio", "must be between 0 and 1", codeSize)
	}
	if f.RetryAfter < 0 {
		c.add("retryAfter", "must not be negative", codeSize)
	}
	return c.problem()
}

// takeFault returns the first fault that match accepts, using up one of
// its count.
func (s *Simulator) takeFault(match func(*Fault) bool) (Fault, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for i, f := range s.faults {
		if !match(f) {
			continue
		}
		if f.Ratio > 0 && s.cfg.Rand() >= f.Ratio {
			continue
		}
		hit := *f
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		return hit, true
	}
	return Fault{}, false
}

// webhookFault returns the webhook fault that applies to an event about to
// be delivered, if any.
func (s *Simulator) webhookFault(eventType string) (Fault, bool) {
	return s.takeFault(func(f *Fault) bool {
		return f.Webhook != "" && (f.EventType == "" || f.EventType == eventType)
	})
}

// wait sleeps d or until the simulator closes.
func (s *Simulator) wait(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}

// applyFaults applies the first API fault matching the call. It reports
// whether it answered the call, and how long to hold the answer of a call
// it lets through.
func (s *Simulator) applyFaults(ctx *fasthttp.RequestCtx, path string) (bool, time.Duration) {
	method := string(ctx.Method())
	s.faultMu.Lock()
	none := len(s.faults) == 0
	s.faultMu.Unlock()
	if none {
		return false, 0
	}
	hit, found := s.takeFault(func(f *Fault) bool {
		return f.Webhook == "" && (f.Method == "" || strings.EqualFold(f.Method, method)) &&
			(f.PathContains == "" || strings.Contains(path, f.PathContains))
	})
	if !found {
		return false, 0
	}
	if hit.LatencyMs > 0 {
		s.wait(time.Duration(hit.LatencyMs) * time.Millisecond)
	}
	if hit.Status == 0 {
		return false, time.Duration(hit.AnswerLatencyMs) * time.Millisecond
	}
	retry := hit.RetryAfter
	if retry == 0 && hit.Status == http.StatusTooManyRequests {
		retry = 1
	}
	if retry > 0 {
		ctx.Response.Header.Set("Retry-After", strconv.Itoa(retry))
	}
	p := newProblem(hit.Status, "")
	p.Detail += " (injected fault " + hit.ID + ")"
	writeProblem(ctx, p)
	return true, 0
}

// listFaults is GET /sim/faults.
func (s *Simulator) listFaults(ctx *fasthttp.RequestCtx) *Problem {
	s.faultMu.Lock()
	out := make([]Fault, 0, len(s.faults))
	for _, f := range s.faults {
		out = append(out, *f)
	}
	s.faultMu.Unlock()
	writeJSON(ctx, http.StatusOK, out)
	return nil
}

// clearFaults is DELETE /sim/faults.
func (s *Simulator) clearFaults(ctx *fasthttp.RequestCtx) *Problem {
	s.faultMu.Lock()
	s.faults = nil
	s.faultMu.Unlock()
	ctx.SetStatusCode(http.StatusNoContent)
	return nil
}

// addFault is POST /sim/faults.
func (s *Simulator) addFault(ctx *fasthttp.RequestCtx) *Problem {
	var f Fault
	if p := decodeBody(ctx, &f); p != nil {
		return p
	}
	if p := f.check(); p != nil {
		return p
	}
	s.faultMu.Lock()
	if len(s.faults) >= s.cfg.MaxFaults {
		s.faultMu.Unlock()
		return quota("too many faults")
	}
	s.faultID++
	f.ID = strconv.Itoa(s.faultID)
	s.faults = append(s.faults, &f)
	s.faultMu.Unlock()
	writeJSON(ctx, http.StatusCreated, f)
	return nil
}
