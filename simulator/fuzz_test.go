package simulator

import (
	"encoding/json"
	"testing"

	"github.com/valyala/fasthttp"
)

func FuzzParseRoute(f *testing.F) {
	for _, p := range []string{
		"/auth/realms/ABCDEF/protocol/openid-connect/token",
		"/api/auth/v1/ABCDEF/protocol/openid-connect/token",
		"/api/digital/channel/v1beta/accounts/ABCDEF/sessions",
		"/api/digital/channel/v1/accounts/ABCDEF/engagements/x/messages",
		"/api/digital/webhook/v1/accounts/ABCDEF/subscriptions",
		"/api/digital/channel/v1beta/accounts/ABCDEF/sessions/10494b78-710c-11eb-9439-0242ac130002:appendIdentifiers",
		"/api/digital/channel/v1beta/accounts/ABCDEF/engagements/d3c8400d-c44f-4451-8316-435c08c6e3f2:disconnect/",
		"/api/digital/channel/v1beta/accounts/ABCDEF/engagements/x/messages",
		"/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions/abc",
		"/sim/accounts/ABCDEF/engagements/x:agentJoin",
		"/sim/faults", "/", "//", "/a:b:c", ":", "/sim/accounts//engagements",
	} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, path string) {
		r := parseRoute(path)
		if r.kind == routeUnknown {
			return
		}
		// A known route rebuilds to a path that parses to the same route.
		if again := parseRoute(r.path()); again != r {
			t.Fatalf("%q → %+v → %q → %+v", path, r, r.path(), again)
		}
	})
}

// path rebuilds the canonical path of a known route, so that the fuzz test
// can check that parsing loses nothing.
func (r route) path() string {
	idv := r.id
	if r.verb != "" {
		idv += ":" + r.verb
	}
	channelBase, webhookBase := channelBase, webhookBase
	if r.gen == APIV1 {
		channelBase, webhookBase = gaChannelBase, "/api/digital/webhook/v1/accounts/"
	}
	switch r.kind {
	case routeToken:
		if r.gen == APIV1 {
			return "/api/auth/v1/" + r.account + "/protocol/openid-connect/token"
		}
		return "/auth/realms/" + r.account + "/protocol/openid-connect/token"
	case routeSessions:
		return channelBase + r.account + "/sessions"
	case routeSession, routeSessionVerb:
		return channelBase + r.account + "/sessions/" + idv
	case routeEngagements:
		return channelBase + r.account + "/engagements"
	case routeEngagement, routeEngagementVerb:
		return channelBase + r.account + "/engagements/" + idv
	case routeMessages:
		return channelBase + r.account + "/engagements/" + r.id + "/messages"
	case routeSubscriptions:
		return webhookBase + r.account + "/subscriptions"
	case routeSubscription:
		return webhookBase + r.account + "/subscriptions/" + r.id
	case routeSimEngagements:
		return simBase + r.account + "/engagements"
	case routeSimEngagementVerb:
		return simBase + r.account + "/engagements/" + idv
	case routeSimFaults:
		return "/sim/faults"
	case routeSimHealth:
		return "/sim/health"
	}
	return ""
}

// handle runs the handler on a request without a network.
func handle(s *Simulator, method, uri, token string, body []byte) *fasthttp.RequestCtx {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.SetContentType("application/json")
	req.SetBody(body)
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	s.Handler(ctx)
	return ctx
}

// seedDialog makes a token, session and engagement directly on the handler.
func seedDialog(tb testing.TB, s *Simulator) (token, engID, sessionID, dialogID string) {
	tb.Helper()
	var req fasthttp.Request
	req.Header.SetMethod("POST")
	req.SetRequestURI("/auth/realms/" + acct + "/protocol/openid-connect/token")
	req.Header.SetContentType("application/x-www-form-urlencoded")
	req.SetBodyString("grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret")
	ctx := new(fasthttp.RequestCtx)
	ctx.Init(&req, nil, nil)
	s.Handler(ctx)
	var tr struct {
		AccessToken string `json:"access_token"`
	}
	mustJSON(tb, ctx, 200, &tr)
	var sess struct {
		SessionID string `json:"sessionId"`
	}
	mustJSON(tb, handle(s, "POST", channelBase+acct+"/sessions", tr.AccessToken,
		[]byte(`{"channelProviderId":"ChatConnector01","customerIdentifiers":{"email":["j@example.com"]},"displayName":"J"}`)), 201, &sess)
	var e struct {
		EngagementID string `json:"engagementId"`
		Dialogs      []struct {
			DialogID string `json:"dialogId"`
		} `json:"dialogs"`
	}
	mustJSON(tb, handle(s, "POST", channelBase+acct+"/engagements", tr.AccessToken,
		[]byte(`{"sessionId":"`+sess.SessionID+`","channelId":"Chat"}`)), 201, &e)
	return tr.AccessToken, e.EngagementID, sess.SessionID, e.Dialogs[0].DialogID
}

func mustJSON(tb testing.TB, ctx *fasthttp.RequestCtx, status int, v any) {
	tb.Helper()
	if ctx.Response.StatusCode() != status {
		tb.Fatalf("status %d, want %d: %s", ctx.Response.StatusCode(), status, ctx.Response.Body())
	}
	if err := json.Unmarshal(ctx.Response.Body(), v); err != nil {
		tb.Fatal(err)
	}
}

// FuzzSendMessageBody feeds arbitrary bodies to the send-message handler: it
// must answer 202 or a 4xx problem, never panic or 5xx.
func FuzzSendMessageBody(f *testing.F) {
	s := New(Config{MaxMessages: 1 << 30})
	f.Cleanup(func() { _ = s.Close() })
	token, engID, sessionID, dialogID := seedDialog(f, s)
	f.Add([]byte(`{"sessionId":"` + sessionID + `","dialogId":"` + dialogID + `","body":{"elementType":"text","elementText":{"text":"hi"}}}`))
	f.Add([]byte(`{"sessionId":"` + sessionID + `","dialogId":"` + dialogID + `","body":{"elementType":"text","elementText":{"text":"hi","textFormat":"HTML"}},"headers":{"to":["a"],"additionalHeaders":{"k":"v"}},"customData":{"whisper":"true"}}`))
	f.Add([]byte(`{"body":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := handle(s, "POST", channelBase+acct+"/engagements/"+engID+"/messages", token, body)
		code := ctx.Response.StatusCode()
		switch {
		case code == 202:
		case code >= 400 && code < 500:
			if string(ctx.Response.Header.ContentType()) != "application/problem+json" {
				t.Fatalf("%d without a problem document", code)
			}
		default:
			t.Fatalf("status %d for %q: %s", code, body, ctx.Response.Body())
		}
	})
}
