package proxy

import (
	"strings"
	"testing"
)

func TestAdminPprof(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		want int // status of /debug/pprof/ and /debug/pprof/goroutine
	}{
		{"off by default", nil, 404},
		{"off when switched off", []string{"CONNECTOR_PROXY_ADMIN_PPROF=false"}, 404},
		{"on when switched on", []string{"CONNECTOR_PROXY_ADMIN_PPROF=true"}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _ := startDemo(t, tt.env...)
			admin := "http://" + p.AdminAddr()
			code, body := get(t, admin+"/debug/pprof/")
			if code != tt.want {
				t.Fatalf("/debug/pprof/ = %d, want %d", code, tt.want)
			}
			if tt.want == 200 && !strings.Contains(body, "goroutine") {
				t.Fatalf("/debug/pprof/ does not list the profiles: %.200s", body)
			}
			code, body = get(t, admin+"/debug/pprof/goroutine?debug=1")
			if code != tt.want {
				t.Fatalf("/debug/pprof/goroutine = %d, want %d", code, tt.want)
			}
			if tt.want == 200 && !strings.Contains(body, "goroutine profile: total") {
				t.Fatalf("goroutine profile: %.200s", body)
			}
			// The other admin paths are there either way.
			if code, _ := get(t, admin+"/healthz"); code != 200 {
				t.Fatalf("/healthz = %d", code)
			}
		})
	}
}
