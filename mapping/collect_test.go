package mapping

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// collect is what c reports, by metric name and its labels' values:
// "connector_proxy_store_file_bytes{send_log}".
func collect(t *testing.T, c prometheus.Collector) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			name := f.GetName()
			for i, l := range m.GetLabel() {
				if i == 0 {
					name += "{"
				} else {
					name += ","
				}
				name += l.GetValue()
			}
			if len(m.GetLabel()) > 0 {
				name += "}"
			}
			out[name] = m.GetGauge().GetValue()
		}
	}
	return out
}
