package simulator

import (
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

func TestAutoAgentSwitchAnswersItsState(t *testing.T) {
	a := newAPI(t, Config{AutoAgent: true, AutoAgentName: "Robo", AutoAgentDelay: 50 * time.Millisecond})
	var st AutoAgentState
	a.expect(a.sim("GET", "/sim/auto-agent", nil), 200).decode(t, &st)
	if st.Enabled == nil || !*st.Enabled || st.Name != "Robo" || st.DelayMs != 50 {
		t.Fatalf("initial state %+v", st)
	}
	a.expect(a.sim("PUT", "/sim/auto-agent", map[string]bool{"enabled": false}), 200).decode(t, &st)
	if st.Enabled == nil || *st.Enabled || a.srv.Sim.AutoAgent() {
		t.Fatalf("after PUT false: %+v, AutoAgent() = %v", st, a.srv.Sim.AutoAgent())
	}
	a.expect(a.sim("GET", "/sim/auto-agent", nil), 200).decode(t, &st)
	if *st.Enabled {
		t.Fatalf("GET after PUT false: %+v", st)
	}

	for _, tc := range []struct {
		name   string
		method string
		body   any
		status int
		field  string
	}{
		{"enabled missing", "PUT", map[string]string{}, 400, "enabled"},
		{"enabled null", "PUT", `{"enabled":null}`, 400, "enabled"},
		{"not JSON", "PUT", "on", 400, ""},
		{"empty body", "PUT", nil, 400, ""},
		{"POST is not a method of it", "POST", map[string]bool{"enabled": true}, 405, ""},
	} {
		a.run(tc.name, func(t *testing.T) {
			r := a.expect(a.sim(tc.method, "/sim/auto-agent", tc.body), tc.status)
			p := r.problem(t)
			if tc.field != "" && (len(p.Violations) != 1 || p.Violations[0].Field != tc.field || p.Violations[0].Code != codeNotNull) {
				t.Fatalf("problem %+v", p)
			}
			if tc.status == 405 && r.header["Allow"] != "GET, PUT" {
				t.Fatalf("Allow %q", r.header["Allow"])
			}
		})
	}
	if a.srv.Sim.AutoAgent() {
		t.Fatal("a refused PUT changed the state")
	}
}

// The auto-agent's actions run one at a time in the order they were
// scheduled, and webhooks keep that order: once the agent's join of an
// engagement created after switching on arrives, anything it would have
// done for the earlier one, created while off, would already have arrived.
func TestAutoAgentSwitchedOffLeavesDialogsToPeople(t *testing.T) {
	hook := newReceiver(t, nil)
	a := newAPI(t, Config{AutoAgent: true, AutoAgentDelay: 10 * time.Millisecond})
	a.subscribe(hook.URL, "CC_MESSAGES", "PARTICIPANT_ADDED")
	a.expect(a.sim("PUT", "/sim/auto-agent", map[string]bool{"enabled": false}), 200)

	sa := a.createSession("ann")
	ea := a.createEngagement(sa.SessionID)
	a.send(ea, sa.SessionID, "anyone there?")

	a.expect(a.sim("PUT", "/sim/auto-agent", map[string]bool{"enabled": true}), 200)
	sb := a.createSession("bob")
	eb := a.createEngagement(sb.SessionID)
	ev := hook.next(t)
	if ev.EventType != "PARTICIPANT_ADDED" || ev.DialogID != eb.Dialogs[0].DialogID {
		t.Fatalf("first event %s, want the auto-agent joining %s", ev.raw, eb.Dialogs[0].DialogID)
	}
	a.send(eb, sb.SessionID, "hello")
	if ev := hook.next(t); ev.EventType != "MESSAGES" || ev.Body.ElementText.Text != "You said: hello" || ev.DialogID != eb.Dialogs[0].DialogID {
		t.Fatalf("reply %s", ev.raw)
	}

	var got engagement.Engagement
	a.expect(a.channel("GET", "/engagements/"+ea.EngagementID, nil), 200).decode(t, &got)
	for _, c := range got.Dialogs[0].Connections {
		if c.ParticipantType != engagement.ParticipantCustomer {
			t.Fatalf("the auto-agent joined the dialog created while it was off: %+v", got.Dialogs[0].Connections)
		}
	}
	page := a.listPage(ea, sa.SessionID, "")
	if len(page.Messages) != 1 {
		t.Fatalf("the dialog created while off has %d messages, want only the customer's", len(page.Messages))
	}

	// People still drive it by hand.
	a.expect(a.agent(ea, "agentJoin", map[string]string{"displayName": "Human"}), 200)
	if ev := hook.next(t); ev.EventType != "PARTICIPANT_ADDED" || ev.DialogID != ea.Dialogs[0].DialogID {
		t.Fatalf("manual join %s", ev.raw)
	}
}
