package connectorapi

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/mapping"
)

func TestASENDSentAgainWhileTheFirstIsUnderWayGetsTheFirstsAnswer(t *testing.T) {
	store, tokens := boltAndTokens(t, "http://127.0.0.1:9")
	g := &gatedBackend{fakeBackend: &fakeBackend{}, arrived: make(chan struct{}), release: make(chan struct{})}
	f, err := newFace(Config{ChannelProviderID: provider}, g, mapping.NewCached(store, 100, false, nil), tokens)
	if err != nil {
		t.Fatal(err)
	}
	u := &unit{face: f}
	u.app, _, _ = tokens.IssueAppJWT(lpAccount, appID, appSecret)
	claims, _ := tokens.VerifyAppJWT(lpAccount, u.app)
	u.jws, _ = tokens.IssueConsumerJWS(claims, "unit")
	var ctx fasthttp.RequestCtx
	u.request(&ctx, "/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", conversationBody)
	var answers []struct {
		ReqID json.RawMessage `json:"reqId"`
		Body  struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if err := json.Unmarshal(ctx.Response.Body(), &answers); err != nil || len(answers) != 2 {
		t.Fatalf("CONVERSATION: %s", ctx.Response.Body())
	}
	body := textEnvelope("7", answers[1].Body.ConversationID, "only once")
	uri := "/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3"
	got := make([]string, 2)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() {
			var c fasthttp.RequestCtx
			u.request(&c, uri, body)
			got[i] = string(c.Response.Body())
		})
		if i == 0 {
			<-g.arrived // the first is at AXP
		}
	}
	// The second waits for the first (it made no AXP call of its own).
	deadline := time.Now().Add(5 * time.Second)
	for {
		f.flights.mu.Lock()
		fl := f.flights.m[f.names(mustEnvelope(t, body)).key]
		f.flights.mu.Unlock()
		if fl != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the second SEND never waited for the first")
		}
		time.Sleep(time.Millisecond)
	}
	close(g.release)
	wg.Wait()
	if n := g.sends.Load(); n != 1 {
		t.Fatalf("%d sends reached AXP, want 1", n)
	}
	want := `{"kind":"resp","reqId":"7","code":"OK","body":{"sequence":0}}`
	if got[0] != want || got[1] != want {
		t.Fatalf("answers %q, want both %s", got, want)
	}
}
