package customerchannel

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/connector-proxy/connector-proxy/pipeline"
	"github.com/connector-proxy/connector-proxy/simulator"
	"github.com/valyala/fasthttp"
)

// The rig wires the whole path on loopback: the AXP simulator, the
// engagement client, a bolt store, the webhook receiver and the event
// pipeline, the face, and an SMTP sink.
const (
	rigAccount  = "ABCDEF"
	rigProvider = "ChatConnector01"
	rigSecret   = "connector-secret-for-tests"
)

type rig struct {
	sim      *simulator.Server
	backend  *engagement.Client
	store    *mapping.Bolt
	face     *Face
	proxyURL string
	smtp     *smtpSink
	http     *http.Client
}

func newRig(t testing.TB, tweak func(*Config)) *rig {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	sim, err := simulator.Start(ctx, simulator.Config{ClientID: "rig-client", ClientSecret: "rig-secret"}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	backend, err := engagement.NewClient(engagement.Config{
		BaseURL: sim.URL, AccountID: rigAccount, ClientID: "rig-client", ClientSecret: "rig-secret", Timeout: 10 * time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	store, err := mapping.OpenBolt(filepath.Join(t.TempDir(), "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	sink := startSMTPSink(t)
	cfg := Config{
		ChannelProviderID: rigProvider,
		AllowedOrigins:    []string{"*"},
		ConnectorSecret:   rigSecret,
		SMTP:              SMTPConfig{Addr: sink.addr, From: "transcripts@proxy.test"},
		Logger:            slog.New(slog.DiscardHandler),
	}
	var pipe *pipeline.Pipeline
	cfg.Changed = func(conv string) { pipe.Poke(conv) }
	if tweak != nil {
		tweak(&cfg)
	}
	face, err := New(cfg, backend, store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = face.Close() })
	pipe, err = pipeline.New(pipeline.Config{
		Store:        store,
		Faces:        map[mapping.Face]pipeline.Face{mapping.FaceCustomerChannel: face},
		Engagements:  backend,
		Holder:       "rig",
		PollInterval: 5 * time.Millisecond,
		Logger:       cfg.Logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	piped := make(chan struct{})
	go func() { defer close(piped); _ = pipe.Run(pctx) }()
	t.Cleanup(func() { stop(); <-piped })
	token, err := engagement.NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	recv := engagement.NewReceiver(pipe, engagement.ReceiverOptions{Token: token, Logger: cfg.Logger})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			if string(ctx.Path()) == recv.Path() {
				recv.Handler(ctx)
				return
			}
			face.Handler(ctx)
		},
		ReadTimeout: 30 * time.Second,
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown() })
	r := &rig{sim: sim, backend: backend, store: store, face: face, proxyURL: "http://" + ln.Addr().String(), smtp: sink,
		http: &http.Client{Timeout: 15 * time.Second}}
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	if _, err := backend.EnsureSubscription(sctx, rigProvider, r.proxyURL+recv.Path(), []string{engagement.SubscribeAll}); err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	return r
}

// post sends JSON and decodes a JSON answer into out (when non-nil).
func (r *rig) post(t testing.TB, url string, body, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := r.http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("POST %s: decode %s: %v", url, raw, err)
		}
	}
	return resp.StatusCode
}

func (r *rig) init(t testing.TB, req InitRequest) InitResponse {
	t.Helper()
	var res InitResponse
	if code := r.post(t, r.proxyURL+"/api/customer/init", req, &res); code != 200 {
		t.Fatalf("init answered %d", code)
	}
	return res
}

// agent drives the simulator's agent side of a conversation.
func (r *rig) agent(t testing.TB, convID, action string, body any) {
	t.Helper()
	conv, err := r.store.Conversation(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("%s/sim/accounts/%s/engagements/%s:%s", r.sim.URL, rigAccount, conv.EngagementID, action)
	if code := r.post(t, url, body, nil); code/100 != 2 {
		t.Fatalf("sim %s answered %d", action, code)
	}
}

// messages lists what AXP holds for a conversation.
func (r *rig) messages(t testing.TB, convID string) []*engagement.Message {
	t.Helper()
	conv, err := r.store.Conversation(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	var out []*engagement.Message
	for m, err := range r.backend.AllMessages(context.Background(), conv.EngagementID, conv.SessionID, conv.DialogID) {
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// smtpSink is a minimal SMTP server that keeps what it is sent.
type smtpSink struct {
	addr string
	mu   sync.Mutex
	got  []receivedMail
	ch   chan receivedMail
}

type receivedMail struct {
	From, To string
	Data     string
}

func startSMTPSink(t testing.TB) *smtpSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpSink{addr: ln.Addr().String(), ch: make(chan receivedMail, 16)}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { s.serve(c) })
		}
	})
	return s
}

func (s *smtpSink) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	rd := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 sink ready")
	var m receivedMail
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 sink")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			m.From = strings.Trim(strings.TrimSpace(line)[10:], "<>")
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			m.To = strings.Trim(strings.TrimSpace(line)[8:], "<>")
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := rd.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = data.String()
			s.mu.Lock()
			s.got = append(s.got, m)
			s.mu.Unlock()
			s.ch <- m
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("250 ok")
		}
	}
}
