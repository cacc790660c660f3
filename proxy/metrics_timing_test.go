package proxy

import "testing"

func BenchmarkRouteName(b *testing.B) {
	path := []byte("/api/account/DEMOAC/messaging/consumer/conversation/send")
	b.ReportAllocs()
	for b.Loop() {
		if routeName(path) != "send" {
			b.Fatal("wrong route")
		}
	}
}
