package simulator

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

const (
	testAppKey   = "app-key-1"
	creds        = "grant_type=client_credentials&client_id=demo-client&client_secret=demo-secret"
	v1betaToken  = "/auth/realms/" + acct + "/protocol/openid-connect/token"
	gaToken      = "/api/auth/v1/" + acct + "/protocol/openid-connect/token"
	gaChannel    = gaChannelBase + acct
	v1betaPrefix = channelBase + acct
)

// gaTokenFor fetches a token from the GA endpoint with the app key.
func gaTokenFor(t *testing.T, srv *Server) string {
	t.Helper()
	r := doHeaders(t, "POST", srv.URL+gaToken, map[string]string{"appkey": testAppKey}, creds)
	var tr engagement.TokenResponse
	if r.status != 200 || json.Unmarshal(r.body, &tr) != nil || tr.AccessToken == "" {
		t.Fatalf("GA token: %d %s", r.status, r.body)
	}
	return tr.AccessToken
}

func TestEachGenerationIsServedOnlyWhenConfigured(t *testing.T) {
	type probe struct {
		name, path string
		ga         bool // send appkey and a GA token
	}
	probes := []probe{
		{"v1beta token", v1betaToken, false},
		{"GA token", gaToken, true},
		{"v1beta sessions", v1betaPrefix + "/sessions", false},
		{"GA sessions", gaChannel + "/sessions", true},
		{"v1beta subscriptions", webhookBase + acct + "/subscriptions", false},
		{"GA subscriptions", "/api/digital/webhook/v1/accounts/" + acct + "/subscriptions", true},
	}
	cases := []struct {
		version string
		served  map[string]bool // by probe name; the rest must be 404
	}{
		{"", map[string]bool{"v1beta token": true, "v1beta sessions": true, "v1beta subscriptions": true}},
		{APIV1Beta, map[string]bool{"v1beta token": true, "v1beta sessions": true, "v1beta subscriptions": true}},
		{APIV1, map[string]bool{"GA token": true, "GA sessions": true, "GA subscriptions": true}},
		{APIBoth, map[string]bool{"v1beta token": true, "GA token": true, "v1beta sessions": true, "GA sessions": true, "v1beta subscriptions": true, "GA subscriptions": true}},
	}
	for _, tc := range cases {
		t.Run("api version "+tc.version, func(t *testing.T) {
			srv := startSim(t, Config{APIVersion: tc.version, AppKey: testAppKey})
			// A token from whichever endpoint is served.
			var tok string
			if tc.version == APIV1 {
				tok = gaTokenFor(t, srv)
			} else {
				tok = tokenFor(t, srv, acct)
			}
			for _, p := range probes {
				h := map[string]string{"Authorization": "Bearer " + tok}
				if p.ga {
					h["appkey"] = testAppKey
				}
				method, body := "GET", ""
				if strings.HasSuffix(p.path, "/token") {
					method, body = "POST", creds
				} else if strings.HasSuffix(p.path, "/sessions") {
					method, body = "POST", `{"channelProviderId":"`+cpid+`","customerIdentifiers":{"emailAddresses":["a@example.com"]}}`
				}
				r := doHeaders(t, method, srv.URL+p.path, h, body)
				if tc.served[p.name] {
					if r.status/100 != 2 {
						t.Errorf("%s: %d %s, want it served", p.name, r.status, r.body)
					}
					continue
				}
				if r.status != 404 {
					t.Errorf("%s: %d %s, want 404 (generation not served)", p.name, r.status, r.body)
					continue
				}
				if p := r.problem(t); !strings.Contains(p.Detail, "no API method") {
					t.Errorf("%s: 404 problem %+v", p.Title, p)
				}
			}
		})
	}
}

func TestGACallsWithoutTheAppKeyAreRefused(t *testing.T) {
	srv := startSim(t, Config{APIVersion: APIV1, AppKey: testAppKey})
	tok := gaTokenFor(t, srv)
	session := `{"channelProviderId":"` + cpid + `","customerIdentifiers":{"emailAddresses":["a@example.com"]}}`
	cases := []struct {
		name, method, path, body string
		headers                  map[string]string
		status                   int
		detail                   string
	}{
		{"token request without appkey", "POST", gaToken, creds, nil, 401, "(Appkey)"},
		{"token request with another appkey", "POST", gaToken, creds, map[string]string{"appkey": "other"}, 401, "(Appkey)"},
		{"API call with a good token but no appkey", "POST", gaChannel + "/sessions", session,
			map[string]string{"Authorization": "Bearer " + tok}, 401, "(Appkey)"},
		{"API call with a good token and another appkey", "GET", gaChannel + "/engagements?sessionId=6f1c2f1e-0000-4000-8000-000000000000", "",
			map[string]string{"Authorization": "Bearer " + tok, "appkey": "other"}, 401, "(Appkey)"},
		{"API call with the appkey but no token", "POST", gaChannel + "/sessions", session,
			map[string]string{"appkey": testAppKey}, 401, "(Access-Token)"},
		{"subscriptions without appkey", "GET", "/api/digital/webhook/v1/accounts/" + acct + "/subscriptions", "",
			map[string]string{"Authorization": "Bearer " + tok}, 401, "(Appkey)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doHeaders(t, tc.method, srv.URL+tc.path, tc.headers, tc.body)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if p := r.problem(t); !strings.Contains(p.Detail, tc.detail) {
				t.Fatalf("problem %+v does not name %s", p, tc.detail)
			}
		})
	}
	// Nothing refused was created: the account has no session.
	srv.Sim.mu.Lock()
	n := len(srv.Sim.sessions)
	srv.Sim.mu.Unlock()
	if n != 0 {
		t.Fatalf("%d sessions after refused calls, want 0", n)
	}
}

func TestGATokenErrorsAreProblemDocuments(t *testing.T) {
	srv := startSim(t, Config{APIVersion: APIV1, AppKey: testAppKey})
	key := map[string]string{"appkey": testAppKey}
	cases := []struct {
		name, path, form string
		status           int
		field            string
	}{
		{"wrong secret", gaToken, "grant_type=client_credentials&client_id=demo-client&client_secret=nope", 401, ""},
		{"no grant type", gaToken, "client_id=demo-client&client_secret=demo-secret", 400, "grant_type"},
		{"unsupported grant type", gaToken, "grant_type=password&client_id=demo-client&client_secret=demo-secret", 400, "grant_type"},
		{"account not six letters", "/api/auth/v1/ABC123/protocol/openid-connect/token", creds, 400, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := doHeaders(t, "POST", srv.URL+tc.path, key, tc.form)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			p := r.problem(t)
			if tc.field == "" {
				return
			}
			if len(p.Violations) != 1 || p.Violations[0].Field != tc.field {
				t.Fatalf("problem %+v, want a violation on %s", p, tc.field)
			}
		})
	}
}

func TestBothGenerationsShareOneStateAndAnswerInTheCallersURLs(t *testing.T) {
	srv := startSim(t, Config{APIVersion: APIBoth, AppKey: testAppKey})
	betaTok, gaTok := tokenFor(t, srv, acct), gaTokenFor(t, srv)
	ga := map[string]string{"Authorization": "Bearer " + gaTok, "appkey": testAppKey}
	beta := map[string]string{"Authorization": "Bearer " + betaTok}

	// A session made on v1beta reads on GA with a GA url, and the other way round.
	var s engagement.Session
	r := doHeaders(t, "POST", srv.URL+v1betaPrefix+"/sessions", beta, `{"channelProviderId":"`+cpid+`","customerIdentifiers":{"emailAddresses":["a@example.com"]}}`)
	if r.status != 201 {
		t.Fatalf("v1beta create session: %d %s", r.status, r.body)
	}
	r.decode(t, &s)
	if want := v1betaPrefix + "/sessions/" + s.SessionID; s.URL != want {
		t.Fatalf("v1beta url %q, want %q", s.URL, want)
	}
	r = doHeaders(t, "GET", srv.URL+gaChannel+"/sessions/"+s.SessionID, ga, "")
	var got engagement.Session
	r.decode(t, &got)
	if r.status != 200 || got.URL != gaChannel+"/sessions/"+s.SessionID {
		t.Fatalf("GA get session: %d url %q", r.status, got.URL)
	}

	var e engagement.Engagement
	r = doHeaders(t, "POST", srv.URL+gaChannel+"/engagements", ga, `{"sessionId":"`+s.SessionID+`","channelId":"Chat"}`)
	if r.status != 201 {
		t.Fatalf("GA create engagement: %d %s", r.status, r.body)
	}
	r.decode(t, &e)
	if want := gaChannel + "/engagements/" + e.EngagementID; e.URL != want {
		t.Fatalf("GA engagement url %q, want %q", e.URL, want)
	}
	var list []engagement.Engagement
	doHeaders(t, "GET", srv.URL+gaChannel+"/engagements?sessionId="+s.SessionID, ga, "").decode(t, &list)
	if len(list) != 1 || !strings.HasPrefix(list[0].URL, gaChannel) {
		t.Fatalf("GA list engagements %+v", list)
	}
	var betaEng engagement.Engagement
	doHeaders(t, "GET", srv.URL+v1betaPrefix+"/engagements/"+e.EngagementID, beta, "").decode(t, &betaEng)
	if !strings.HasPrefix(betaEng.URL, v1betaPrefix) {
		t.Fatalf("v1beta engagement url %q", betaEng.URL)
	}

	// Page links of a GA message list are GA paths.
	dialog := e.Dialogs[0].DialogID
	for _, text := range []string{"one", "two"} {
		r = doHeaders(t, "POST", srv.URL+gaChannel+"/engagements/"+e.EngagementID+"/messages", ga,
			`{"sessionId":"`+s.SessionID+`","dialogId":"`+dialog+`","body":{"elementType":"text","elementText":{"text":"`+text+`"}}}`)
		if r.status != 202 {
			t.Fatalf("GA send: %d %s", r.status, r.body)
		}
	}
	var page engagement.Messages
	doHeaders(t, "GET", srv.URL+gaChannel+"/engagements/"+e.EngagementID+"/messages?pageSize=1&sessionId="+s.SessionID+"&dialogId="+dialog, ga, "").decode(t, &page)
	if page.Pagination.Total != 2 || !strings.HasPrefix(page.Links.Next, gaChannel+"/engagements/") {
		t.Fatalf("GA page %+v", page)
	}
}

func TestCheckAPIVersion(t *testing.T) {
	for _, v := range []string{"", APIV1Beta, APIV1, APIBoth} {
		if err := CheckAPIVersion(v); err != nil {
			t.Errorf("CheckAPIVersion(%q) = %v", v, err)
		}
	}
	if err := CheckAPIVersion("v2"); err == nil {
		t.Error(`CheckAPIVersion("v2") = nil`)
	}
	if _, err := Start(t.Context(), Config{APIVersion: "v2"}, "127.0.0.1:0"); err == nil {
		t.Error("Start with API version v2 succeeded")
	}
}
