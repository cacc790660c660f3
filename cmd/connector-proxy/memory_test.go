package main

import (
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestTuneGCLeavesTheOperatorsSettings(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	limited := write("limited", "268435456\n")
	unlimited := write("unlimited", "max\n")
	tests := []struct {
		name      string
		env       map[string]string
		memoryMax string
		want      gcSettings
	}{
		{"nothing set, no container", nil, filepath.Join(dir, "missing"), gcSettings{Percent: defaultGCPercent}},
		{"nothing set, a container without a limit", nil, unlimited, gcSettings{Percent: defaultGCPercent}},
		{"nothing set, a container of 256 MiB", nil, limited, gcSettings{Percent: defaultGCPercent, MemoryLimit: 268435456 / 10 * 9}},
		{"GOGC set", map[string]string{"GOGC": "50"}, limited, gcSettings{Percent: -1, MemoryLimit: 268435456 / 10 * 9}},
		{"GOMEMLIMIT set", map[string]string{"GOMEMLIMIT": "1GiB"}, limited, gcSettings{Percent: defaultGCPercent}},
		{"both set", map[string]string{"GOGC": "off", "GOMEMLIMIT": "1GiB"}, limited, gcSettings{Percent: -1}},
	}
	percent := debug.SetGCPercent(100)
	limit := debug.SetMemoryLimit(math.MaxInt64)
	t.Cleanup(func() {
		debug.SetGCPercent(percent)
		debug.SetMemoryLimit(limit)
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			debug.SetGCPercent(100)
			debug.SetMemoryLimit(math.MaxInt64)
			got := tuneGC(func(k string) string { return tc.env[k] }, tc.memoryMax)
			if got != tc.want {
				t.Fatalf("tuneGC = %+v, want %+v", got, tc.want)
			}
			wantPercent := 100
			if tc.want.Percent >= 0 {
				wantPercent = tc.want.Percent
			}
			if p := debug.SetGCPercent(100); p != wantPercent {
				t.Errorf("GC percent in effect = %d, want %d", p, wantPercent)
			}
			wantLimit := int64(math.MaxInt64)
			if tc.want.MemoryLimit > 0 {
				wantLimit = tc.want.MemoryLimit
			}
			if l := debug.SetMemoryLimit(math.MaxInt64); l != wantLimit {
				t.Errorf("memory limit in effect = %d, want %d", l, wantLimit)
			}
		})
	}
}
