package connectorapi

import "testing"

func TestScanSendReadsTheCommonShapeAndLeavesTheRest(t *testing.T) {
	tests := []struct {
		name string
		body string
		fast bool
		want publishEvent
	}{
		{"a text", textEnvelope("1", "c-1", "hi there"), true,
			publishEvent{id: "c-1", hasEvent: true, typ: "ContentEvent", ctype: "text/plain", text: "hi there", kind: messageString}},
		{"a text with escapes", textEnvelope("1", "c-1", "a\nb \"c\" <d>"), true,
			publishEvent{id: "c-1", hasEvent: true, typ: "ContentEvent", ctype: "text/plain", text: "a\nb \"c\" <d>", kind: messageString}},
		{"members in any order, a number id, unknown members", `{"body":{"x":{"y":[1]},"event":{"chatState":"GONE","type":"ChatStateEvent"},"conversationId":"c"},"type":"ms.PublishEvent","id":12,"kind":"req","extra":null}`, true,
			publishEvent{id: "c", hasEvent: true, typ: "ChatStateEvent", state: "GONE"}},
		{"another type", closeEnvelope(`"1"`, "c"), false, publishEvent{}},
		{"a member in other case", `{"Kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"c","event":{}}}`, false, publishEvent{}},
		{"a duplicate member", `{"kind":"req","id":"1","id":"2","type":"ms.PublishEvent","body":{"dialogId":"c","event":{}}}`, false, publishEvent{}},
		{"a message that is no string", `{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"c","event":{"type":"ContentEvent","message":5}}}`, false, publishEvent{}},
		{"a sequence list", `{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"c","event":{"type":"AcceptStatusEvent","sequenceList":[1]}}}`, false, publishEvent{}},
		{"an empty id", `{"kind":"req","id":"","type":"ms.PublishEvent","body":{"dialogId":"c","event":{}}}`, false, publishEvent{}},
		{"trailing bytes", textEnvelope("1", "c", "x") + "x", false, publishEvent{}},
		{"not JSON", `{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"c"`, false, publishEvent{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, ev, ok := scanSend([]byte(tc.body))
			if ok != tc.fast || ev != tc.want {
				t.Fatalf("scanSend = %+v, %v; want %+v, %v", ev, ok, tc.want, tc.fast)
			}
		})
	}
}
