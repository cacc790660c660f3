package e2e

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// balancer is the load balancer in front of the replicas, as an operator
// runs one: each request goes to the next replica in turn, and to the
// other when a replica refuses the connection (it was killed). It holds
// nothing: a request in flight on a replica that dies fails, as it would
// behind a real one.
type balancer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	to   []string // replicas' base URLs
	next atomic.Uint64
}

func startBalancer(t *testing.T) *balancer {
	t.Helper()
	lb := &balancer{}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	t.Cleanup(tr.CloseIdleConnections)
	lb.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lb.mu.Lock()
		to := append([]string(nil), lb.to...)
		lb.mu.Unlock()
		first := int(lb.next.Add(1))
		for i := range to {
			base := to[(first+i)%len(to)]
			req, _ := http.NewRequestWithContext(r.Context(), r.Method, base+r.URL.RequestURI(), bytes.NewReader(body))
			req.Header = r.Header.Clone()
			resp, err := tr.RoundTrip(req)
			if err != nil {
				continue // refused: the next replica
			}
			for k, v := range resp.Header {
				w.Header()[k] = v
			}
			w.WriteHeader(resp.StatusCode)
			_, _ = io.Copy(w, resp.Body)
			resp.Body.Close()
			return
		}
		http.Error(w, "no replica answered", http.StatusBadGateway)
	}))
	t.Cleanup(lb.srv.Close)
	return lb
}

// URL is the balancer's address, the one AXP and clients are given.
func (lb *balancer) URL() string { return lb.srv.URL }

// route sets the replicas requests go to.
func (lb *balancer) route(replicas ...*proxy) {
	lb.mu.Lock()
	defer lb.mu.Unlock()
	lb.to = lb.to[:0]
	for _, p := range replicas {
		lb.to = append(lb.to, p.URL)
	}
}
