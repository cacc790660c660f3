package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// slowAXPTimeout is axp.timeout in the tests of a slow AXP: the proxy
// waits for an unconfirmed write twice as long (its settle time), and a
// client request three times as long and a second.
const slowAXPTimeout = time.Second

// A client told "not confirmed" sends the same again after retryPause, at
// most maxTries times: longer than the slowest write takes to land.
const (
	retryPause = 100 * time.Millisecond
	maxTries   = 50
)

// fault adds a fault to the simulator; they are cleared when the test ends.
func (s *sim) fault(t *testing.T, fault string) {
	t.Helper()
	s.faulted = time.Now()
	code, body := do(t, "POST", s.URL+"/sim/faults", map[string]string{"Content-Type": "application/json"}, fault)
	if code/100 != 2 {
		t.Fatalf("sim fault %s: %d %s", fault, code, body)
	}
	t.Cleanup(func() { do(t, "DELETE", s.URL+"/sim/faults", nil, "") })
}

// TestAXPSlowerThanItsTimeout makes AXP take longer than axp.timeout over
// the one write of each client command — SEND, sendMessage, CONVERSATION
// and init — in the three ways a timeout can end: the write lands late but
// within the proxy's settle time, it lands at once and only its answer is
// late, or it lands after the proxy stopped waiting. Each time the client
// is told the truth (done, or "not confirmed, send the same again"), a
// client that sends the same again is not applied twice, and no dialog is
// left without its conversation.
func TestAXPSlowerThanItsTimeout(t *testing.T) {
	ms := func(d time.Duration) int { return int(d / time.Millisecond) }

	slowness := []struct {
		name  string
		fault string // the timing part of the fault
		// lands is when the slowed write is done after it began: only
		// then can a test tell that no second one followed.
		lands time.Duration
		// confirmed says the first answer is already the outcome: the
		// write was found within the settle time.
		confirmed bool
	}{
		{"applied late, within the settle time", fmt.Sprintf(`"latencyMs":%d`, ms(slowAXPTimeout*3/2)), slowAXPTimeout * 3 / 2, true},
		{"applied at once, answered late", fmt.Sprintf(`"answerLatencyMs":%d`, ms(slowAXPTimeout*3)), slowAXPTimeout * 3, true},
		{"applied after the proxy stopped waiting", fmt.Sprintf(`"latencyMs":%d`, ms(slowAXPTimeout*4)), slowAXPTimeout * 4, false},
	}
	commands := []struct {
		name string
		// run does the command until it succeeds, sending the same again
		// after an unconfirmed answer; it returns whether the first answer
		// was the outcome, and checks AXP's state.
		run func(t *testing.T, r *slowRig, n int) (firstConfirmed bool)
	}{
		{"SEND", func(t *testing.T, r *slowRig, n int) bool {
			cons := newConsumer(t, r.p.URL, fmt.Sprintf("slow-send-%d", n))
			var conv string
			eng := r.sim.newest(t, func() { conv = mustOpenConversation(t, r.p.URL, cons) })
			r.sim.fault(t, fmt.Sprintf(`{%s,"count":1,"pathContains":"/messages","method":"POST"}`, slowness[n].fault))
			first, tries := "", 0
			for ; tries < maxTries; tries++ {
				code, body := send(t, r.p.URL, cons, conv, "slow hello")
				if first == "" {
					first = fmt.Sprintf("%d %s", code, body)
				}
				if code == 200 && strings.Contains(body, `"code":"OK"`) {
					if got := customerTexts(r.sim.messages(t, r.axp, eng), "slow hello"); got != 1 {
						t.Fatalf("SEND answered OK with the message %d times in AXP", got)
					}
					break
				}
				if code != 503 || !strings.Contains(body, "50301") {
					t.Fatalf("SEND answered %d %s, want OK or 503 50301 (not confirmed)", code, body)
				}
				time.Sleep(retryPause)
			}
			r.landed(slowness[n].lands)
			assertOnce(t, "the message", customerTexts(r.sim.messages(t, r.axp, eng), "slow hello"), tries)
			return strings.HasPrefix(first, "200")
		}},
		{"sendMessage", func(t *testing.T, r *slowRig, n int) bool {
			var cu customer
			eng := r.sim.newest(t, func() { cu = mustInit(t, r.p.URL, fmt.Sprintf("slow-%d@example.com", n)) })
			sock := dialSIO(t, r.p.URL, nil)
			sock.join(t, cu)
			r.sim.fault(t, fmt.Sprintf(`{%s,"count":1,"pathContains":"/messages","method":"POST"}`, slowness[n].fault))
			msg := map[string]string{"conversationId": cu.Conversation, "id": "m-1", "text": "slow web hello", "type": "ChatMessage"}
			first, tries := "", 0
			for ; tries < maxTries; tries++ {
				ack, err := sock.call("sendMessage", msg)
				if err != nil {
					t.Fatalf("sendMessage: %v", err)
				}
				if first == "" {
					first = string(ack)
				}
				var a struct {
					Status string
					Error  struct{ Code string }
				}
				_ = json.Unmarshal(ack, &a)
				if a.Status == "ok" {
					if got := customerTexts(r.sim.messages(t, r.axp, eng), "slow web hello"); got != 1 {
						t.Fatalf("sendMessage acked ok with the message %d times in AXP", got)
					}
					break
				}
				if a.Error.Code != "UNCONFIRMED" {
					t.Fatalf("sendMessage acked %s, want ok or UNCONFIRMED", ack)
				}
				time.Sleep(retryPause)
			}
			r.landed(slowness[n].lands)
			assertOnce(t, "the message", customerTexts(r.sim.messages(t, r.axp, eng), "slow web hello"), tries)
			return strings.Contains(first, `"status":"ok"`)
		}},
		{"CONVERSATION", func(t *testing.T, r *slowRig, n int) bool {
			cons := newConsumer(t, r.p.URL, fmt.Sprintf("slow-open-%d", n))
			before := len(r.sim.engagements(t))
			r.sim.fault(t, fmt.Sprintf(`{%s,"count":1,"pathContains":"/engagements","method":"POST"}`, slowness[n].fault))
			first, tries, conv := 0, 0, ""
			for ; tries < maxTries && conv == ""; tries++ {
				code, body, id := openConversation(t, r.p.URL, cons)
				if first == 0 {
					first = code
				}
				if code != 200 && (code != 503 || !strings.Contains(body, "50301")) {
					t.Fatalf("CONVERSATION answered %d %s, want 200 or 503 50301 (not confirmed)", code, body)
				}
				if conv = id; conv == "" {
					time.Sleep(retryPause)
				}
			}
			r.landed(slowness[n].lands)
			checkOneDialog(t, r.sim, r.axp, before, conv, tries)
			mustSend(t, r.p.URL, cons, conv, "the conversation works")
			return first == 200
		}},
		{"init", func(t *testing.T, r *slowRig, n int) bool {
			before := len(r.sim.engagements(t))
			r.sim.fault(t, fmt.Sprintf(`{%s,"count":1,"pathContains":"/engagements","method":"POST"}`, slowness[n].fault))
			body := fmt.Sprintf(`{"firstName":"Sal","lastName":"Slow","email":"slow-init-%d@example.com","channel":"web","requestId":"r-%d"}`, n, n)
			first, tries, conv := 0, 0, ""
			for ; tries < maxTries && conv == ""; tries++ {
				code, out := do(t, "POST", r.p.URL+"/api/customer/init", map[string]string{"Content-Type": "application/json"}, body)
				if first == 0 {
					first = code
				}
				var r struct{ ConversationID string }
				switch {
				case code == 200 && json.Unmarshal(out, &r) == nil:
					conv = r.ConversationID
				case code != 503 || !strings.Contains(string(out), "UNCONFIRMED"):
					t.Fatalf("init answered %d %s, want 200 or 503 UNCONFIRMED", code, out)
				default:
					time.Sleep(retryPause)
				}
			}
			r.landed(slowness[n].lands)
			checkOneDialog(t, r.sim, r.axp, before, conv, tries)
			return first == 200
		}},
	}
	for _, cmd := range commands {
		t.Run(cmd.name, func(t *testing.T) {
			t.Parallel() // each command has its own AXP: faults are AXP-wide
			r := newSlowRig(t)
			for n, slow := range slowness {
				t.Run(slow.name, func(t *testing.T) {
					if confirmed := cmd.run(t, r, n); confirmed != slow.confirmed {
						t.Errorf("the first answer was the outcome: %v, want %v", confirmed, slow.confirmed)
					}
				})
			}
		})
	}
}

// slowRig is a proxy with a short axp.timeout before its own simulator.
type slowRig struct {
	*cluster
	p   *proxy
	axp *engagement.Client
}

func newSlowRig(t *testing.T) *slowRig {
	c := newCluster(t, "")
	c.env = []string{"CONNECTOR_PROXY_AXP_TIMEOUT=" + slowAXPTimeout.String(),
		"CONNECTOR_PROXY_AXP_UNCONFIRMED_WINDOW=" + (6 * slowAXPTimeout).String()}
	return &slowRig{cluster: c, p: c.startProxy(t, "solo", 0, 0, ""), axp: c.sim.axp(t)}
}

// landed waits until a write slowed by the last fault is done, lands after
// it began.
func (r *slowRig) landed(lands time.Duration) {
	time.Sleep(time.Until(r.sim.faulted.Add(lands + 250*time.Millisecond)))
}

// customerTexts counts the customer's messages with text.
func customerTexts(msgs []engagement.Message, text string) int {
	n := 0
	for _, m := range msgs {
		if m.SenderParticipantType == engagement.ParticipantCustomer && m.Text() == text {
			n++
		}
	}
	return n
}

func assertOnce(t *testing.T, what string, got, tries int) {
	t.Helper()
	if got != 1 {
		t.Fatalf("%s is in AXP %d times after %d tries, want once", what, got, tries+1)
	}
}

// checkOneDialog checks that the command made one engagement, whose dialog
// is the conversation the client was given.
func checkOneDialog(t *testing.T, s *sim, axp *engagement.Client, before int, conv string, tries int) {
	t.Helper()
	if conv == "" {
		t.Fatalf("no conversation after %d tries", tries)
	}
	engs := s.engagements(t)
	if len(engs) != before+1 {
		t.Fatalf("%d engagements made, want 1", len(engs)-before)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	eng, err := axp.GetEngagement(ctx, engs[len(engs)-1])
	if err != nil || len(eng.Dialogs) != 1 || eng.Dialogs[0].ProviderDialogID != conv {
		t.Fatalf("the engagement made is %+v (%v), want one dialog of conversation %s", eng, err, conv)
	}
}
