package e2e

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestEmbeddedStoreSurvivesSIGKILL kills the one proxy (bolt store) in the
// middle of two conversations and starts it again on the same data
// directory and ports: both conversations go on and nothing accepted before
// the kill is lost.
func TestEmbeddedStoreSurvivesSIGKILL(t *testing.T) {
	c := newCluster(t, "")
	p := c.startProxy(t, "solo", 0, 0, "")

	// A Connector API conversation and a web chat, both with an agent.
	cons := newConsumer(t, p.URL, "survivor")
	var conv string
	lpEng := c.sim.newest(t, func() { conv = mustOpenConversation(t, p.URL, cons) })
	mustSend(t, p.URL, cons, conv, "before the crash")
	// The SEND's record went to the send log, and its commit is counted
	// apart from the bbolt file's.
	if n := p.metric(t, `connector_proxy_store_commit_writes_count{file="send_log"}`); n == 0 {
		t.Errorf("no send log commit counted after a SEND")
	}
	var cu customer
	ccEng := c.sim.newest(t, func() { cu = mustInit(t, p.URL, "dana@example.com") })
	sock := dialSIO(t, p.URL, nil)
	sock.join(t, cu)
	c.sim.agent(t, ccEng, "agentJoin", `{"displayName":"Andy"}`)
	c.sim.agent(t, ccEng, "agentMessage", `{"text":"web before"}`)
	sock.waitFor(t, "messageArrived", chatText("web before"))

	// The connector's endpoint is down: the agent's join and messages wait
	// in the outbox. The proxy has accepted them once the relay queued
	// them (it answers AXP only then).
	c.hooks.setStatus(503)
	c.sim.agent(t, lpEng, "agentJoin", `{"displayName":"Andy"}`)
	before := []string{"m0", "m1", "m2"}
	for _, m := range before {
		c.sim.agent(t, lpEng, "agentMessage", `{"text":"`+m+`"}`)
	}
	queued := `connector_proxy_outbox_items_total{face="connectorapi",kind="ContentEvent",result="queued"}`
	eventually(t, "the agent's messages queued", func() (bool, string) {
		n := p.metric(t, queued)
		return n >= float64(len(before)), fmt.Sprint(n)
	})

	p.kill()
	c.hooks.setStatus(200)
	p = c.startProxy(t, "solo-again", p.port, p.admin, p.dataDir)

	// The SEND's record was read back from the send log on the start, and
	// the log's size is reported from what was read.
	if n := p.metric(t, `connector_proxy_store_file_bytes{file="send_log"}`); n == 0 {
		t.Errorf("the send log reported empty after a restart that read a SEND's record")
	}
	if n := p.metric(t, `connector_proxy_store_send_records`); n == 0 {
		t.Errorf("no send record in the index after a restart that read one")
	}
	// Nothing lost: what was queued before the kill arrives, in order.
	c.hooks.waitMessages(t, conv, before...)
	// The conversation goes on with the same tokens (the AppJWT key is in
	// the data directory).
	mustSend(t, p.URL, cons, conv, "after the restart")
	c.sim.agent(t, lpEng, "agentMessage", `{"text":"m3"}`)
	c.hooks.waitMessages(t, conv, append(before, "m3")...)

	// The customer's socket died with the process; it reconnects, joins
	// again, finds what was said, and hears the agent again.
	sock = dialSIO(t, p.URL, nil)
	ack, err := sock.call("joinConversation", map[string]string{"conversationId": cu.Conversation, "id": cu.Participant})
	if err != nil || !json.Valid(ack) {
		t.Fatalf("join after restart: %s %v", ack, err)
	}
	info := sock.waitFor(t, "conversationInfo", nil)
	var ci struct {
		Conversation struct{ State string }
		Messages     []struct{ Text string }
	}
	if err := json.Unmarshal(info.Arg(), &ci); err != nil || ci.Conversation.State != "OPEN" || !hasText(ci.Messages, "web before") {
		t.Fatalf("conversationInfo after restart: %s", info.Arg())
	}
	c.sim.agent(t, ccEng, "agentMessage", `{"text":"web after"}`)
	sock.waitFor(t, "messageArrived", chatText("web after"))
}

func hasText(ms []struct{ Text string }, text string) bool {
	for _, m := range ms {
		if m.Text == text {
			return true
		}
	}
	return false
}
