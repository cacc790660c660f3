package simulator

import (
	"testing"
	"time"
)

func TestFaultsFailTheNextMatchingCalls(t *testing.T) {
	seq := []float64{0.9, 0.1, 0.9, 0.1} // drawn in order by the ratio fault below
	var i int
	a := newAPI(t, Config{Rand: func() float64 { v := seq[i%len(seq)]; i++; return v }})
	list := func() reply { return a.webhook("GET", "/subscriptions", nil) }

	cases := []struct {
		name   string
		fault  map[string]any
		calls  func() []reply
		status []int
		check  func(t *testing.T, rs []reply)
	}{
		{
			name:   "count",
			fault:  map[string]any{"status": 503, "count": 2},
			calls:  func() []reply { return []reply{list(), list(), list()} },
			status: []int{503, 503, 200},
		},
		{
			name:   "429 with Retry-After",
			fault:  map[string]any{"status": 429, "count": 1, "retryAfter": 2},
			calls:  func() []reply { return []reply{list(), list()} },
			status: []int{429, 200},
			check: func(t *testing.T, rs []reply) {
				if rs[0].header["Retry-After"] != "2" {
					t.Fatalf("Retry-After %q", rs[0].header["Retry-After"])
				}
				if p := rs[0].problem(t); p.Detail == "" {
					t.Fatal("no detail")
				}
			},
		},
		{
			name:   "401 lets a client test refresh-on-401",
			fault:  map[string]any{"status": 401, "count": 1},
			calls:  func() []reply { return []reply{list(), list()} },
			status: []int{401, 200},
		},
		{
			name:  "filtered by path and method",
			fault: map[string]any{"status": 500, "count": 1, "pathContains": "/sessions", "method": "POST"},
			calls: func() []reply {
				return []reply{list(), a.channel("GET", "/sessions/00000000-0000-4000-8000-000000000000", nil),
					a.channel("POST", "/sessions", map[string]any{}), a.channel("POST", "/sessions", map[string]any{})}
			},
			status: []int{200, 404, 500, 400},
		},
		{
			name:   "ratio",
			fault:  map[string]any{"status": 502, "ratio": 0.5, "count": 2},
			calls:  func() []reply { return []reply{list(), list(), list(), list(), list()} },
			status: []int{200, 502, 200, 502, 200},
		},
		{
			name:   "never on /sim paths",
			fault:  map[string]any{"status": 500, "count": 1},
			calls:  func() []reply { return []reply{a.sim("GET", "/sim/accounts/"+acct+"/engagements", nil), list()} },
			status: []int{200, 500},
		},
	}
	for _, tc := range cases {
		a.run(tc.name, func(t *testing.T) {
			a.expect(a.sim("POST", "/sim/faults", tc.fault), 201)
			rs := tc.calls()
			for i, r := range rs {
				if r.status != tc.status[i] {
					t.Fatalf("call %d: status %d, want %d: %s", i, r.status, tc.status[i], r.body)
				}
			}
			if tc.check != nil {
				tc.check(t, rs)
			}
			var left []Fault
			a.expect(a.sim("GET", "/sim/faults", nil), 200).decode(t, &left)
			if len(left) != 0 {
				t.Fatalf("faults left after they were used up: %+v", left)
			}
		})
	}
}

func TestLatencyFaultDelaysMatchingCallsUntilCleared(t *testing.T) {
	a := newAPI(t, Config{})
	a.expect(a.sim("POST", "/sim/faults", map[string]any{"latencyMs": 150, "pathContains": "/subscriptions"}), 201)
	var faults []Fault
	a.expect(a.sim("GET", "/sim/faults", nil), 200).decode(t, &faults)
	if len(faults) != 1 || faults[0].LatencyMs != 150 || faults[0].ID == "" {
		t.Fatalf("faults %+v", faults)
	}
	for range 2 {
		start := time.Now()
		a.expect(a.webhook("GET", "/subscriptions", nil), 200)
		if d := time.Since(start); d < 150*time.Millisecond {
			t.Fatalf("call took %v, the fault adds 150ms", d)
		}
	}
	a.expect(a.sim("DELETE", "/sim/faults", nil), 204)
	a.expect(a.sim("GET", "/sim/faults", nil), 200).decode(t, &faults)
	if len(faults) != 0 {
		t.Fatalf("faults after clear %+v", faults)
	}
}

func TestInvalidFaultsAreRefused(t *testing.T) {
	a := newAPI(t, Config{})
	for _, f := range []map[string]any{
		{},
		{"status": 200},
		{"status": 503, "ratio": 1.5},
		{"latencyMs": -1},
		{"status": 503, "count": -1},
	} {
		if r := a.sim("POST", "/sim/faults", f); r.status != 400 {
			t.Errorf("fault %v: status %d", f, r.status)
		}
	}
}
