package telemetry

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestEnabledOnlyWhenConfigured(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		env  map[string]string
		want bool
	}{
		{"nothing set", Config{}, nil, false},
		{"the configuration", Config{Enabled: true}, nil, true},
		{"an OTLP endpoint", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, true},
		{"an OTLP traces endpoint", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, true},
		{"the otlp exporter named", Config{}, map[string]string{"OTEL_TRACES_EXPORTER": "otlp"}, true},
		{"the SDK disabled wins over the configuration", Config{Enabled: true}, map[string]string{"OTEL_SDK_DISABLED": "true"}, false},
		{"the SDK disabled wins over an endpoint", Config{}, map[string]string{"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, false},
		{"exporter none wins", Config{Enabled: true}, map[string]string{"OTEL_TRACES_EXPORTER": "none"}, false},
		{"OTEL_SDK_DISABLED=false is no switch", Config{}, map[string]string{"OTEL_SDK_DISABLED": "false"}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Getenv = envOf(c.env)
			if got := Enabled(c.cfg); got != c.want {
				t.Fatalf("Enabled = %v, want %v", got, c.want)
			}
		})
	}
}

func TestCheckNamesWhatThisBuildCannotDo(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		env  map[string]string
		want string // "" for no error
	}{
		{"defaults", Config{Enabled: true}, nil, ""},
		{"http/protobuf", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ""},
		{"grpc", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc"},
		{"traces protocol json", Config{}, map[string]string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/json"},
		{"zipkin exporter", Config{}, map[string]string{"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER=zipkin"},
		{"endpoint without scheme", Config{Endpoint: "collector:4318"}, nil, `endpoint "collector:4318"`},
		{"ratio above one", Config{SampleRatio: 1.5}, nil, "sample ratio 1.5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Getenv = envOf(c.env)
			err := Check(c.cfg)
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Check = %v", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Check = %v, want it to name %q", err, c.want)
			}
		})
	}
}

func TestNewIsNilWhenOff(t *testing.T) {
	tr, err := New(context.Background(), Config{Getenv: envOf(nil)})
	if tr != nil || err != nil {
		t.Fatalf("New = %v, %v; want nil, nil", tr, err)
	}
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// collector is an OTLP/HTTP receiver on the loopback.
type collector struct {
	mu   sync.Mutex
	got  []*coltrace.ExportTraceServiceRequest
	path string
	srv  *httptest.Server
}

func startCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		req := new(coltrace.ExportTraceServiceRequest)
		if r.Header.Get("Content-Type") != "application/x-protobuf" || proto.Unmarshal(body, req) != nil {
			http.Error(w, "bad export", http.StatusBadRequest)
			return
		}
		c.mu.Lock()
		c.got, c.path = append(c.got, req), r.URL.Path
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, _ := proto.Marshal(&coltrace.ExportTraceServiceResponse{})
		_, _ = w.Write(b)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

// The configured endpoint gets the spans over OTLP/HTTP at /v1/traces
// once Shutdown flushes them, with the configured service name.
func TestNewExportsOverOTLPHTTP(t *testing.T) {
	col := startCollector(t)
	tr, err := New(context.Background(), Config{Enabled: true, Endpoint: col.srv.URL, ServiceName: "proxy-under-test", ServiceVersion: "1.2.3", Getenv: envOf(nil)})
	if err != nil || tr == nil {
		t.Fatalf("New = %v, %v", tr, err)
	}
	_, span := tr.StartEmit(context.Background(), "messageArrived")
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := tr.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.got) != 1 || col.path != "/v1/traces" {
		t.Fatalf("collector got %d exports at %q", len(col.got), col.path)
	}
	rs := col.got[0].ResourceSpans[0]
	res := map[string]string{}
	for _, kv := range rs.Resource.Attributes {
		res[kv.Key] = kv.Value.GetStringValue()
	}
	if res["service.name"] != "proxy-under-test" || res["service.version"] != "1.2.3" {
		t.Fatalf("resource = %v", res)
	}
	ss := rs.ScopeSpans[0]
	if ss.Scope.Name != ScopeName || len(ss.Spans) != 1 || ss.Spans[0].Name != "send messageArrived" {
		t.Fatalf("scope %q spans %v", ss.Scope.Name, ss.Spans)
	}
}

// The environment's service name and endpoint win over the configuration.
func TestEnvironmentWinsOverConfiguration(t *testing.T) {
	col := startCollector(t)
	t.Setenv("OTEL_SERVICE_NAME", "from-env")
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", col.srv.URL)
	tr, err := New(context.Background(), Config{ServiceName: "from-config", Endpoint: "http://127.0.0.1:9"})
	if err != nil || tr == nil {
		t.Fatalf("New = %v, %v", tr, err)
	}
	_, span := tr.StartEmit(context.Background(), "messageArrived")
	span.End()
	if err := tr.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.got) != 1 {
		t.Fatalf("the environment's endpoint got %d exports", len(col.got))
	}
	for _, kv := range col.got[0].ResourceSpans[0].Resource.Attributes {
		if kv.Key == "service.name" && kv.Value.GetStringValue() != "from-env" {
			t.Fatalf("service.name = %q", kv.Value.GetStringValue())
		}
	}
}
