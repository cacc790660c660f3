package simulator

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestStartServesOnLoopbackAndStopsWithTheContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := Start(ctx, Config{}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("URL %q", srv.URL)
	}
	if r := do(t, "GET", srv.URL+"/sim/health", "", nil); r.status != 200 {
		t.Fatalf("health %d", r.status)
	}
	cancel()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, _, err := testHTTP.GetTimeout(nil, srv.URL+"/sim/health", 200*time.Millisecond)
		if err != nil {
			break // the listener is closed
		}
		if time.Now().After(deadline) {
			t.Fatal("still serving after the context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}

func TestFullSessionStoreEvictsEndedSessionsThenAnswers429(t *testing.T) {
	a := newAPI(t, Config{MaxSessions: 2, MaxMessages: 2})
	s1 := a.createSession("one")
	e1 := a.createEngagement(s1.SessionID)
	a.createSession("two")
	body := map[string]any{"channelProviderId": cpid, "customerIdentifiers": map[string]any{"email": []string{"x"}}}
	if p := a.expect(a.channel("POST", "/sessions", body), 429).problem(t); !strings.Contains(p.Detail, "Quota") {
		t.Fatalf("detail %q", p.Detail)
	}

	// Messages per dialog are bounded too.
	a.send(e1, s1.SessionID, "a")
	a.send(e1, s1.SessionID, "b")
	a.expect(a.channel("POST", "/engagements/"+e1.EngagementID+"/messages", map[string]any{
		"sessionId": s1.SessionID, "dialogId": e1.Dialogs[0].DialogID, "body": map[string]any{"elementType": "text", "elementText": map[string]any{"text": "c"}},
	}), 429)

	// Once a session ends, a new one takes its place and the ended one is forgotten.
	a.expect(a.channel("DELETE", "/sessions/"+s1.SessionID, nil), 204)
	a.expect(a.channel("POST", "/sessions", body), 201)
	a.expect(a.channel("GET", "/sessions/"+s1.SessionID, nil), 404)
	a.expect(a.channel("GET", "/engagements/"+e1.EngagementID, nil), 404)
}
