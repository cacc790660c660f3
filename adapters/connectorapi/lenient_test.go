package connectorapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// LivePerson's Connector App Hub demo sends its default campaign fields as
// JSON numbers; other clients send every id as a string. Both open a
// conversation, and the ids reach AXP as written, numeric
// interactionContextId included.
func TestNumericIdsAreAcceptedWhereTheDocsShowStrings(t *testing.T) {
	s := newStack(t, stackOpts{})
	profile := `{"kind":"req","id":"1,","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"Ada","contacts":[{"phone":4915112345678}]}}]}}}`
	tests := []struct {
		name string
		body string
		want map[string]string
	}{
		{"the demo app's default body, numbers",
			`{"brandId":"` + lpAccount + `","skillId":-1,"campaignInfo":{"campaignId":2894629312,"engagementId":2894629412},` +
				`"conversationContext":{"type":"SharkContext","lang":"en-US","visitorId":12345,"sessionId":67890,"interactionContextId":2,"features":["PHOTO_SHARING"]}}`,
			map[string]string{"campaignId": "2894629312", "engagementId": "2894629412", "visitorId": "12345", "sessionId": "67890", "interactionContextId": "2", "language": "en-US", "contextType": "SharkContext"}},
		{"the documentation's strings",
			`{"brandId":"` + lpAccount + `","skillId":"1234","campaignInfo":{"campaignId":"99","engagementId":"100"},"conversationContext":{"interactionContextId":"7"}}`,
			map[string]string{"campaignId": "99", "engagementId": "100", "interactionContextId": "7", "skillId": "1234"}},
		{"a numeric skill and null ids",
			`{"brandId":"` + lpAccount + `","skillId":1234,"campaignInfo":{"campaignId":null,"engagementId":5}}`,
			map[string]string{"skillId": "1234", "engagementId": "5"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := s.newConsumer("numeric-" + string(rune('a'+i)))
			code, body := s.conversation(c, "["+profile+`,{"kind":"req","id":2894629312,"type":"cm.ConsumerRequestConversation","body":`+tt.body+"}]")
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			var out []struct {
				ReqID json.RawMessage `json:"reqId"`
				Body  struct {
					ConversationID string `json:"conversationId"`
				} `json:"body"`
			}
			if err := json.Unmarshal(body, &out); err != nil || len(out) != 2 || out[1].Body.ConversationID == "" {
				t.Fatalf("answer %s: %v", body, err)
			}
			if string(out[1].ReqID) != "2894629312" {
				t.Errorf("reqId %s, want the numeric id echoed", out[1].ReqID)
			}
			eng, err := s.client.GetEngagement(s.ctx, s.engagementOf(out[1].Body.ConversationID))
			if err != nil || len(eng.Dialogs) == 0 {
				t.Fatalf("engagement: %v", err)
			}
			params := eng.Dialogs[0].EngagementParameters
			for k, v := range tt.want {
				if got := params[k]; got != v {
					t.Errorf("engagementParameters[%s] = %q, want %q (all: %v)", k, got, v, params)
				}
			}
		})
	}
}

// A field of a type no client sends is refused naming that exact field,
// array indices included, in LivePerson's format.
func TestWrongTypesAreRefusedNamingTheExactField(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("wrong-types")
	profile := func(body string) string {
		return `{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":` + body + `}`
	}
	request := func(body string) string {
		return `{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":` + body + `}`
	}
	okProfile, okRequest := profile(`{}`), request(`{"brandId":"`+lpAccount+`"}`)
	tests := []struct {
		name, batch, field, details string
	}{
		{"campaignId an object", "[" + okProfile + "," + request(`{"brandId":"`+lpAccount+`","campaignInfo":{"campaignId":{"id":1}}}`) + "]",
			"[1].body.campaignInfo.campaignId", "must be a string or a number, not object"},
		{"engagementId a bool", "[" + okProfile + "," + request(`{"brandId":"`+lpAccount+`","campaignInfo":{"campaignId":1,"engagementId":true}}`) + "]",
			"[1].body.campaignInfo.engagementId", "not bool"},
		{"campaignInfo a string", "[" + okProfile + "," + request(`{"brandId":"`+lpAccount+`","campaignInfo":"2894629312"}`) + "]",
			"[1].body.campaignInfo", "must be an object"},
		{"interactionContextId a list", "[" + okProfile + "," + request(`{"brandId":"`+lpAccount+`","conversationContext":{"interactionContextId":[1]}}`) + "]",
			"[1].body.conversationContext.interactionContextId", "not array"},
		{"a phone in the second contact of the second SDE", "[" + profile(`{"authenticatedData":{"lp_sdes":[{"type":"ctmrinfo","info":{}},{"type":"personal","personal":{"contacts":[{"phone":"1"},{"phone":{}}]}}]}}`) + "," + okRequest + "]",
			"[0].body.authenticatedData.lp_sdes[1].personal.contacts[1].phone", "must be a string or a number"},
		{"a first name that is a number", "[" + profile(`{"firstName":42}`) + "," + okRequest + "]",
			"[0].body.firstName", "must be a string, not number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.backend.calls()
			code, body := s.conversation(c, tt.batch)
			e := decodeLPError(t, 400, body)
			if code != 400 || e.Body.Field != tt.field || !strings.Contains(e.Body.Details, tt.details) {
				t.Fatalf("%d field %q details %q, want 400 %q with %q", code, e.Body.Field, e.Body.Details, tt.field, tt.details)
			}
			if n := s.backend.calls() - before; n != 0 {
				t.Errorf("%d backend calls for a refused request", n)
			}
		})
	}
}

// Invalid UTF-8 and control characters are refused with a 400 naming the
// field, before any AXP call, instead of reaching the agent as U+FFFD or a
// NUL.
func TestUncleanTextIsRefusedNamingTheField(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("unclean-text")
	conv := s.openConversation(c)
	profile := func(body string) string {
		return `{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":` + body + `}`
	}
	request := `{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + lpAccount + `"}}`
	convTests := []struct {
		name, batch, field string
		reqID              string
	}{
		{"invalid UTF-8 in a first name", "[" + profile("{\"firstName\":\"Ad\xffa\"}") + "," + request + "]", "[0].body.firstName", `"1"`},
		{"NUL in a last name", "[" + profile(`{"lastName":"Love\u0000lace"}`) + "," + request + "]", "[0].body.lastName", `"1"`},
		{"a tab in an SDE first name", "[" + profile(`{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"A\tda"}}]}}`) + "," + request + "]", "[0].body.authenticatedData.lp_sdes[0].personal.firstname", `"1"`},
		{"a lone surrogate in a campaign id", "[" + profile(`{}`) + `,{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + lpAccount + `","campaignInfo":{"campaignId":"\ud800"}}}]`, "[1].body.campaignInfo.campaignId", `"2"`},
	}
	for _, tt := range convTests {
		t.Run("CONVERSATION "+tt.name, func(t *testing.T) {
			before := s.backend.calls()
			code, body := s.conversation(c, tt.batch)
			e := decodeLPError(t, 400, body)
			if code != 400 || e.Body.Field != tt.field || string(e.ReqID) != tt.reqID {
				t.Fatalf("%d field %q reqId %s, want 400 %q %s: %s", code, e.Body.Field, e.ReqID, tt.field, tt.reqID, body)
			}
			if n := s.backend.calls() - before; n != 0 {
				t.Errorf("%d backend calls", n)
			}
		})
	}
	sendTests := []struct {
		name, text, field string
	}{
		{"invalid UTF-8 in a message", "h\xc3llo", "body.event.message"},
		{"NUL in a message", `a\u0000b`, "body.event.message"},
		{"a bell in a message", "ring \x07", "body.event.message"},
		{"a C1 control in a message", `\u009b31m`, "body.event.message"},
	}
	for _, tt := range sendTests {
		t.Run("SEND "+tt.name, func(t *testing.T) {
			before := s.backend.calls()
			code, body := s.send(c, `{"kind":"req","id":"7","type":"ms.PublishEvent","body":{"dialogId":"`+conv+`","event":{"type":"ContentEvent","contentType":"text/plain","message":"`+tt.text+`"}}}`)
			e := decodeLPError(t, 400, body)
			if code != 400 || e.Body.Field != tt.field || string(e.ReqID) != `"7"` {
				t.Fatalf("%d field %q reqId %s: %s", code, e.Body.Field, e.ReqID, body)
			}
			if n := s.backend.calls() - before; n != 0 {
				t.Errorf("%d backend calls", n)
			}
		})
	}
	t.Run("SEND a multi-line message is text", func(t *testing.T) {
		s.sendText(c, conv, "line one\nline two\ttabbed\r\n") // fails the test unless 200
	})
	t.Run("consumer with NUL in ext_consumer_id", func(t *testing.T) {
		jwt := s.appJWT(lpAccount, appID, appSecret)
		code, body := s.do("POST", "/api/account/"+lpAccount+"/consumer?v=1.0", map[string]string{"Authorization": jwt}, `{"ext_consumer_id":"a\u0000b"}`)
		e := decodeLPError(t, 400, body)
		if code != 400 || e.Body.Field != "ext_consumer_id" {
			t.Fatalf("%d field %q: %s", code, e.Body.Field, body)
		}
	})
}
