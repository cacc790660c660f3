package deploy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/connector-proxy/connector-proxy/proxy"
)

// promtool finds the promtool binary (Debian's prometheus package, which
// .ci/run installs); without it the rules cannot be checked, which fails.
func promtool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("promtool")
	if err != nil {
		t.Fatal("promtool is not on PATH: install Debian's prometheus package (bash .ci/run does)")
	}
	return p
}

func runPromtool(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command(promtool(t), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// dashboard is what the tests read of a Grafana dashboard.
type dashboard struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("monitoring", "connector-proxy-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	return d
}

// allPanels flattens rows.
func (d dashboard) allPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			out = append(out, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// queries are every PromQL expression of the dashboard, by where it is,
// the variables' label_values(…) selectors included.
func (d dashboard) queries() map[string]string {
	q := map[string]string{}
	for _, p := range d.allPanels() {
		for _, tg := range p.Targets {
			q[fmt.Sprintf("panel %q target %s", p.Title, tg.RefID)] = tg.Expr
		}
	}
	labelValues := regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var text string
		switch qv := v.Query.(type) {
		case string:
			text = qv
		case map[string]any:
			text, _ = qv["query"].(string)
		}
		if m := labelValues.FindStringSubmatch(text); m != nil {
			q["variable "+v.Name] = m[1]
		}
	}
	return q
}

// rule is one rule of the alerting rules file.
type rule struct {
	Alert string `yaml:"alert"`
	Expr  string `yaml:"expr"`
}

func readRules(t *testing.T) []rule {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("monitoring", "alerts.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Groups []struct {
			Rules []rule `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &f); err != nil {
		t.Fatal(err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	return out
}

// grafanaToPromQL replaces Grafana's variables so that promtool can parse
// a dashboard query: intervals become 5m, every other variable (only used
// inside label matcher strings) matches anything.
func grafanaToPromQL(expr string) string {
	for _, v := range []string{"$__rate_interval", "$__interval", "$__range"} {
		expr = strings.ReplaceAll(expr, v, "5m")
	}
	return regexp.MustCompile(`\$\{?\w+\}?`).ReplaceAllString(expr, ".*")
}

// exported is what the proxy's admin /metrics exposes: family name → the
// family, with a histogram's _bucket, _sum and _count and a summary's _sum
// and _count under their own names too.
type exported map[string]*dto.MetricFamily

func scrape(t *testing.T, p *proxy.Proxy) exported {
	t.Helper()
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get("http://" + p.AdminAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	out := exported{}
	for name, f := range fams {
		out[name] = f
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
			for _, sfx := range []string{"_bucket", "_sum", "_count"} {
				out[name+sfx] = f
			}
		case dto.MetricType_SUMMARY:
			for _, sfx := range []string{"_sum", "_count"} {
				out[name+sfx] = f
			}
		}
	}
	return out
}

// hasLabel reports whether series of the metric named carry label; le is
// a histogram bucket's, and job and instance are added by every scrape.
func (e exported) hasLabel(metric, label string) bool {
	if label == "job" || label == "instance" || (label == "le" && strings.HasSuffix(metric, "_bucket")) {
		return true
	}
	for _, m := range e[metric].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == label {
				return true
			}
		}
	}
	return false
}

// hookRecorder is a connector's webhook endpoint: it takes every
// notification and hands its body to bodies.
func hookRecorder(t *testing.T) (*httptest.Server, <-chan string) {
	t.Helper()
	bodies := make(chan string, 64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		_, _ = fmt.Fprint(&b, r.URL.Path, " ")
		buf := make([]byte, 64<<10)
		n, _ := r.Body.Read(buf)
		b.Write(buf[:n])
		select {
		case bodies <- b.String():
		default:
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv, bodies
}

// exercise drives one conversation through each face of a demo proxy so
// that the labelled series exist: a Connector API conversation whose agent
// answer reaches the app's webhook, and a Customer Channel conversation
// whose agent answer reaches a Socket.IO (polling) client.
func exercise(t *testing.T, p *proxy.Proxy, hooks <-chan string) {
	t.Helper()
	base := "http://" + p.PublicAddr()
	const js = "application/json"

	// Messaging Connector API: AppJWT, ConsumerJWS, CONVERSATION, SEND.
	q := url.Values{"v": {"1.0"}, "grant_type": {"client_credentials"}, "client_id": {monApp}, "client_secret": {monSecret}}
	code, body := httpPost(t, base+"/sentinel/api/account/DEMOAC/app/token?"+q.Encode(), js, "")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); code != 200 || err != nil {
		t.Fatalf("AppJWT: %d %s", code, body)
	}
	code, body = httpPost(t, base+"/api/account/DEMOAC/consumer?v=1.0", js, `{"ext_consumer_id":"monitoring-1"}`, "Authorization", tok.AccessToken)
	var jws struct{ Token string }
	if err := json.Unmarshal([]byte(body), &jws); code != 201 || err != nil {
		t.Fatalf("ConsumerJWS: %d %s", code, body)
	}
	auth := []string{"Authorization", tok.AccessToken, "X-LP-ON-BEHALF", jws.Token}
	code, body = httpPost(t, base+"/api/account/DEMOAC/messaging/consumer/conversation?v=3", js,
		`[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"Ada","lastname":"Lovelace"}}]}}},`+
			`{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"DEMOAC"}}]`, auth...)
	var answers []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if err := json.Unmarshal([]byte(body), &answers); code != 200 || err != nil || len(answers) != 2 || answers[1].Body.ConversationID == "" {
		t.Fatalf("CONVERSATION: %d %s", code, body)
	}
	code, body = httpPost(t, base+"/api/account/DEMOAC/messaging/consumer/conversation/send?v=3", js,
		`{"kind":"req","id":"3","type":"ms.PublishEvent","body":{"dialogId":"`+answers[1].Body.ConversationID+`","event":{"type":"ContentEvent","contentType":"text/plain","message":"metrics please"}}}`, auth...)
	if code != 200 {
		t.Fatalf("SEND: %d %s", code, body)
	}
	waitFor(t, "the agent's answer on the app's webhook", func() (string, bool) {
		select {
		case b := <-hooks:
			return b, strings.Contains(b, "You said: metrics please")
		case <-time.After(time.Second):
			return "", false
		}
	})

	// Customer Channel: init, a transcript asked too early, Socket.IO.
	code, body = httpPost(t, base+"/api/customer/init", js, `{"channel":"web","firstName":"Ada","email":"ada@example.com"}`)
	var ini struct {
		ConversationID string `json:"conversationId"`
		Participant    struct{ ID string }
	}
	if err := json.Unmarshal([]byte(body), &ini); code != 200 || err != nil {
		t.Fatalf("init: %d %s", code, body)
	}
	if code, _ := httpGet(t, base+"/api/customer/transcript/"+ini.ConversationID+"/pdf"); code != 401 {
		t.Fatalf("transcript without the participant's proof: %d, want 401", code)
	}
	poll := base + "/socket.io/?EIO=4&transport=polling"
	_, open := httpGet(t, poll)
	var hs struct{ Sid string }
	if err := json.Unmarshal([]byte(strings.TrimPrefix(open, "0")), &hs); err != nil || hs.Sid == "" {
		t.Fatalf("Engine.IO handshake %q: %v", open, err)
	}
	poll += "&sid=" + hs.Sid
	send := func(packet string) {
		t.Helper()
		if code, body := httpPost(t, poll, "text/plain;charset=UTF-8", packet); code != 200 {
			t.Fatalf("polling POST %q: %d %s", packet, code, body)
		}
	}
	send("40")
	if _, connected := httpGet(t, poll); !strings.HasPrefix(connected, "40") {
		t.Fatalf("Socket.IO CONNECT answered %q", connected)
	}
	send(`42["joinConversation",{"conversationId":"` + ini.ConversationID + `","id":"` + ini.Participant.ID + `","name":"Ada"}]`)
	send(`42["sendMessage",{"type":"ChatMessage","conversationId":"` + ini.ConversationID + `","from":{"id":"` + ini.Participant.ID + `","name":"Ada"},"text":"sockets please"}]`)
	var seen strings.Builder
	waitFor(t, "the agent's answer on the socket", func() (string, bool) {
		_, b := httpGet(t, poll) // held up to ping_interval when empty
		seen.WriteString(b)
		return seen.String(), strings.Contains(seen.String(), "You said: sockets please")
	})
}

// waitFor calls check until it reports done, for at most 20 s.
func waitFor(t *testing.T, what string, check func() (last string, done bool)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var last string
	for time.Now().Before(deadline) {
		var done bool
		if last, done = check(); done {
			return
		}
	}
	t.Fatalf("no %s within 20 s; last seen: %.500s", what, last)
}

const (
	monApp    = "monitoring-app"
	monSecret = "monitoring-secret"
)

// monitoringConfig is demo mode with an app whose webhooks go to hooks, and
// a short Engine.IO ping so that an empty poll returns soon.
func monitoringConfig(hooks string) string {
	return `
connector_api:
  apps:
    - client_id: ` + monApp + `
      client_secret: ` + monSecret + `
      account_id: DEMOAC
      webhooks:
        ms.MessagingEventNotification.ContentEvent: ` + hooks + `/content
        cqm.ExConversationChangeNotification: ` + hooks + `/conversation
customer_channel:
  ping_interval: 2s
  ping_timeout: 2s
`
}
