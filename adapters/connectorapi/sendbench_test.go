package connectorapi

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/auth"
	"github.com/connector-proxy/connector-proxy/internal/simproc"
	"github.com/connector-proxy/connector-proxy/mapping"
)

// sendBench is the proxy's SEND path as the process wires it (the face
// over the engagement client, the embedded store behind its cache, the
// face served by fasthttp on loopback), against a simulator in another
// process, with consumers that each have an open conversation and a SEND
// ready to go: what the benchmark's allocations count is the proxy's. Each
// SEND has a request id of its own, so each is a message forwarded to AXP.
type sendBench struct {
	face    *Face
	commits commitStats
	hc      *fasthttp.HostClient
	reqs    []*fasthttp.Request // one SEND per consumer
	convs   []string
	next    atomic.Int64
	id      atomic.Uint64 // the last request id sent
}

// benchText is the text each benchmark SEND carries.
const benchText = "Text message from messaging connector"

func newSendBench(tb testing.TB, consumers int) *sendBench {
	tb.Helper()
	client, err := engagement.NewClient(engagement.Config{BaseURL: simproc.Start(tb, "", ""), AccountID: axpAccount,
		ClientID: "demo-client", ClientSecret: "demo-secret", Metrics: engagement.NewMetrics(nil)})
	if err != nil {
		tb.Fatal(err)
	}
	sb := &sendBench{}
	bolt, err := mapping.OpenBolt(filepath.Join(tb.TempDir(), "proxy.db"), mapping.WithSendCommitObserver(sb.commits.observe))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = bolt.Close() })
	tokens, err := auth.New(auth.Options{Apps: defaultApps("http://127.0.0.1:9"), Key: genKey(tb)})
	if err != nil {
		tb.Fatal(err)
	}
	face, err := New(Config{ChannelProviderID: provider}, client, mapping.NewCached(bolt, 10_000, false, nil), tokens)
	if err != nil {
		tb.Fatal(err)
	}
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: face.Handler, ReadTimeout: 10 * time.Second}
	go srv.Serve(ln) //nolint:errcheck // ends with Shutdown
	tb.Cleanup(func() { _ = srv.Shutdown() })
	sb.face, sb.hc = face, &fasthttp.HostClient{Addr: ln.Addr().String(), MaxConns: 1024, ReadTimeout: 10 * time.Second}
	app, _, err := tokens.IssueAppJWT(lpAccount, appID, appSecret)
	if err != nil {
		tb.Fatal(err)
	}
	claims, err := tokens.VerifyAppJWT(lpAccount, app)
	if err != nil {
		tb.Fatal(err)
	}
	for i := range consumers {
		jws, err := tokens.IssueConsumerJWS(claims, fmt.Sprint("bench-", i))
		if err != nil {
			tb.Fatal(err)
		}
		code, body := sb.post("/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", app, jws, conversationBody)
		if code != 200 {
			tb.Fatalf("CONVERSATION: %d %s", code, body)
		}
		convs, err := bolt.Conversations(context.Background(), mapping.ConsumerKey{Face: mapping.FaceConnectorAPI, Account: lpAccount,
			App: appID, Consumer: auth.ConsumerID(lpAccount, appID, fmt.Sprint("bench-", i))})
		if err != nil || len(convs) != 1 {
			tb.Fatalf("conversations %v %v", convs, err)
		}
		sb.convs = append(sb.convs, convs[0].ID)
		sb.reqs = append(sb.reqs, sendRequest(app, jws, textEnvelope("1", convs[0].ID, benchText)))
	}
	return sb
}

// sendRequest is a SEND with its two tokens.
func sendRequest(app, jws, body string) *fasthttp.Request {
	req := &fasthttp.Request{}
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://proxy/api/account/" + lpAccount + "/messaging/consumer/conversation/send?v=3")
	req.Header.Set("Authorization", app)
	req.Header.Set("X-LP-ON-BEHALF", jws)
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	return req
}

func (sb *sendBench) post(path, app, jws, body string) (int, string) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod("POST")
	req.SetRequestURI("http://proxy" + path)
	req.Header.Set("Authorization", app)
	req.Header.Set("X-LP-ON-BEHALF", jws)
	req.Header.SetContentType("application/json")
	req.SetBodyString(body)
	if err := sb.hc.Do(req, resp); err != nil {
		return 0, err.Error()
	}
	return resp.StatusCode(), string(resp.Body())
}

// run sends SENDs from parallel loops, each on a consumer of its own (one
// request in flight per connection, as wrk does), and fails on any answer
// but 200.
func (sb *sendBench) run(b *testing.B, parallelism int) {
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	sb.commits.reset()
	defer sb.commits.report(b)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(sb.next.Add(1)-1) % len(sb.reqs)
		req, fresh := sb.reqs[i], newFreshSend(b, sb.convs[i], benchText)
		var resp fasthttp.Response
		for pb.Next() {
			req.SetBody(fresh.next(sb.id.Add(1)))
			if err := sb.hc.Do(req, &resp); err != nil {
				b.Error(err)
				return
			}
			if resp.StatusCode() != 200 {
				b.Errorf("SEND: %d %s", resp.StatusCode(), resp.Body())
				return
			}
		}
	})
}

// serial sends SENDs one at a time, on the first consumer.
func (sb *sendBench) serial(b *testing.B) {
	req, fresh := sb.reqs[0], newFreshSend(b, sb.convs[0], benchText)
	var resp fasthttp.Response
	b.ReportAllocs()
	for b.Loop() {
		req.SetBody(fresh.next(sb.id.Add(1)))
		if err := sb.hc.Do(req, &resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 200 {
			b.Fatalf("SEND: %d %s", resp.StatusCode(), resp.Body())
		}
	}
}

// commitStats collects the send log's group commits during a benchmark
// (a SEND's writes are its send record's): how long each took (a write and
// an fdatasync) and how many writes it carried, reported as the commit's
// p50 and p99 and the mean batch.
type commitStats struct {
	mu     sync.Mutex
	took   []time.Duration
	writes int
}

func (c *commitStats) observe(writes int, took time.Duration) {
	c.mu.Lock()
	c.took = append(c.took, took)
	c.writes += writes
	c.mu.Unlock()
}

func (c *commitStats) reset() {
	c.mu.Lock()
	c.took, c.writes = c.took[:0], 0
	c.mu.Unlock()
}

func (c *commitStats) report(b *testing.B) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.took) == 0 {
		return
	}
	d := slices.Clone(c.took)
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "commit-p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "commit-p99-µs")
	b.ReportMetric(float64(c.writes)/float64(len(d)), "writes/commit")
}
