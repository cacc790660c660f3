package proxy

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"
)

// proxyMetrics are the process's own series (the parts register theirs).
type proxyMetrics struct {
	ready prometheus.Gauge
}

func newProxyMetrics(reg prometheus.Registerer) *proxyMetrics {
	m := &proxyMetrics{
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "connector_proxy_ready",
			Help: "1 when the last readiness check passed (store and AXP token reachable, subscription in place).",
		}),
	}
	reg.MustRegister(m.ready)
	return m
}

// check is one readiness probe's result.
type check struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

func (p *Proxy) adminHandler() fasthttp.RequestHandler {
	metrics := fasthttpadaptor.NewFastHTTPHandler(promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{Registry: p.reg}))
	var profiles fasthttp.RequestHandler
	if p.cfg.AdminPprof {
		profiles = pprofHandler()
	}
	outbox := newOutboxAPI(p)
	return func(ctx *fasthttp.RequestCtx) {
		path := string(ctx.Path())
		if profiles != nil && strings.HasPrefix(path, "/debug/pprof/") {
			profiles(ctx)
			return
		}
		if path == OutboxPath || strings.HasPrefix(path, OutboxPath+"/") {
			outbox.handle(ctx)
			return
		}
		switch path {
		case "/metrics":
			metrics(ctx)
		case "/healthz":
			ctx.SetContentType("application/json")
			ctx.SetBodyString(`{"status":"ok"}`)
		case "/readyz":
			p.readyz(ctx)
		default:
			ctx.Error("not found", fasthttp.StatusNotFound)
		}
	}
}

// pprofHandler serves net/http/pprof from a mux of its own (the default
// mux is global state): the index and named profiles under /debug/pprof/,
// and the four handlers the index links to.
func pprofHandler() fasthttp.RequestHandler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return fasthttpadaptor.NewFastHTTPHandler(mux)
}

// readyz passes when the store answers, an AXP token can be had and the
// webhook subscription is in place (as its last periodic check found it):
// without any of them the proxy would accept work it cannot finish.
func (p *Proxy) readyz(ctx *fasthttp.RequestCtx) {
	cctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	checks := map[string]check{}
	ok := true
	record := func(name string, err error) {
		c := check{OK: err == nil}
		if err != nil {
			c.Error = err.Error()
			ok = false
		}
		checks[name] = c
	}
	record("store", p.store.Ping(cctx))
	_, err := p.backend.Token(cctx)
	record("axp_token", err)
	select {
	case <-p.subscribed:
		// In place once; the periodic check says whether it still is.
		var err error
		if c := p.subCheck.Load(); c != nil && c.err != nil {
			err = fmt.Errorf("the AXP webhook subscription could not be confirmed: %w", c.err)
		}
		record("axp_subscription", err)
	default:
		record("axp_subscription", errNotSubscribed)
	}
	body, _ := json.Marshal(map[string]any{"ready": ok, "checks": checks})
	ctx.SetContentType("application/json")
	ctx.SetBody(body)
	if ok {
		p.metrics.ready.Set(1)
	} else {
		p.metrics.ready.Set(0)
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
	}
}

type readyError string

func (e readyError) Error() string { return string(e) }

const errNotSubscribed = readyError("the AXP webhook subscription is not in place yet")
