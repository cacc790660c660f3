package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// lastState is the last conversation state the receiver was told of for
// conv ("" before any).
func (h *hooks) lastState(conv string) string {
	s := h.states(conv)
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

// TestDialogEndedWithoutAnEvent ends a dialog on AXP's side without a
// webhook (an inactivity timer, an end in the contact center that sent
// nothing): the client's next message is answered with the close, the
// connector hears the CLOSE, and the consumer's next CONVERSATION opens a
// new one that works. A web chat customer is told the conversation ended.
func TestDialogEndedWithoutAnEvent(t *testing.T) {
	c := newCluster(t, "")
	p := c.startProxy(t, "solo", 0, 0, "")

	t.Run("Connector API", func(t *testing.T) {
		cons := newConsumer(t, p.URL, "silently-ended")
		var conv string
		eng := c.sim.newest(t, func() { conv = mustOpenConversation(t, p.URL, cons) })
		mustSend(t, p.URL, cons, conv, "before the end")
		c.sim.agent(t, eng, "endDialog", "")

		code, body := send(t, p.URL, cons, conv, "after the end")
		if code != 400 || !strings.Contains(body, "Conversation closed") || !strings.Contains(body, conv) {
			t.Fatalf("SEND after AXP ended the dialog: %d %s, want the close answer", code, body)
		}
		eventually(t, "the connector to hear the CLOSE", func() (bool, string) {
			st := c.hooks.lastState(conv)
			return strings.HasPrefix(st, "CLOSE"), st
		})
		again := mustOpenConversation(t, p.URL, cons)
		if again == conv {
			t.Fatalf("CONVERSATION after the end gave the ended %s again", conv)
		}
		mustSend(t, p.URL, cons, again, "in the new conversation")
	})

	t.Run("Customer Channel", func(t *testing.T) {
		var cu customer
		eng := c.sim.newest(t, func() { cu = mustInit(t, p.URL, "ended@example.com") })
		sock := dialSIO(t, p.URL, nil)
		sock.join(t, cu)
		c.sim.agent(t, eng, "endDialog", "")
		ack, err := sock.call("sendMessage", map[string]string{"conversationId": cu.Conversation, "id": "m-1", "text": "after the end", "type": "ChatMessage"})
		var a struct {
			Status string
			Error  struct{ Code string }
		}
		if err != nil || json.Unmarshal(ack, &a) != nil || a.Status != "error" || a.Error.Code != "CONVERSATION_ENDED" {
			t.Fatalf("sendMessage after AXP ended the dialog: %s %v, want CONVERSATION_ENDED", ack, err)
		}
		sock.waitFor(t, "messageArrived", func(m json.RawMessage) bool { return strings.Contains(string(m), "endOfConversation") })
		again := mustInit(t, p.URL, "ended@example.com")
		if again.Conversation == cu.Conversation {
			t.Fatalf("init after the end gave the ended %s again", cu.Conversation)
		}
	})
}

// TestParticipantDisconnectedBeforeAdded has AXP deliver an agent's
// PARTICIPANT_DISCONNECTED before the PARTICIPANT_ADDED of the same
// agent (AXP does not promise order across event types): the conversation
// closes once, and the late PARTICIPANT_ADDED brings back neither the
// conversation nor the agent.
func TestParticipantDisconnectedBeforeAdded(t *testing.T) {
	c := newCluster(t, "")
	p := c.startProxy(t, "solo", 0, 0, "")
	cons := newConsumer(t, p.URL, "out-of-order")
	var conv string
	eng := c.sim.newest(t, func() { conv = mustOpenConversation(t, p.URL, cons) })
	mustSend(t, p.URL, cons, conv, "hello")

	const added = `connector_proxy_pipeline_events_applied_total{event_type="PARTICIPANT_ADDED"}`
	const left = `connector_proxy_pipeline_events_applied_total{event_type="PARTICIPANT_DISCONNECTED"}`
	before, leftBefore := p.metric(t, added), p.metric(t, left)
	c.sim.fault(t, `{"webhook":"delay","eventType":"PARTICIPANT_ADDED","latencyMs":1000,"count":1}`)
	c.sim.agent(t, eng, "agentJoin", `{"displayName":"Andy"}`)
	c.sim.agent(t, eng, "agentLeave", "")
	eventually(t, "PARTICIPANT_DISCONNECTED applied", func() (bool, string) {
		n := p.metric(t, left)
		return n >= leftBefore+1, fmt.Sprint(n)
	})
	if n := p.metric(t, added); n != before {
		t.Fatalf("PARTICIPANT_ADDED applied before PARTICIPANT_DISCONNECTED (%v → %v): the fault did not reorder them", before, n)
	}
	eventually(t, "the late PARTICIPANT_ADDED applied", func() (bool, string) {
		n := p.metric(t, added)
		return n >= before+1, fmt.Sprint(n)
	})
	eventually(t, "the connector to hear the CLOSE", func() (bool, string) {
		st := c.hooks.lastState(conv)
		return strings.HasPrefix(st, "CLOSE"), fmt.Sprint(c.hooks.states(conv))
	})
	// What the late event caused is in the outbox with the close, or
	// nothing: wait for the outbox to be empty, then read the states.
	eventually(t, "the outbox to drain", func() (bool, string) {
		d := p.metric(t, "connector_proxy_outbox_depth")
		return d == 0, fmt.Sprint(d)
	})
	states := c.hooks.states(conv)
	closed := false
	for _, st := range states {
		if strings.HasPrefix(st, "CLOSE") {
			closed = true
		} else if closed {
			t.Fatalf("the conversation was told %s after its CLOSE (all %v)", st, states)
		}
	}
	if code, body := send(t, p.URL, cons, conv, "after the agent left"); code != 400 || !strings.Contains(body, "Conversation closed") {
		t.Fatalf("SEND after the close: %d %s", code, body)
	}
}
