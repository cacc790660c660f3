package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName names the instrumentation scope of every span the proxy makes.
const ScopeName = "github.com/connector-proxy/connector-proxy"

// DefaultServiceName is service.name unless the configuration or
// OTEL_SERVICE_NAME names another.
const DefaultServiceName = "connector-proxy"

// Config configures tracing. The OTEL_* variables of the environment win
// over it, as OpenTelemetry's SDKs have it.
type Config struct {
	// Enabled switches tracing on (see Enabled for the variables that do
	// too, and those that switch it off).
	Enabled bool
	// Endpoint is the OTLP/HTTP collector's base URL
	// (http://otel-collector:4318); spans go to its /v1/traces. Empty: the
	// OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT variables, else localhost:4318.
	Endpoint string
	// ServiceName is service.name (default connector-proxy); OTEL_SERVICE_NAME
	// and OTEL_RESOURCE_ATTRIBUTES win.
	ServiceName string
	// ServiceVersion is service.version, when known.
	ServiceVersion string
	// SampleRatio, in (0, 1), samples that share of new traces (those
	// whose client sent no traceparent; the others follow the client's
	// decision). 0 or 1: every trace. OTEL_TRACES_SAMPLER wins.
	SampleRatio float64
	// Getenv reads the environment (default os.Getenv). The SDK reads its
	// own OTEL_* variables from the process's environment.
	Getenv func(string) string
	// Logger receives the exporter's failures (default: discarded).
	Logger *slog.Logger
}

// Tracing makes the proxy's spans. A nil *Tracing is tracing switched off:
// each method then does nothing and allocates nothing.
type Tracing struct {
	tracer   trace.Tracer
	prop     propagation.TraceContext
	shutdown func(context.Context) error
}

// Enabled reports whether cfg and the environment switch tracing on: it is
// on with cfg.Enabled, OTEL_TRACES_EXPORTER=otlp, or an OTLP endpoint named
// in OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
// OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none switch it off
// whatever else says.
func Enabled(cfg Config) bool {
	env := getenv(cfg)
	if strings.EqualFold(strings.TrimSpace(env("OTEL_SDK_DISABLED")), "true") {
		return false
	}
	switch strings.TrimSpace(env("OTEL_TRACES_EXPORTER")) {
	case "none":
		return false
	case "otlp":
		return true
	}
	return cfg.Enabled || env("OTEL_EXPORTER_OTLP_ENDPOINT") != "" || env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != ""
}

func getenv(cfg Config) func(string) string {
	if cfg.Getenv != nil {
		return cfg.Getenv
	}
	return os.Getenv
}

// Check reports what in cfg and the environment New would refuse: an
// exporter or protocol this build does not have, a bad endpoint or ratio.
// It says nothing about a collector being reachable.
func Check(cfg Config) error {
	env := getenv(cfg)
	var errs []error
	if e := strings.TrimSpace(env("OTEL_TRACES_EXPORTER")); e != "" && e != "otlp" && e != "none" {
		errs = append(errs, fmt.Errorf("OTEL_TRACES_EXPORTER=%s: only otlp (or none) is built in", e))
	}
	for _, name := range []string{"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"} {
		if p := strings.TrimSpace(env(name)); p != "" && p != "http/protobuf" {
			errs = append(errs, fmt.Errorf("%s=%s: only http/protobuf is built in (OTLP/HTTP, port 4318)", name, p))
			break
		}
	}
	if cfg.Endpoint != "" {
		if _, err := tracesURL(cfg.Endpoint); err != nil {
			errs = append(errs, err)
		}
	}
	if cfg.SampleRatio < 0 || cfg.SampleRatio > 1 {
		errs = append(errs, fmt.Errorf("sample ratio %v: must be from 0 to 1", cfg.SampleRatio))
	}
	return errors.Join(errs...)
}

// tracesURL is the OTLP/HTTP traces URL of a collector's base URL.
func tracesURL(endpoint string) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("endpoint %q: must be an http(s) URL such as http://otel-collector:4318", endpoint)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	return u.String(), nil
}

// New starts tracing as cfg and the environment say: nil, and no error,
// when it is off. The spans are batched and exported over OTLP/HTTP (the
// OTEL_EXPORTER_OTLP_* and OTEL_BSP_* variables apply); Shutdown flushes
// them.
func New(ctx context.Context, cfg Config) (*Tracing, error) {
	if !Enabled(cfg) {
		return nil, nil
	}
	if err := Check(cfg); err != nil {
		return nil, fmt.Errorf("telemetry: %w", err)
	}
	env := getenv(cfg)
	var opts []otlptracehttp.Option
	if cfg.Endpoint != "" && env("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		u, _ := tracesURL(cfg.Endpoint) // checked
		opts = append(opts, otlptracehttp.WithEndpointURL(u))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: OTLP exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	own := []attribute.KeyValue{semconv.ServiceNameKey.String(name)}
	if cfg.ServiceVersion != "" {
		own = append(own, semconv.ServiceVersionKey.String(cfg.ServiceVersion))
	}
	attrs := []resource.Option{resource.WithTelemetrySDK(), resource.WithSchemaURL(semconv.SchemaURL), resource.WithAttributes(own...)}
	// Last, so that OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win.
	attrs = append(attrs, resource.WithFromEnv())
	res, err := resource.New(ctx, attrs...)
	if err != nil {
		return nil, fmt.Errorf("telemetry: resource: %w", err)
	}
	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithBatcher(exp), sdktrace.WithResource(res)}
	if r := cfg.SampleRatio; r > 0 && r < 1 && env("OTEL_TRACES_SAMPLER") == "" {
		tpOpts = append(tpOpts, sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r))))
	}
	tp := sdktrace.NewTracerProvider(tpOpts...)
	if cfg.Logger != nil {
		log := cfg.Logger
		// The SDK reports export failures (a collector away) to one
		// handler per process; without this they would go to stderr
		// unstructured.
		otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) {
			log.Warn("telemetry: span export failed", "err", err)
		}))
	}
	t := NewWithProvider(tp)
	t.shutdown = tp.Shutdown
	return t, nil
}

// NewWithProvider makes spans with tp (a test's in-memory recorder, or a
// provider the caller built and shuts down itself).
func NewWithProvider(tp trace.TracerProvider) *Tracing {
	return &Tracing{tracer: tp.Tracer(ScopeName, trace.WithSchemaURL(semconv.SchemaURL))}
}

// Shutdown exports the spans still buffered and stops the exporter.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if t == nil || t.shutdown == nil {
		return nil
	}
	if err := t.shutdown(ctx); err != nil {
		return fmt.Errorf("telemetry: shutdown: %w", err)
	}
	return nil
}

// On reports whether t makes spans (t is not nil).
func (t *Tracing) On() bool { return t != nil }
