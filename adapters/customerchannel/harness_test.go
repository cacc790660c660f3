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
	"github.com/google/uuid"
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

// newRig subscribes AXP to every event type.
func newRig(t testing.TB, tweak func(*Config)) *rig {
	t.Helper()
	return newRigSubscribed(t, tweak, []string{engagement.SubscribeAll})
}

// proxyEvents are the event types the proxy subscribes to (proxy's
// subscribedEvents): the contact center's messages, not the customer's.
func proxyEvents() []string {
	return []string{engagement.SubscribeCCMessages, engagement.EventParticipantAdded,
		engagement.EventParticipantDisconnected, engagement.EventEngagementError}
}

// newRigSubscribed subscribes AXP to the given event types.
func newRigSubscribed(t testing.TB, tweak func(*Config), events []string) *rig {
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
	if _, err := backend.EnsureSubscription(sctx, rigProvider, r.proxyURL+recv.Path(), events); err != nil {
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

// calls reads the simulator's API call counters over /sim/stats.
func (r *rig) calls(t testing.TB) map[string]int64 {
	t.Helper()
	resp, err := r.http.Get(r.sim.URL + "/sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st simulator.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/sim/stats: %d, %v", resp.StatusCode, err)
	}
	return st.Calls
}

// waitDelivered waits, for at most 5 s, until the simulator counts n
// callbacks delivered (it counts each once the receiver has answered).
func waitDelivered(t testing.TB, r *rig, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for st := r.sim.Sim.DeliveryStats(); st.Delivered < n; st = r.sim.Sim.DeliveryStats() {
		if time.Now().After(deadline) {
			t.Fatalf("delivery stats %+v, want %d delivered", st, n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// fault adds a simulator fault.
func (r *rig) fault(t testing.TB, f simulator.Fault) {
	t.Helper()
	if code := r.post(t, r.sim.URL+"/sim/faults", f, nil); code != 201 {
		t.Fatalf("/sim/faults answered %d", code)
	}
}

// transcript asks for a conversation's transcript with the participant's
// proof: the PDF's bytes, or nil for an email (which goes to the sink).
func (r *rig) transcript(t testing.TB, res InitResponse, typ string) []byte {
	t.Helper()
	method := "GET"
	if typ == "email" {
		method = "POST"
	}
	req, err := http.NewRequest(method, r.proxyURL+"/api/customer/transcript/"+res.ConversationID+"/"+typ, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set(HeaderParticipant, res.Participant.ID)
	resp, err := r.http.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("%s transcript: %d %s", typ, resp.StatusCode, body)
	}
	if typ == "email" {
		return nil
	}
	return body
}

// chat opens a customer's conversation and joins it on a socket.
func (r *rig) chat(t testing.TB, first, email string) (InitResponse, *sioClient) {
	t.Helper()
	res := r.init(t, InitRequest{Channel: "web", FirstName: first, Email: email})
	c, err := dialSIO(r.proxyURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if a, err := c.call(EventJoinConversation, JoinRequest{ConversationID: res.ConversationID, ID: res.Participant.ID}); err != nil || a.Status != "ok" {
		t.Fatalf("joinConversation: %+v, %v", a, err)
	}
	c.waitFor(t, EventConversationInfo, nil)
	return res, c
}

// say sends a customer's message and waits for its ack.
func say(t testing.TB, c *sioClient, res InitResponse, text string) {
	t.Helper()
	a, err := c.call(EventSendMessage, SendRequest{Type: TypeChatMessage, ConversationID: res.ConversationID, ID: uuid.NewString(), Text: text})
	if err != nil || a.Status != "ok" {
		t.Fatalf("sendMessage %q: %+v, %v", text, a, err)
	}
}

// rejoin joins the conversation on a new socket, as a customer coming
// back does, and returns its conversationInfo.
func (r *rig) rejoin(t testing.TB, res InitResponse) ConversationInfo {
	t.Helper()
	c, err := dialSIO(r.proxyURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if a, err := c.call(EventJoinConversation, JoinRequest{ConversationID: res.ConversationID, ID: res.Participant.ID}); err != nil || a.Status != "ok" {
		t.Fatalf("joinConversation: %+v, %v", a, err)
	}
	var info ConversationInfo
	if err := json.Unmarshal(c.waitFor(t, EventConversationInfo, nil), &info); err != nil {
		t.Fatal(err)
	}
	return info
}

// fromAXP is what conversationInfo shows of AXP's list of the
// conversation's messages.
func (r *rig) fromAXP(t testing.TB, convID string) []ChatMessage {
	t.Helper()
	conv, err := r.store.Conversation(context.Background(), convID)
	if err != nil {
		t.Fatal(err)
	}
	out := []ChatMessage{}
	for _, m := range r.messages(t, convID) {
		if !whisper(m) {
			out = append(out, *r.face.chatMessage(conv, m))
		}
	}
	return out
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
