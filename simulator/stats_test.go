package simulator

import (
	"fmt"
	"maps"
	"testing"
)

// TestStatsCountCallsByOperation reads /sim/stats over HTTP: each call is
// counted once under its operation, whatever it was answered (a fault's
// 503, a 404 for an unknown id), and /sim calls are not counted.
func TestStatsCountCallsByOperation(t *testing.T) {
	a := newAPI(t, Config{}) // its token call is the first counted
	s := a.createSession("john")
	e := a.createEngagement(s.SessionID)
	a.send(e, s.SessionID, "one")
	list := fmt.Sprintf("/engagements/%s/messages?sessionId=%s&dialogId=%s", e.EngagementID, s.SessionID, e.Dialogs[0].DialogID)
	a.expect(a.channel("GET", list, nil), 200)
	a.expect(a.sim("POST", "/sim/faults", Fault{Status: 503, PathContains: "/messages", Method: "GET", Count: 1}), 201)
	a.expect(a.channel("GET", list, nil), 503)
	a.expect(a.channel("GET", "/engagements/"+e.EngagementID, nil), 200)
	a.expect(a.channel("GET", "/engagements/00000000-0000-4000-8000-000000000000", nil), 404)
	a.expect(a.channel("GET", "/nowhere", nil), 404) // no operation

	var st Stats
	a.expect(a.sim("GET", "/sim/stats", nil), 200).decode(t, &st)
	want := map[string]int64{
		"Token": 1, "CreateSession": 1, "CreateEngagement": 1, "SendMessage": 1,
		"ListMessages": 2, "GetEngagement": 2,
	}
	if !maps.Equal(st.Calls, want) {
		t.Fatalf("calls %v, want %v", st.Calls, want)
	}
	if got := a.srv.Sim.Stats().Calls["ListMessages"]; got != 2 {
		t.Fatalf("Stats().Calls[ListMessages] = %d, want 2", got)
	}
}

func TestOperationNamesEachEndpoint(t *testing.T) {
	const ch = "/api/digital/channel/v1beta/accounts/ABCDEF"
	for _, tc := range []struct{ method, path, want string }{
		{"POST", "/auth/realms/ABCDEF/protocol/openid-connect/token", "Token"},
		{"POST", "/api/auth/v1/ABCDEF/protocol/openid-connect/token", "Token"},
		{"POST", ch + "/sessions", "CreateSession"},
		{"GET", ch + "/sessions/s1", "GetSession"},
		{"DELETE", ch + "/sessions/s1", "DeleteSession"},
		{"POST", ch + "/sessions/s1:appendIdentifiers", "AppendIdentifiers"},
		{"POST", ch + "/sessions/s1:updateSessionParameters", "UpdateSessionParameters"},
		{"GET", ch + "/engagements", "ListEngagements"},
		{"POST", ch + "/engagements", "CreateEngagement"},
		{"GET", ch + "/engagements/e1", "GetEngagement"},
		{"POST", ch + "/engagements/e1:join", "JoinEngagement"},
		{"POST", ch + "/engagements/e1:disconnect", "DisconnectEngagement"},
		{"GET", ch + "/engagements/e1/messages", "ListMessages"},
		{"POST", ch + "/engagements/e1/messages", "SendMessage"},
		{"GET", "/api/digital/channel/v1/accounts/ABCDEF/engagements/e1/messages", "ListMessages"},
		{"GET", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions", "ListSubscriptions"},
		{"POST", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions", "CreateSubscription"},
		{"GET", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions/x", "GetSubscription"},
		{"PUT", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions/x", "ReplaceSubscription"},
		{"DELETE", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions/x", "DeleteSubscription"},
		{"PATCH", ch + "/engagements/e1", ""},
		{"GET", "/sim/stats", ""},
		{"GET", "/elsewhere", ""},
	} {
		if got := operation(parseRoute(tc.path), tc.method); got != tc.want {
			t.Errorf("%s %s = %q, want %q", tc.method, tc.path, got, tc.want)
		}
	}
}
