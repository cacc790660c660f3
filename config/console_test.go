package config

import (
	"strings"
	"testing"
)

func TestDemoConsoleDefaultsToDemoMode(t *testing.T) {
	const real = "CONNECTOR_PROXY_AXP_BASE_URL=https://na.cc.avayacloud.com"
	realAXP := []string{real, "CONNECTOR_PROXY_AXP_ACCOUNT_ID=ABCDEF", "CONNECTOR_PROXY_AXP_CLIENT_ID=id",
		"CONNECTOR_PROXY_AXP_CLIENT_SECRET=secret", "CONNECTOR_PROXY_AXP_CHANNEL_PROVIDER_ID=Chat01"}
	tests := []struct {
		name string
		file string
		env  []string
		want bool
	}{
		{"demo mode: on", "", nil, true},
		{"demo mode, switched off by the environment", "", []string{"CONNECTOR_PROXY_DEMO_CONSOLE=false"}, false},
		{"demo mode, switched off in the file", "demo:\n  console: false\n", nil, false},
		{"a real AXP: off", "", realAXP, false},
		{"a real AXP, switched on by the environment", "", append([]string{"CONNECTOR_PROXY_DEMO_CONSOLE=true"}, realAXP...), true},
		{"a real AXP, switched on in the file", "demo:\n  console: true\n", realAXP, true},
		{"the environment wins over the file", "demo:\n  console: true\n", []string{"CONNECTOR_PROXY_DEMO_CONSOLE=0"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := ""
			if tt.file != "" {
				path = writeFile(t, tt.file)
			}
			c, err := Load(path, tt.env)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ConsoleEnabled(); got != tt.want {
				t.Fatalf("ConsoleEnabled() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDemoConsoleBadValueNamesTheField(t *testing.T) {
	_, err := Load("", []string{"CONNECTOR_PROXY_DEMO_CONSOLE=maybe"})
	if err == nil || !strings.Contains(err.Error(), "demo.console") || !strings.Contains(err.Error(), "CONNECTOR_PROXY_DEMO_CONSOLE") {
		t.Fatalf("err = %v, want one naming demo.console and its variable", err)
	}
}
