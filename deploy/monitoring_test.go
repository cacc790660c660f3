package deploy

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestAlertRulesPassPromtool(t *testing.T) {
	runPromtool(t, "monitoring", "check", "rules", "alerts.yaml")
	runPromtool(t, "monitoring", "test", "rules", "alerts_test.yaml")
}

// Every alert has a unit test: promtool would pass a rule no test names.
func TestEveryAlertIsUnitTested(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("monitoring", "alerts_test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range readRules(t) {
		if !strings.Contains(string(raw), "alertname: "+r.Alert+"\n") {
			t.Errorf("alert %s has no alert_rule_test in alerts_test.yaml", r.Alert)
		}
	}
}

func TestDashboardIsWellFormed(t *testing.T) {
	d := readDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Fatal("the dashboard needs a uid and a title (provisioning and links use them)")
	}
	ids := map[int]string{}
	type cell struct{ x, y int }
	taken := map[cell]string{}
	for _, p := range d.allPanels() {
		if other, dup := ids[p.ID]; dup {
			t.Errorf("panels %q and %q share id %d", p.Title, other, p.ID)
		}
		ids[p.ID] = p.Title
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q gridPos %+v is off the 24-column grid", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, ok := taken[cell{x, y}]; ok {
					t.Errorf("panels %q and %q overlap at %d,%d", p.Title, other, x, y)
					break
				}
				taken[cell{x, y}] = p.Title
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the datasource variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if tg.RefID == "" || strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q has a target without refId or expr", p.Title)
			}
		}
	}
}

// promtool parses each dashboard query as the expression of a recording
// rule: a syntax error in a panel is found here, not in Grafana.
func TestDashboardQueriesParse(t *testing.T) {
	promtool(t)
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	queries := readDashboard(t).queries()
	keys := make([]string, 0, len(queries))
	for k := range queries {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		fmt.Fprintf(&b, "      # %s\n      - record: dashboard:query_%d\n        expr: %q\n", k, i, grafanaToPromQL(queries[k]))
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "dashboard.rules.yaml"), []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	runPromtool(t, dir, "check", "rules", "dashboard.rules.yaml")
}

func TestSelectorsFindMetricNames(t *testing.T) {
	cases := []struct {
		expr string
		want []string // metric, or metric{label,label}
	}{
		{`up`, []string{"up"}},
		{`rate(a_total{job=~"$job", code!~"2.."}[$__rate_interval])`, []string{"a_total{job,code}"}},
		{`sum by (le, route) (rate(h_bucket{route!="socketio"}[5m]))`, []string{"h_bucket{route}"}},
		{`histogram_quantile(0.99, sum(rate(h_bucket[5m])) by (le)) > 2.5`, []string{"h_bucket"}},
		{`a / on (instance) group_left (pod) b offset 5m`, []string{"a", "b"}},
		{`label_replace(x, "face", "connector_api", "route", "send|init")`, []string{"x"}},
		{`h_count - ignoring (le) h_bucket{le=~"5|5\\.0"}`, []string{"h_count", "h_bucket{le}"}},
		{`sum without (operation, code) (rate(r[5m])) > 1/60 and x > 1e3`, []string{"r", "x"}},
		{`max_over_time(g[15m:1m]) # a comment naming not_a_metric`, []string{"g"}},
		{`topk(5, m) unless bool n`, []string{"m", "n"}},
		{`absent(connector_proxy_ready)`, []string{"connector_proxy_ready"}},
	}
	for _, tc := range cases {
		sels, err := selectors(tc.expr)
		if err != nil {
			t.Errorf("%s: %v", tc.expr, err)
			continue
		}
		var got []string
		for _, s := range sels {
			if len(s.labels) == 0 {
				got = append(got, s.metric)
			} else {
				got = append(got, s.metric+"{"+strings.Join(s.labels, ",")+"}")
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.expr, got, tc.want)
		}
	}
	if _, err := selectors(`{__name__="hidden"}`); err == nil {
		t.Error("a selector without a metric name must be refused: it would hide from the export check")
	}
}

// The dashboard and the rules name only metrics (and labels) that the
// proxy exports: a real proxy in demo mode is driven through each face,
// its admin /metrics scraped, and every selector looked up. The names come
// from the files, so metrics added later need no change here.
func TestMonitoringNamesOnlyExportedMetrics(t *testing.T) {
	hooks, bodies := hookRecorder(t)
	p := startProxy(t, monitoringConfig(hooks.URL))
	exercise(t, p, bodies)
	exp := scrape(t, p)

	uses := readDashboard(t).queries()
	for _, r := range readRules(t) {
		uses["alert "+r.Alert] = r.Expr
	}
	used := 0
	for where, expr := range uses {
		sels, err := selectors(expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(sels) == 0 {
			t.Errorf("%s: %q names no metric", where, expr)
		}
		for _, s := range sels {
			used++
			if _, ok := exp[s.metric]; !ok {
				t.Errorf("%s uses %s, which the proxy does not export (or this test did not make it appear)", where, s.metric)
				continue
			}
			for _, l := range s.labels {
				if !exp.hasLabel(s.metric, l) {
					t.Errorf("%s matches %s on label %q, which its series do not have", where, s.metric, l)
				}
			}
		}
	}
	t.Logf("%d selectors in %d queries checked against %d exported names", used, len(uses), len(exp))
	// Said, not failed: a family added later shows up here until a panel
	// or an alert uses it (any of a histogram's series counts).
	var unused []string
	for name, f := range exp {
		if name == f.GetName() && strings.HasPrefix(name, "connector_proxy_") && !slices.ContainsFunc(slices.Collect(maps.Values(uses)), func(e string) bool { return strings.Contains(e, name) }) {
			unused = append(unused, name)
		}
	}
	slices.Sort(unused)
	t.Logf("exported but on no panel and in no rule: %v", unused)
}
