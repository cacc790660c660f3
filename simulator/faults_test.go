package simulator

import (
	"slices"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
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
		{"answerLatencyMs": 60001},
		{"webhook": "lose"},
		{"webhook": "delay"},
		{"webhook": "drop", "status": 503},
		{"status": 503, "eventType": "MESSAGES"},
	} {
		if r := a.sim("POST", "/sim/faults", f); r.status != 400 {
			t.Errorf("fault %v: status %d", f, r.status)
		}
	}
}

// TestAnswerLatencyAppliesTheCallAndAnswersLate: the caller that gives up
// before the answer finds the write done.
func TestAnswerLatencyAppliesTheCallAndAnswersLate(t *testing.T) {
	a := newAPI(t, Config{})
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	a.expect(a.sim("POST", "/sim/faults", map[string]any{"answerLatencyMs": 400, "pathContains": "/messages", "method": "POST", "count": 1}), 201)
	done := make(chan struct{})
	go func() { defer close(done); a.send(e, s.SessionID, "late answer") }()
	// Before the answer comes, the message is there.
	deadline := time.Now().Add(300 * time.Millisecond)
	for {
		page := a.listPage(e, s.SessionID, "")
		if len(page.Messages) == 1 && page.Messages[0].Text() == "late answer" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the write had not landed before its answer")
		}
		time.Sleep(10 * time.Millisecond)
	}
	select {
	case <-done:
		t.Fatal("answered before its latency")
	default:
	}
	<-done
}

func TestWebhookFaultsBendDeliveryAsAXPDoes(t *testing.T) {
	tests := []struct {
		name  string
		fault map[string]any
		want  []string // texts in arrival order
	}{
		{"drop", map[string]any{"webhook": "drop", "eventType": "MESSAGES", "count": 1}, []string{"zero", "two", "three"}},
		{"duplicate", map[string]any{"webhook": "duplicate", "count": 1}, []string{"zero", "one", "one", "two", "three"}},
		{"reorder", map[string]any{"webhook": "reorder", "count": 1}, []string{"zero", "two", "one", "three"}},
		{"delay", map[string]any{"webhook": "delay", "latencyMs": 300, "count": 1}, []string{"zero", "two", "three", "one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The receiver holds its first answer until the test has queued
			// the events behind it, so that the fault meets them queued.
			started, release := make(chan struct{}), make(chan struct{})
			hook := newReceiver(t, func(n int) (int, time.Duration) {
				if n == 1 {
					close(started)
					<-release
				}
				return 200, 0
			})
			a := newAPI(t, Config{})
			a.subscribe(hook.URL, "CUSTOMER_MESSAGES")
			s := a.createSession("john")
			e := a.createEngagement(s.SessionID)
			a.send(e, s.SessionID, "zero")
			<-started
			a.expect(a.sim("POST", "/sim/faults", tt.fault), 201)
			for _, text := range []string{"one", "two", "three"} {
				a.send(e, s.SessionID, text)
			}
			close(release)
			var got []string
			for range tt.want {
				var m engagement.Message
				hook.next(t).decodeInto(t, &m)
				got = append(got, m.Text())
			}
			hook.quiet(t, 100*time.Millisecond)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("arrived %v, want %v", got, tt.want)
			}
		})
	}
}

func TestEndDialogEndsItWithoutAnEvent(t *testing.T) {
	hook := newReceiver(t, nil)
	a := newAPI(t, Config{})
	a.subscribe(hook.URL, "ALL")
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	hook.nextOf(t, "ENGAGEMENT_CREATED")
	a.expect(a.agent(e, "endDialog", nil), 200)
	hook.quiet(t, 150*time.Millisecond)
	p := a.expect(a.channel("POST", "/engagements/"+e.EngagementID+"/messages", engagement.SendMessage{
		SessionID: s.SessionID, DialogID: e.Dialogs[0].DialogID,
		Body: engagement.Body{ElementType: "text", ElementText: &engagement.ElementText{Text: "anyone?"}},
	}), 400).problem(t)
	if len(p.Violations) != 1 || p.Violations[0].Field != "dialogId" {
		t.Fatalf("send to the ended dialog: %+v", p)
	}
}
