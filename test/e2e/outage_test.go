package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// TestRedisOutage stops the Redis two replicas share (saving its data, as a
// Redis with persistence does) and starts it again: while it is down the
// proxies are not ready and answer 503 in each face's own format; after, they
// work again by themselves and no conversation is lost.
func TestRedisOutage(t *testing.T) {
	srv := redistest.Start(t)
	c := newCluster(t, srv.URL)
	aPort := freePort(t)
	c.publicURL = "http://" + addr(aPort)
	a := c.startProxy(t, "replica-a", aPort, 0, "")
	b := c.startProxy(t, "replica-b", 0, 0, "")

	cons := newConsumer(t, a.URL, "outage")
	var conv string
	lpEng := c.sim.newest(t, func() { conv = mustOpenConversation(t, a.URL, cons) })
	var cu customer
	ccEng := c.sim.newest(t, func() { cu = mustInit(t, a.URL, "erin@example.com") })

	srv.Stop()

	for _, p := range []*proxy{a, b} {
		eventually(t, p.id+" not ready while Redis is down", func() (bool, string) {
			code, body := p.readyz(t)
			return code == 503 && strings.Contains(body, `"store":{"ok":false`), body
		})
	}
	tests := []struct {
		name     string
		call     func() (int, string)
		wantBody []string
	}{
		{"SEND answers the LivePerson error body", func() (int, string) { return send(t, b.URL, cons, conv, "while down") },
			[]string{`"code":503`, `"errorCode":50300`, `store cannot be reached`}},
		{"CONVERSATION answers the LivePerson error body", func() (int, string) {
			code, body, _ := openConversation(t, a.URL, newConsumer(t, a.URL, "newcomer"))
			return code, body
		}, []string{`"errorCode":50300`}},
		{"init answers the Customer Channel error body", func() (int, string) {
			code, body, _ := initCustomer(t, b.URL, "frank@example.com")
			return code, body
		}, []string{`"status":503`, `"code":"UNAVAILABLE"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := tt.call()
			if code != 503 {
				t.Fatalf("answered %d %s, want 503", code, body)
			}
			for _, want := range tt.wantBody {
				if !strings.Contains(body, want) {
					t.Errorf("body %s lacks %s", body, want)
				}
			}
		})
	}
	sock := dialSIO(t, b.URL, nil)
	ack, err := sock.call("joinConversation", map[string]string{"conversationId": cu.Conversation, "id": cu.Participant})
	if err != nil || !strings.Contains(string(ack), `"code":"UNAVAILABLE"`) {
		t.Errorf("join while Redis is down acked %s (%v), want UNAVAILABLE", ack, err)
	}

	srv.Restart()

	for _, p := range []*proxy{a, b} {
		p.waitReady(t)
	}
	// No conversation lost: the one opened before goes on, through either
	// replica, and AXP's events reach both faces again.
	mustSend(t, b.URL, cons, conv, "after the outage")
	if _, body, again := openConversation(t, a.URL, cons); again != conv {
		t.Fatalf("CONVERSATION after the outage gave %q (%s), want %s", again, body, conv)
	}
	c.sim.agent(t, lpEng, "agentJoin", `{"displayName":"Andy"}`)
	c.sim.agent(t, lpEng, "agentMessage", `{"text":"back"}`)
	c.hooks.waitMessages(t, conv, "back")

	// The web chat, on the replica that did not get the webhook: the bus
	// subscription came back by itself.
	eventually(t, "the customer to join again", func() (bool, string) {
		ack, err := sock.call("joinConversation", map[string]string{"conversationId": cu.Conversation, "id": cu.Participant})
		return err == nil && strings.Contains(string(ack), `"status":"ok"`), fmt.Sprint(string(ack), err)
	})
	c.sim.agent(t, ccEng, "agentJoin", `{"displayName":"Andy"}`)
	// Pub/sub drops what is published while a subscriber reconnects, so
	// the agent speaks until one message gets through (bounded).
	deadline := time.Now().Add(waitFor)
	for i := 0; ; i++ {
		text := fmt.Sprintf("web back %d", i)
		c.sim.agent(t, ccEng, "agentMessage", `{"text":"`+text+`"}`)
		if got := waitEvent(sock, "messageArrived", chatText(text), 2*time.Second); got {
			if i > 0 {
				t.Logf("the bus came back after %d lost messages", i)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no agent message reached the socket on B after the outage")
		}
	}
}

// waitEvent reports whether an event named name satisfying pred arrives
// within d.
func waitEvent(c *sio, name string, pred func(json.RawMessage) bool, d time.Duration) bool {
	timeout := time.After(d)
	for {
		select {
		case ev := <-c.Events():
			if ev.Name == name && pred(ev.Arg()) {
				return true
			}
		case <-timeout:
			return false
		}
	}
}
