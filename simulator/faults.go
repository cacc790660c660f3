package simulator

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/valyala/fasthttp"
)

// Fault is an injected failure or delay of API calls (never of /sim paths).
type Fault struct {
	ID string `json:"id"`
	// LatencyMs delays each matching call (at most 60000).
	LatencyMs int `json:"latencyMs,omitempty"`
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
	if f.Status == 0 && f.LatencyMs == 0 {
		c.add("status", "a fault needs a status or a latencyMs", codeNotNull)
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

// applyFaults applies the first fault matching the call. It reports whether
// it answered the call.
func (s *Simulator) applyFaults(ctx *fasthttp.RequestCtx, path string) bool {
	method := string(ctx.Method())
	s.faultMu.Lock()
	if len(s.faults) == 0 {
		s.faultMu.Unlock()
		return false
	}
	var hit Fault
	found := false
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) ||
			f.PathContains != "" && !strings.Contains(path, f.PathContains) {
			continue
		}
		if f.Ratio > 0 && s.cfg.Rand() >= f.Ratio {
			continue
		}
		hit, found = *f, true
		if f.Count > 0 {
			f.Count--
			if f.Count == 0 {
				s.faults = slices.Delete(s.faults, i, i+1)
			}
		}
		break
	}
	s.faultMu.Unlock()
	if !found {
		return false
	}
	if hit.LatencyMs > 0 {
		t := time.NewTimer(time.Duration(hit.LatencyMs) * time.Millisecond)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
		}
	}
	if hit.Status == 0 {
		return false
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
	return true
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
