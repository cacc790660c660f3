package mapping

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// openRedis opens a store on srv under its own prefix, closed at cleanup.
func openRedis(t *testing.T, url, prefix string, opts ...RedisOption) *Redis {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := OpenRedis(ctx, url, append([]RedisOption{WithRedisPrefix(prefix)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func TestRedisStore(t *testing.T) {
	srv := redistest.Start(t)
	n := 0
	testStore(t, storeBackend{
		// One server, a prefix per subtest: each starts empty.
		open: func(t *testing.T) Store { n++; return openRedis(t, srv.URL, fmt.Sprintf("t%d:", n)) },
		peer: func(t *testing.T, s Store) Store { return openRedis(t, srv.URL, s.(*Redis).prefix) },
	})
}
