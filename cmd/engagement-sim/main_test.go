package main

import (
	"strings"
	"testing"
)

func TestHelpIsNotAFailure(t *testing.T) {
	if err := run([]string{"-h"}); err != nil {
		t.Fatalf("run -h: %v", err)
	}
}

func TestMalformedSettingsAreErrors(t *testing.T) {
	cases := []struct {
		name, env, value string
		args             []string
		want             string
	}{
		{"duration", "SIM_TOKEN_TTL", "soon", nil, "SIM_TOKEN_TTL"},
		{"integer", "SIM_MAX_DELIVERY_ATTEMPTS", "many", nil, "SIM_MAX_DELIVERY_ATTEMPTS"},
		{"boolean", "SIM_AUTO_AGENT", "maybe", nil, "SIM_AUTO_AGENT"},
		{"log level", "SIM_LOG_LEVEL", "loud", nil, "log level"},
		{"API version", "SIM_API_VERSION", "v2", nil, "v2"},
		{"API version flag", "", "", []string{"-api-version", "v0"}, "v0"},
		{"unknown flag", "", "", []string{"-no-such-flag"}, "no-such-flag"},
		{"unusable address", "", "", []string{"-addr", "256.0.0.1:0"}, "listen"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv(tc.env, tc.value)
			}
			err := run(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want an error naming %q", err, tc.want)
			}
		})
	}
}
