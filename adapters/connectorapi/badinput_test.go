package connectorapi

import (
	"strings"
	"testing"
)

func TestBadInputIsA4xxInLivePersonFormatAndCreatesNothing(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("bad-input")

	profile := `{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{}}`
	request := `{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + lpAccount + `"}}`
	convTests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed JSON", `[{"kind":"req",`, 400, ""},
		{"not JSON at all", `hello`, 400, ""},
		{"one envelope instead of a batch", request, 400, ""},
		{"batch in the wrong order", "[" + request + "," + profile + "]", 400, ""},
		{"batch without the profile", "[" + request + "]", 400, ""},
		{"unknown type in the batch", "[" + profile + `,{"kind":"req","id":"2","type":"cm.Nonsense","body":{}}]`, 400, "[1].type"},
		{"response kind from the client", "[" + profile + `,{"kind":"resp","id":"2","type":"cm.ConsumerRequestConversation","body":{}}]`, 400, "[1].kind"},
		{"missing id", "[" + profile + `,{"kind":"req","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + lpAccount + `"}}]`, 400, "[1].id"},
		{"missing body", "[" + profile + `,{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation"}]`, 400, "[1].body"},
		{"missing brandId", "[" + profile + `,{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{}}]`, 400, "[1].body.brandId"},
		{"brandId of another account", "[" + profile + `,{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"le1"}}]`, 400, "[1].body.brandId"},
		{"unsupported SDE", `[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"cart"}]}}},` + request + "]", 400, "[0].body.authenticatedData.lp_sdes[0].type"},
		{"body over the size limit", "[" + profile + "," + strings.Replace(request, `"brandId"`, `"pad":"`+strings.Repeat("x", DefaultMaxBodyBytes)+`","brandId"`, 1) + "]", 413, ""},
	}
	for _, tt := range convTests {
		t.Run("CONVERSATION "+tt.name, func(t *testing.T) {
			before := s.backend.calls()
			code, body := s.conversation(c, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			e := decodeLPError(t, tt.status, body)
			if tt.field != "" && e.Body.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", e.Body.Field, tt.field, body)
			}
			if n := s.backend.calls(); n != before {
				t.Errorf("%d backend calls", n-before)
			}
			if n := s.simEngagements(); n != 0 {
				t.Errorf("%d engagements created in the simulator", n)
			}
		})
	}

	conv := s.openConversation(c)
	ev := func(event string) string {
		return `{"kind":"req","id":"5","type":"ms.PublishEvent","body":{"dialogId":"` + conv + `","event":` + event + `}}`
	}
	sendTests := []struct {
		name, body string
		status     int
		field      string
	}{
		{"malformed JSON", `{"kind":"req","id":"5",`, 400, ""},
		{"a batch to SEND", "[" + ev(`{"type":"ContentEvent","contentType":"text/plain","message":"x"}`) + "]", 400, ""},
		{"unknown type", `{"kind":"req","id":"5","type":"ms.Nonsense","body":{}}`, 400, "type"},
		{"unknown kind", `{"kind":"request","id":"5","type":"ms.PublishEvent","body":{}}`, 400, "kind"},
		{"missing dialogId", `{"kind":"req","id":"5","type":"ms.PublishEvent","body":{"event":{"type":"ContentEvent","contentType":"text/plain","message":"x"}}}`, 400, "body.dialogId"},
		{"missing event", `{"kind":"req","id":"5","type":"ms.PublishEvent","body":{"dialogId":"` + conv + `"}}`, 400, "body.event"},
		{"missing message", ev(`{"type":"ContentEvent","contentType":"text/plain"}`), 400, "body.event.message"},
		{"blank message", ev(`{"type":"ContentEvent","contentType":"text/plain","message":"  "}`), 400, "body.event.message"},
		{"message not a string", ev(`{"type":"ContentEvent","contentType":"text/plain","message":{"a":1}}`), 400, "body.event.message"},
		{"text over 4096 characters", ev(`{"type":"ContentEvent","contentType":"text/plain","message":"` + strings.Repeat("é", MaxTextLength+1) + `"}`), 400, "body.event.message"},
		{"another content type", ev(`{"type":"ContentEvent","contentType":"hosted/file","message":"x"}`), 400, "body.event.contentType"},
		{"unsupported event type", ev(`{"type":"RichContentEvent","content":{}}`), 400, "body.event.type"},
		{"unknown chat state", ev(`{"type":"ChatStateEvent","chatState":"DANCING"}`), 400, "body.event.chatState"},
		{"dialogId of the wrong type", `{"kind":"req","id":"5","type":"ms.PublishEvent","body":{"dialogId":5}}`, 400, "body.dialogId"},
		{"unknown conversation", `{"kind":"req","id":"5","type":"ms.PublishEvent","body":{"dialogId":"nope","event":{"type":"ContentEvent","contentType":"text/plain","message":"x"}}}`, 404, ""},
		{"CSAT out of range", `{"kind":"req","id":"5","type":"cm.UpdateConversationField","body":{"conversationId":"` + conv + `","conversationField":{"field":"CSATRate","csatRate":9,"status":"FILLED"}}}`, 400, "body.conversationField.csatRate"},
		{"reopen", `{"kind":"req","id":"5","type":"cm.UpdateConversationField","body":{"conversationId":"` + conv + `","conversationField":{"field":"ConversationStateField","conversationState":"OPEN"}}}`, 400, "body.conversationField.conversationState"},
		{"body over the size limit", ev(`{"type":"ContentEvent","contentType":"text/plain","message":"` + strings.Repeat("x", DefaultMaxBodyBytes) + `"}`), 413, ""},
	}
	for _, tt := range sendTests {
		t.Run("SEND "+tt.name, func(t *testing.T) {
			before := s.backend.calls()
			code, body := s.send(c, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			e := decodeLPError(t, tt.status, body)
			if tt.field != "" && e.Body.Field != tt.field {
				t.Errorf("field %q, want %q (%s)", e.Body.Field, tt.field, body)
			}
			if tt.status == 400 && tt.field != "kind" && !strings.HasPrefix(tt.name, "malformed") && !strings.HasPrefix(tt.name, "a batch") &&
				!strings.Contains(string(body), `"reqId":"5"`) {
				t.Errorf("no reqId in %s", body)
			}
			if n := s.backend.calls(); n != before {
				t.Errorf("%d backend calls", n-before)
			}
		})
	}
	if n := s.simEngagements(); n != 1 {
		t.Fatalf("%d engagements in the simulator, want the one opened", n)
	}
}

func TestSendAcceptsChatStateAcceptStatusAndCSATWithoutMessages(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("states")
	conv := s.openConversation(c)
	for _, body := range []string{
		`{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"` + conv + `","event":{"type":"ChatStateEvent","chatState":"COMPOSING"}}}`,
		`{"kind":"req","id":"2","type":"ms.PublishEvent","body":{"dialogId":"` + conv + `","event":{"type":"AcceptStatusEvent","status":"READ","sequenceList":[0]}}}`,
		`{"kind":"req","id":3,"type":"cm.UpdateConversationField","body":{"conversationId":"` + conv + `","conversationField":{"field":"CSATRate","csatRate":5,"csatResolutionConfirmation":true,"status":"FILLED"}}}`,
		`{"kind":"req","id":"4","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"ctmrinfo","info":{"ctype":"vip","socialId":"1234"}}]}}}`,
	} {
		code, out := s.send(c, body)
		if code != 200 || !strings.Contains(string(out), `"code":"OK"`) {
			t.Fatalf("%s → %d %s", body, code, out)
		}
	}
	stored, err := s.store.Conversation(s.ctx, conv)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stored.Attrs[attrCSAT], `"csatRate":"5"`) {
		t.Fatalf("CSAT not kept: %v", stored.Attrs)
	}
	// Only text reaches AXP as messages: the next text is the first one.
	if seq := s.sendText(c, conv, "first words"); seq != 0 {
		t.Fatalf("sequence %d after chat states, want 0", seq)
	}
}
