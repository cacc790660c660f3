package proxy

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/connector-proxy/connector-proxy/internal/siotest"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Client trace contexts the test sends (W3C ids of its own choosing).
const (
	sendTrace   = "4bf92f3577b34da6a3ce929d0e0e4736"
	sendParent  = "00f067aa0ba902b7"
	initTrace   = "5bf92f3577b34da6a3ce929d0e0e4737"
	initParent  = "10f067aa0ba902b8"
	socketTrace = "6bf92f3577b34da6a3ce929d0e0e4738"
	socketSpan  = "20f067aa0ba902b9"
)

// One trace follows a SEND to AXP, and one an agent's reply from AXP's
// webhook through the conversation worker to the connector's webhook; the
// same for the Customer Channel's init, a socket's sendMessage and the
// emit of the reply. No span holds a text, a token, a secret or a
// customer's identity.
func TestOneTraceFollowsEachMessageAcrossTheHop(t *testing.T) {
	r := startTraceRig(t)
	base := r.publicURL

	// The connector: AppJWT, ConsumerJWS, CONVERSATION.
	code, body := r.post(t, base+"/sentinel/api/account/DEMOAC/app/token?v=1.0&grant_type=client_credentials", "application/x-www-form-urlencoded",
		"client_id="+traceAppID+"&client_secret="+traceAppSecret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil {
		t.Fatalf("AppJWT = %d %s", code, body)
	}
	code, body = r.post(t, base+"/api/account/DEMOAC/consumer?v=1.0", "application/json", `{"ext_consumer_id":"`+traceConsumerExt+`"}`, "Authorization", tok.AccessToken)
	var jws struct{ Token string }
	if code != 200 && code != 201 || json.Unmarshal(body, &jws) != nil {
		t.Fatalf("ConsumerJWS = %d %s", code, body)
	}
	auth := []string{"Authorization", tok.AccessToken, "X-LP-ON-BEHALF", jws.Token}
	code, body = r.post(t, base+"/api/account/DEMOAC/messaging/consumer/conversation?v=3", "application/json",
		`[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"Grace","lastname":"Hopper"}}]}}},
		  {"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"DEMOAC"}}]`, auth...)
	var answers []struct {
		Body struct{ ConversationID string }
	}
	if code != 200 || json.Unmarshal(body, &answers) != nil || len(answers) != 2 || answers[1].Body.ConversationID == "" {
		t.Fatalf("CONVERSATION = %d %s", code, body)
	}
	conv := answers[1].Body.ConversationID
	// CONVERSATION's calls to AXP are its server span's children.
	convSpans := r.named("POST /api/account/{accountId}/messaging/consumer/conversation")
	if len(convSpans) != 1 {
		t.Fatalf("%d CONVERSATION server spans", len(convSpans))
	}
	created := r.axp.await(t, "CONVERSATION's engagement", func(h heard) bool {
		return h.method == "POST" && strings.HasSuffix(h.path, "/engagements") && h.traceparent != ""
	})
	if _, sid := parentOf(t, created.traceparent); r.span(t, sid).Parent().SpanID() != convSpans[0].SpanContext().SpanID() {
		t.Fatal("CONVERSATION's create_engagement is not its server span's child")
	}

	// SEND, with the connector's traceparent.
	code, body = r.post(t, base+"/api/account/DEMOAC/messaging/consumer/conversation/send?v=3", "application/json",
		`{"kind":"req","id":"3","type":"ms.PublishEvent","body":{"dialogId":"`+conv+`","event":{"type":"ContentEvent","contentType":"text/plain","message":"`+traceSendText+`"}}}`,
		append(auth, "traceparent", "00-"+sendTrace+"-"+sendParent+"-01", "tracestate", "vendor=opaque")...)
	if code != 200 {
		t.Fatalf("SEND = %d %s", code, body)
	}
	sends := r.named("POST /api/account/{accountId}/messaging/consumer/conversation/send")
	if len(sends) != 1 {
		t.Fatalf("%d SEND server spans", len(sends))
	}
	send := sends[0]
	if send.SpanKind() != trace.SpanKindServer || send.SpanContext().TraceID().String() != sendTrace || send.Parent().SpanID().String() != sendParent || !send.Parent().IsRemote() {
		t.Fatalf("SEND span: kind %v, trace %s, parent %v", send.SpanKind(), send.SpanContext().TraceID(), send.Parent())
	}
	// AXP got the traceparent of the client span that sent the message,
	// the SEND span's child, and the connector's tracestate.
	toAXP := r.axp.await(t, "the message to AXP", func(h heard) bool {
		return h.method == "POST" && strings.HasSuffix(h.path, "/messages")
	})
	tid, sid := parentOf(t, toAXP.traceparent)
	if tid.String() != sendTrace || toAXP.tracestate != "vendor=opaque" {
		t.Fatalf("AXP got traceparent %q tracestate %q", toAXP.traceparent, toAXP.tracestate)
	}
	axpCall := r.span(t, sid)
	if axpCall.SpanKind() != trace.SpanKindClient || axpCall.Parent().SpanID() != send.SpanContext().SpanID() ||
		axpCall.Name() != "POST /api/digital/channel/v1beta/accounts/{accountId}/engagements/{engagementId}/messages" ||
		spanAttr(axpCall, telemetry.AttrAXPOperation) != "send_message" || spanAttr(axpCall, "http.response.status_code") != "202" {
		t.Fatalf("the AXP call's span %q: kind %v parent %v attrs %v", axpCall.Name(), axpCall.SpanKind(), axpCall.Parent(), axpCall.Attributes())
	}

	// The agent answers: AXP's webhook, the worker's apply, the delivery.
	eng := r.engagementOf(t, conv)
	r.sim(t, "POST", "/sim/accounts/DEMOAC/engagements/"+eng+":agentJoin", `{"displayName":"Agent Smith"}`)
	r.sim(t, "POST", "/sim/accounts/DEMOAC/engagements/"+eng+":agentMessage", `{"text":"`+traceAgentText+`"}`)
	hook := r.hooks.await(t, "the agent's message at the connector", func(h heard) bool {
		return h.path == "/hooks/content" && strings.Contains(h.body, traceAgentText)
	})
	replyTrace, deliverySpan := parentOf(t, hook.traceparent)
	if replyTrace.String() == sendTrace {
		t.Fatal("the agent's reply is a trace of its own, not the SEND's")
	}
	delivery := r.span(t, deliverySpan)
	if delivery.SpanKind() != trace.SpanKindClient || delivery.Name() != "POST" || spanAttr(delivery, telemetry.AttrNotificationKind) != "ContentEvent" ||
		spanAttr(delivery, "http.response.status_code") != "200" || !strings.HasSuffix(spanAttr(delivery, "url.full"), "/hooks/content") {
		t.Fatalf("delivery span %q: %v", delivery.Name(), delivery.Attributes())
	}
	apply := r.span(t, delivery.Parent().SpanID())
	if apply.Name() != "apply inbox" || apply.SpanKind() != trace.SpanKindConsumer || spanAttr(apply, "messaging.message.conversation_id") != conv || spanAttr(apply, telemetry.AttrFace) != "connectorapi" {
		t.Fatalf("the delivery's parent is %q %v", apply.Name(), apply.Attributes())
	}
	webhook := r.span(t, apply.Parent().SpanID()) // applied inline or by the worker: the webhook is the parent either way
	if webhook.Name() != "POST /webhooks/axp/{token}" || webhook.SpanKind() != trace.SpanKindServer || spanAttr(webhook, telemetry.AttrAXPEventType) != "MESSAGES" ||
		webhook.Parent().IsValid() || webhook.SpanContext().TraceID() != replyTrace {
		t.Fatalf("the apply's parent is %q (parent %v) %v", webhook.Name(), webhook.Parent(), webhook.Attributes())
	}
	for _, l := range apply.Links() {
		if l.SpanContext.SpanID() != webhook.SpanContext().SpanID() {
			t.Fatalf("the apply links to %v, not its webhook", l.SpanContext)
		}
	}

	// The Customer Channel: init with a traceparent makes the session and
	// the engagement in its trace.
	code, body = r.post(t, base+"/api/customer/init", "application/json",
		`{"channel":"web","firstName":"Ada","lastName":"Lovelace","email":"ada@example.com"}`,
		"traceparent", "00-"+initTrace+"-"+initParent+"-01")
	var initAnswer struct {
		ConversationID string
		Participant    struct{ ID string }
	}
	if code != 200 || json.Unmarshal(body, &initAnswer) != nil || initAnswer.ConversationID == "" {
		t.Fatalf("init = %d %s", code, body)
	}
	for _, suffix := range []string{"/sessions", "/engagements"} {
		h := r.axp.await(t, "init's "+suffix, func(h heard) bool {
			return h.method == "POST" && strings.HasSuffix(h.path, suffix) && strings.Contains(h.traceparent, initTrace)
		})
		_, sid := parentOf(t, h.traceparent)
		if p := r.span(t, sid).Parent(); p.SpanID() != r.named("POST /api/customer/init")[0].SpanContext().SpanID() {
			t.Fatalf("init's %s call is not the init span's child: %v", suffix, p)
		}
	}

	// A socket whose handshake carried a traceparent: its sendMessage is
	// that context's child, and so is the AXP call.
	sock, err := siotest.DialHeader(base, nil, http.Header{"Traceparent": {"00-" + socketTrace + "-" + socketSpan + "-01"}})
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()
	if ack, err := sock.Call("joinConversation", map[string]string{"conversationId": initAnswer.ConversationID, "id": initAnswer.Participant.ID}); err != nil || len(ack) == 0 || !strings.Contains(string(ack[0]), `"ok"`) {
		t.Fatalf("joinConversation ack %s, %v", ack, err)
	}
	if ack, err := sock.Call("sendMessage", map[string]string{"conversationId": initAnswer.ConversationID, "text": traceSocketText}); err != nil || len(ack) == 0 || !strings.Contains(string(ack[0]), `"ok"`) {
		t.Fatalf("sendMessage ack %s, %v", ack, err)
	}
	sent := r.axp.await(t, "the socket's message to AXP", func(h heard) bool {
		return h.method == "POST" && strings.HasSuffix(h.path, "/messages") && strings.Contains(h.traceparent, socketTrace)
	})
	_, sid = parentOf(t, sent.traceparent)
	event := r.span(t, r.span(t, sid).Parent().SpanID())
	if event.Name() != "process sendMessage" || event.SpanKind() != trace.SpanKindConsumer || event.Parent().SpanID().String() != socketSpan || !event.Parent().IsRemote() {
		t.Fatalf("the socket's AXP call's parent is %q (parent %v)", event.Name(), event.Parent())
	}
	// The agent's answer reaches the socket through an emit span, the
	// apply's child.
	eng = r.engagementOf(t, initAnswer.ConversationID)
	r.sim(t, "POST", "/sim/accounts/DEMOAC/engagements/"+eng+":agentJoin", `{"displayName":"Agent Jones"}`)
	r.sim(t, "POST", "/sim/accounts/DEMOAC/engagements/"+eng+":agentMessage", `{"text":"`+traceSocketAnswer+`"}`)
	sock.WaitFor(t, "messageArrived", func(a json.RawMessage) bool { return strings.Contains(string(a), traceSocketAnswer) }, 10*time.Second)
	emit := r.awaitEmitOf(t, initAnswer.ConversationID, 2) // the join's and the message's
	for _, e := range emit {
		a := r.span(t, e.Parent().SpanID())
		if a.Name() != "apply inbox" || spanAttr(a, telemetry.AttrFace) != "customerchannel" || e.SpanContext().TraceID() != a.SpanContext().TraceID() {
			t.Fatalf("an emit's parent is %q %v", a.Name(), a.Attributes())
		}
		if spanAttr(e, telemetry.AttrRecipients) != "1" {
			t.Fatalf("the emit reached %q sockets", spanAttr(e, telemetry.AttrRecipients))
		}
	}

	// Nothing private in any span.
	token, err := os.ReadFile(filepath.Join(r.p.cfg.DataDir, "webhook-token"))
	if err != nil {
		t.Fatal(err)
	}
	private := []string{traceSendText, traceAgentText, traceSocketText, traceSocketAnswer, traceAppSecret, traceAXPSecret,
		tok.AccessToken, jws.Token, traceConsumerExt, strings.TrimSpace(string(token)), "Grace", "Hopper", "Ada", "Lovelace", "ada@example.com", "Agent Smith", "Agent Jones"}
	for _, h := range r.axp.all() {
		if bearer, ok := strings.CutPrefix(h.auth, "Bearer "); ok {
			private = append(private, bearer)
		}
	}
	for _, h := range r.hooks.all() {
		if h.signature != "" {
			private = append(private, h.signature)
		}
	}
	spans := r.rec.Ended()
	recorded := everyRecordedString(spans)
	if !slices.ContainsFunc(recorded, func(s string) bool { return strings.Contains(s, conv) }) {
		t.Fatal("the scan does not see attribute values: the conversation id, which is recorded, is not among them")
	}
	for _, s := range recorded {
		for _, p := range private {
			if p != "" && strings.Contains(s, p) {
				t.Errorf("a span records %q: %s", p, s)
			}
		}
	}
	t.Logf("%d spans checked", len(spans))
}

// awaitEmitOf waits for n emit spans whose apply span is of conversation.
func (r *traceRig) awaitEmitOf(t *testing.T, conversation string, n int) []sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		applies := map[trace.SpanID]bool{}
		for _, s := range r.named("apply inbox") {
			if spanAttr(s, "messaging.message.conversation_id") == conversation {
				applies[s.SpanContext().SpanID()] = true
			}
		}
		var out []sdktrace.ReadOnlySpan
		for _, s := range r.named("send messageArrived") {
			if applies[s.Parent().SpanID()] {
				out = append(out, s)
			}
		}
		if len(out) >= n {
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d emits of %s within 10 s, want %d", len(out), conversation, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRouteTemplatesCarryNoIDsOrTokens(t *testing.T) {
	cases := map[string]telemetry.Route{
		"/sentinel/api/account/DEMOAC/app/token":                       {Template: "/sentinel/api/account/{accountId}/app/token"},
		"/api/account/DEMOAC/consumer":                                 {Template: "/api/account/{accountId}/consumer"},
		"/api/account/DEMOAC/messaging/consumer/conversation":          {Template: "/api/account/{accountId}/messaging/consumer/conversation"},
		"/api/account/DEMOAC/messaging/consumer/conversation/send":     {Template: "/api/account/{accountId}/messaging/consumer/conversation/send"},
		"/api/account/DEMOAC/service/baseURI.json":                     {Template: "/api/account/{accountId}/service/baseURI.json"},
		"/api/account/DEMOAC/service/idp/baseURI.json":                 {Template: "/api/account/{accountId}/service/{service}/baseURI.json"},
		"/api/customer/init":                                           {Template: "/api/customer/init"},
		"/api/customer/transcript/5f0c/pdf":                            {Template: "/api/customer/transcript/{conversationId}/{type}"},
		"/socket.io/":                                                  {Skip: true},
		"/webhooks/axp/secret-token-that-must-not-become-a-span-value": {Template: "/webhooks/axp/{token}", SecretPath: true},
		"/api/digital/v1/engagements/e-1:join":                         {Template: "/api/digital/v1/engagements/{engagementId}:join"},
		"/api/digital/v1/channel-providers/cp/webhooks/w-9":            {Template: "/api/digital/v1/channel-providers/{channelProviderId}/webhooks/{webhookId}"},
		"/auth/realms/DEMOAC/protocol/openid-connect/token":            {Template: "/auth/realms/{accountId}/protocol/openid-connect/token"},
		"/demo/hooks/ms.MessagingEventNotification.ContentEvent":       {Template: "/demo/hooks/{key}"},
		"/favicon.ico": {},
		"/api/account/DEMOAC/messaging/consumer/conversation/send/more": {},
	}
	for path, want := range cases {
		if got := routeTemplate([]byte(path)); got != want {
			t.Errorf("routeTemplate(%q) = %+v, want %+v", path, got, want)
		}
	}
}

func TestLegacyRoutesNameTheirIds(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/api/digital/v1/sessions/s-1:terminate", "/api/digital/v1/sessions/{sessionId}:terminate"},
		{"/api/digital/v1/engagements/e-1/messages", "/api/digital/v1/engagements/{engagementId}/messages"},
		{"/api/digital/v1/channel-providers/cp/webhooks/w-1", "/api/digital/v1/channel-providers/{channelProviderId}/webhooks/{webhookId}"},
		{"/auth/realms/ACME/protocol/openid-connect/token", "/auth/realms/{accountId}/protocol/openid-connect/token"},
	}
	for _, tt := range tests {
		if got := legacyTemplate(tt.path); got != tt.want {
			t.Errorf("legacyTemplate(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}
