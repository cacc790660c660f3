package console

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestAgentDeskReachesTheSimulatorsAgentAPI(t *testing.T) {
	r := newRig(t, true, nil)
	origin := "http://" + r.addr
	tests := []struct {
		name    string
		method  string
		path    string
		body    string
		headers []string
		status  int
		want    string // in the body
	}{
		{"GET the auto-agent", "GET", "/demo/agent/auto-agent", "", nil, 200, `"enabled":true`},
		{"PUT from the page", "PUT", "/demo/agent/auto-agent", `{"enabled":false}`,
			[]string{"Content-Type", "application/json", "Origin", origin}, 200, `"enabled":false`},
		{"PUT without an Origin (curl)", "PUT", "/demo/agent/auto-agent", `{"enabled":true}`,
			[]string{"Content-Type", "application/json; charset=utf-8"}, 200, `"enabled":true`},
		{"the simulator's own errors come through", "POST",
			"/demo/agent/accounts/DEMOAC/engagements/00000000-0000-4000-8000-000000000000:agentJoin", `{}`,
			[]string{"Content-Type", "application/json"}, 404, `"title":"Not Found"`},
		{"list the engagements", "GET", "/demo/agent/accounts/DEMOAC/engagements", "", nil, 200, `[]`},
		{"a form of another site is refused", "PUT", "/demo/agent/auto-agent", `{"enabled":false}`,
			[]string{"Content-Type", "text/plain"}, 403, "Content-Type: application/json"},
		{"another origin is refused", "PUT", "/demo/agent/auto-agent", `{"enabled":false}`,
			[]string{"Content-Type", "application/json", "Origin", "https://evil.example"}, 403, "evil.example"},
		{"nothing but /sim/: the AXP API", "GET", "/demo/agent/../api/digital/channel/v1beta/accounts/DEMOAC/sessions", "", nil, 404, `{"error":"not found"}`},
		{"nothing but /sim/: a twice-encoded dot-dot", "GET", "/demo/agent/%252e%252e/auth/realms/DEMOAC/protocol/openid-connect/token", "", nil, 404, `{"error":"not found"}`},
		{"nothing but /sim/: an empty rest", "GET", "/demo/agent/", "", nil, 404, `{"error":"not found"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			resp := r.do(t, tt.method, tt.path, body, tt.headers...)
			if resp.StatusCode() != tt.status || !strings.Contains(string(resp.Body()), tt.want) {
				t.Fatalf("%s %s = %d %s, want %d with %s", tt.method, tt.path, resp.StatusCode(), resp.Body(), tt.status, tt.want)
			}
			if got := r.lastPath(); !strings.HasPrefix(got, "/demo") {
				t.Fatalf("after the handler the request's path is %q: it must be restored", got)
			}
		})
	}
	if !r.sim.AutoAgent() {
		t.Fatal("the last accepted PUT switched the auto-agent on")
	}
}

func TestAgentDeskWithoutSimulatorSaysWhy(t *testing.T) {
	r := newRig(t, false, nil)
	resp := r.do(t, "GET", "/demo/agent/auto-agent", nil)
	var e struct{ Error string }
	if err := json.Unmarshal(resp.Body(), &e); err != nil || resp.StatusCode() != 404 || !strings.Contains(e.Error, "demo mode") {
		t.Fatalf("= %d %s", resp.StatusCode(), resp.Body())
	}
}
