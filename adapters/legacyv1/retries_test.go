package legacyv1

import (
	"fmt"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/mapping"
)

func TestDialogConversationIDsAreStableAndInTheSessionsShard(t *testing.T) {
	for i := range 64 {
		owner := mapping.ConsumerKey{Face: OwnerFace, Account: "ABCDEF", Consumer: fmt.Sprint("session-", i)}
		id := dialogConversationID(owner, "616imlgwg266hjs670nl")
		if mapping.ShardOf(id) != mapping.OwnerShard(owner) {
			t.Fatalf("%s is in shard %d, its session in %d", id, mapping.ShardOf(id), mapping.OwnerShard(owner))
		}
		if again := dialogConversationID(owner, "616imlgwg266hjs670nl"); again != id {
			t.Fatalf("the same dialog got %s and %s", id, again)
		}
		if other := dialogConversationID(owner, "616imlgwg266hjs670nm"); other == id {
			t.Fatalf("two providerDialogIds share %s", id)
		}
	}
}

// A create naming a providerDialogId is made once: a retry, after an
// answer or after AXP did not confirm it, gets the same dialog.
func TestACreateWithAProviderDialogIDIsMadeOnce(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	sid, _ := h.newSession(tok)
	first := h.newEngagement(tok, sid, `,"providerDialogId":"pd-1"`)
	again := h.newEngagement(tok, sid, `,"providerDialogId":"pd-1"`)
	if again.DialogID != first.DialogID || again.EngagementID != first.EngagementID || again.ProviderDialogID != "pd-1" {
		t.Fatalf("retry made %+v, first %+v", again, first)
	}

	// The create lands only after the face stopped waiting for it (the
	// client's timeout, then SettleTimeout): the face says it does not
	// know (503); the retry finds the dialog instead of making another.
	h.fault(map[string]any{"latencyMs": 5000, "pathContains": "/engagements", "method": "POST", "count": 1})
	r := h.call("POST", "/api/digital/v1/engagements", tok, `{"sessionId":"`+sid+`","providerDialogId":"pd-2"}`)
	if r.status != 503 || !strings.Contains(r.legacyError(t).Detail, "same providerDialogId") {
		t.Fatalf("unconfirmed create: %d %s", r.status, r.body)
	}
	late := h.newEngagement(tok, sid, `,"providerDialogId":"pd-2"`)
	if n := h.dialogsNamed(late.EngagementID, sid, "pd-2"); n != 1 {
		t.Fatalf("%d dialogs for pd-2 at AXP, want 1", n)
	}
	if late.ProviderDialogID != "pd-2" || h.conversation(late.DialogID).Attrs[attrProviderDialog] != "pd-2" {
		t.Fatalf("created %+v", late)
	}
	if n := h.dialogsNamed(first.EngagementID, sid, "pd-1"); n != 1 {
		t.Fatalf("%d dialogs for pd-1 at AXP, want 1", n)
	}

	// An answer AXP gives late is found while the face waits for it.
	h.fault(map[string]any{"answerLatencyMs": 2500, "pathContains": "/engagements", "method": "POST", "count": 1})
	found := h.newEngagement(tok, sid, "")
	if c := h.conversation(found.DialogID); c.EngagementID != found.EngagementID || found.ProviderDialogID != "" {
		t.Fatalf("conversation %+v of %+v", c, found)
	}
}

// dialogsNamed is how many dialogs of an engagement AXP holds for the
// client's providerDialogId (AXP knows them by their conversation's id).
func (h *harness) dialogsNamed(engagementID, sessionID, providerDialogID string) int {
	h.t.Helper()
	eng, err := h.backend.Client.GetEngagement(h.t.Context(), engagementID)
	if err != nil {
		h.t.Fatal(err)
	}
	id := dialogConversationID(h.face.sessionKey(sessionID), providerDialogID)
	n := 0
	for _, d := range eng.Dialogs {
		if d.ProviderDialogID == id {
			n++
		}
	}
	return n
}

// A message naming a providerMessageId is stored once: a retry, after an
// answer or after AXP did not confirm it, gets the same message.
func TestAMessageWithAProviderMessageIDIsStoredOnce(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	sid, _ := h.newSession(tok)
	e := h.newEngagement(tok, sid, "")
	send := func(pm string) reply {
		t.Helper()
		return h.call("POST", "/api/digital/v1/engagements/"+e.EngagementID+"/messages", tok,
			`{"sessionId":"`+sid+`","dialogId":"`+e.DialogID+`","body":"hello","providerMessageId":"`+pm+`"}`)
	}
	var first, again Message
	send("pm-1").json(t, &first)
	send("pm-1").json(t, &again)
	if first.MessageID == "" || again.MessageID != first.MessageID || again.ProviderMessageID != "pm-1" {
		t.Fatalf("retry answered %+v, first %+v", again, first)
	}
	if n := h.customerMessages(tok, e.EngagementID, sid, e.DialogID); n != 1 {
		t.Fatalf("%d messages at AXP, want 1", n)
	}

	// Stored only after the face stopped waiting: 503, then the retry
	// finds it.
	h.fault(map[string]any{"latencyMs": 5000, "pathContains": "/messages", "method": "POST", "count": 1})
	r := send("pm-2")
	if r.status != 503 || !strings.Contains(r.legacyError(t).Detail, "same providerMessageId") {
		t.Fatalf("unconfirmed send: %d %s", r.status, r.body)
	}
	var late Message
	if r := send("pm-2"); r.status != 200 {
		t.Fatalf("retry: %d %s", r.status, r.body)
	} else {
		r.json(t, &late)
	}
	if n := h.customerMessages(tok, e.EngagementID, sid, e.DialogID); n != 2 || late.ProviderMessageID != "pm-2" {
		t.Fatalf("%d messages at AXP (want 2), answered %+v", n, late)
	}

	// Without a providerMessageId a message AXP did not confirm is looked
	// for by the proxy's own id; not found, the answer says a retry may
	// store it twice.
	h.fault(map[string]any{"latencyMs": 5000, "pathContains": "/messages", "method": "POST", "count": 1})
	r = h.call("POST", "/api/digital/v1/engagements/"+e.EngagementID+"/messages", tok,
		`{"sessionId":"`+sid+`","dialogId":"`+e.DialogID+`","body":"no handle"}`)
	if r.status != 503 || !strings.Contains(r.legacyError(t).Detail, "may store it twice") {
		t.Fatalf("unconfirmed send without a handle: %d %s", r.status, r.body)
	}
}

// Ending and disconnecting can be repeated: one AXP did not answer is
// sent once more, and answered.
func TestADisconnectAXPDidNotAnswerIsRepeated(t *testing.T) {
	h := startHarness(t, nil)
	tok := h.mustToken()
	sid, _ := h.newSession(tok)
	e := h.newEngagement(tok, sid, "")
	h.fault(map[string]any{"answerLatencyMs": 2500, "pathContains": ":disconnect", "count": 1})
	r := h.call("POST", "/api/digital/v1/engagements/"+e.EngagementID+":disconnect", tok, `{"sessionId":"`+sid+`","dialogId":"`+e.DialogID+`"}`)
	if r.status != 200 {
		t.Fatalf("disconnect: %d %s", r.status, r.body)
	}
	if c := h.conversation(e.DialogID); c.Open() {
		t.Fatalf("conversation open after the disconnect: %+v", c)
	}
	h.fault(map[string]any{"answerLatencyMs": 2500, "pathContains": "/sessions/" + sid, "method": "DELETE", "count": 1})
	if r := h.call("POST", "/api/digital/v1/sessions/"+sid+":terminate", tok, `{"reason":"USER_CLOSED"}`); r.status != 200 {
		t.Fatalf("terminate: %d %s", r.status, r.body)
	}
}
