package mapping

import (
	"testing"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// BenchmarkRedis runs against a redis-server on loopback: one round trip
// per call, so it measures the network stack as much as the store.
func BenchmarkRedis(b *testing.B) {
	srv := redistest.Start(b)
	benchStore(b, openRedis(b, srv.URL, "bench:"))
}
