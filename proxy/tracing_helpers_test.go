package proxy

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/connector-proxy/connector-proxy/config"
	"github.com/connector-proxy/connector-proxy/simulator"
	"github.com/connector-proxy/connector-proxy/telemetry"
)

// Secrets and texts of the tracing test; none may be in a span.
const (
	traceAXPClient    = "trace-axp-client"
	traceAXPSecret    = "trace-axp-secret-5e5e"
	traceAppID        = "trace-app"
	traceAppSecret    = "trace-app-secret-9a9a"
	traceConsumerExt  = "consumer-ext-4711"
	traceSendText     = "customer words 8c1f"
	traceAgentText    = "agent reply 77e2"
	traceSocketText   = "socket words 3d3d"
	traceSocketAnswer = "agent answers the socket 61b0"
)

// heard is one request as the test's simulator or connector got it.
type heard struct {
	method, path, traceparent, tracestate, auth, signature string
	body                                                   string
}

// listener records what reaches it, for the tests to wait on.
type listener struct {
	mu  sync.Mutex
	got []heard
	new chan struct{}
}

func newListener() *listener { return &listener{new: make(chan struct{}, 1)} }

func (l *listener) add(h heard) {
	l.mu.Lock()
	l.got = append(l.got, h)
	l.mu.Unlock()
	select {
	case l.new <- struct{}{}:
	default:
	}
}

// await returns the first request that match accepts, waiting 10 s at most.
func (l *listener) await(t *testing.T, what string, match func(heard) bool) heard {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for _, h := range l.got {
			if match(h) {
				l.mu.Unlock()
				return h
			}
		}
		l.mu.Unlock()
		select {
		case <-l.new:
		case <-deadline:
			t.Fatalf("%s: never received", what)
		}
	}
}

func (l *listener) all() []heard {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]heard(nil), l.got...)
}

// traceRig is a proxy against the simulator over loopback, its spans in
// an in-memory recorder, the simulator's requests and the connector's
// webhooks recorded as they arrived.
type traceRig struct {
	p         *Proxy
	rec       *tracetest.SpanRecorder
	axp       *listener // what the simulator was sent
	hooks     *listener // what the connector's webhook endpoint got
	simURL    string
	publicURL string
}

func startTraceRig(t *testing.T) *traceRig {
	t.Helper()
	r := &traceRig{rec: tracetest.NewSpanRecorder(), axp: newListener(), hooks: newListener()}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(r.rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })

	// The simulator as it is; only the test's listener in front of it
	// looks at the headers.
	sim := simulator.New(simulator.Config{ClientID: traceAXPClient, ClientSecret: traceAXPSecret, RedeliveryDelay: 50 * time.Millisecond})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: func(ctx *fasthttp.RequestCtx) {
		h := &ctx.Request.Header
		r.axp.add(heard{method: string(ctx.Method()), path: string(ctx.Path()), traceparent: string(h.Peek("traceparent")),
			tracestate: string(h.Peek("tracestate")), auth: string(h.Peek("Authorization"))})
		sim.Handler(ctx)
	}}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(); _ = sim.Close() })
	r.simURL = "http://" + ln.Addr().String()

	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.hooks.add(heard{method: req.Method, path: req.URL.Path, traceparent: req.Header.Get("traceparent"),
			tracestate: req.Header.Get("tracestate"), signature: req.Header.Get("x-liveperson-signature"), body: string(b)})
	}))
	t.Cleanup(hooks.Close)

	dir := t.TempDir()
	file := filepath.Join(dir, "config.yaml")
	yaml := `
listen: 127.0.0.1:0
admin_listen: 127.0.0.1:0
data_dir: ` + filepath.Join(dir, "data") + `
shutdown_timeout: 5s
axp:
  base_url: ` + r.simURL + `
  account_id: DEMOAC
  client_id: ` + traceAXPClient + `
  client_secret: ` + traceAXPSecret + `
  channel_provider_id: TraceProvider
connector_api:
  apps:
    - client_id: ` + traceAppID + `
      client_secret: ` + traceAppSecret + `
      account_id: DEMOAC
      webhooks:
        ms.MessagingEventNotification.ContentEvent: ` + hooks.URL + `/hooks/content
        cqm.ExConversationChangeNotification: ` + hooks.URL + `/hooks/conversation
customer_channel:
  allowed_origins: ["*"]
`
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := runProxy(t, func(ctx context.Context) (*Proxy, error) {
		return newProxy(ctx, cfg, slog.New(slog.DiscardHandler), telemetry.NewWithProvider(tp))
	})
	r.p = p
	r.publicURL = "http://" + p.PublicAddr()
	waitReady(t, p)
	return r
}

// post sends a JSON (or form) request with headers and returns the status
// and body.
func (r *traceRig) post(t *testing.T, url, contentType, body string, headers ...string) (int, []byte) {
	t.Helper()
	return postContent(t, url, contentType, body, headers...)
}

// sim drives the simulator's agent side.
func (r *traceRig) sim(t *testing.T, method, path, body string) []byte {
	t.Helper()
	req, err := http.NewRequest(method, r.simURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s %s = %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

// engagementOf is the simulator's engagement of a conversation: the one
// whose dialog names it as providerDialogId.
func (r *traceRig) engagementOf(t *testing.T, conversation string) string {
	t.Helper()
	var engs []struct {
		EngagementID string `json:"engagementId"`
		Dialogs      []struct {
			ProviderDialogID string `json:"providerDialogId"`
		} `json:"dialogs"`
	}
	if err := json.Unmarshal(r.sim(t, "GET", "/sim/accounts/DEMOAC/engagements", ""), &engs); err != nil {
		t.Fatal(err)
	}
	for _, e := range engs {
		for _, d := range e.Dialogs {
			if d.ProviderDialogID == conversation {
				return e.EngagementID
			}
		}
	}
	t.Fatalf("no engagement of conversation %s among %d", conversation, len(engs))
	return ""
}

// span waits until the span with id has ended and returns it.
func (r *traceRig) span(t *testing.T, id trace.SpanID) sdktrace.ReadOnlySpan {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, s := range r.rec.Ended() {
			if s.SpanContext().SpanID() == id {
				return s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("span %s never ended", id)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// named returns the ended spans named name.
func (r *traceRig) named(name string) []sdktrace.ReadOnlySpan {
	var out []sdktrace.ReadOnlySpan
	for _, s := range r.rec.Ended() {
		if s.Name() == name {
			out = append(out, s)
		}
	}
	return out
}

// parentOf splits a traceparent into its trace and parent (span) ids.
func parentOf(t *testing.T, tp string) (trace.TraceID, trace.SpanID) {
	t.Helper()
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || parts[0] != "00" || parts[3] != "01" {
		t.Fatalf("traceparent %q is not a sampled version-00 one", tp)
	}
	tid, err1 := trace.TraceIDFromHex(parts[1])
	sid, err2 := trace.SpanIDFromHex(parts[2])
	if err1 != nil || err2 != nil {
		t.Fatalf("traceparent %q: %v %v", tp, err1, err2)
	}
	return tid, sid
}

func spanAttr(s sdktrace.ReadOnlySpan, key string) string {
	for _, kv := range s.Attributes() {
		if string(kv.Key) == key {
			return kv.Value.String()
		}
	}
	return ""
}

// everyRecordedString is every name, attribute value, link and event
// attribute and status text of the spans recorded.
func everyRecordedString(spans []sdktrace.ReadOnlySpan) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name(), s.Status().Description)
		for _, kv := range s.Attributes() {
			out = append(out, string(kv.Key)+"="+kv.Value.String())
		}
		for _, l := range s.Links() {
			for _, kv := range l.Attributes {
				out = append(out, string(kv.Key)+"="+kv.Value.String())
			}
		}
		for _, e := range s.Events() {
			out = append(out, e.Name)
			for _, kv := range e.Attributes {
				out = append(out, string(kv.Key)+"="+kv.Value.String())
			}
		}
	}
	return out
}
