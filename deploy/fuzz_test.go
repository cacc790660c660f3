package deploy

import (
	"strings"
	"testing"
)

// FuzzSelectors: any input ends (no panic, no endless loop), and every
// name found is a PromQL identifier taken from the input.
func FuzzSelectors(f *testing.F) {
	for _, seed := range []string{
		`sum by (route) (rate(connector_proxy_http_requests_total{job=~"$job", code=~"5.."}[$__rate_interval]))`,
		`histogram_quantile(0.99, sum by (le) (rate(x_bucket[5m]))) > 2.5`,
		`a - ignoring (le) b{le=~"5|5\\.0"} offset 1h`,
		`{__name__="x"}`, `"unterminated`, `x{a="b`, `label_replace(y, "a", "b", "c", "(.*)")`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		sels, err := selectors(expr)
		if err != nil {
			return
		}
		for _, s := range sels {
			if s.metric == "" || !strings.Contains(expr, s.metric) {
				t.Fatalf("selector %q not from %q", s.metric, expr)
			}
		}
	})
}
