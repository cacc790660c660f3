package engagement

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

const testToken = "0123456789abcdefghijABCDEFGHIJ_-xyz"

// recordingSink keeps what it is handed and answers with err.
type recordingSink struct {
	mu       sync.Mutex
	events   []*Event
	deadline bool
	err      error
}

func (s *recordingSink) HandleEvent(ctx context.Context, ev *Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, s.deadline = ctx.Deadline()
	s.events = append(s.events, ev)
	return s.err
}

func (s *recordingSink) Events() []*Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*Event(nil), s.events...)
}

// serveReceiver puts r behind an in-memory fasthttp server and returns a
// function posting to it.
func serveReceiver(t *testing.T, r *Receiver) func(method, path, body string) int {
	t.Helper()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: r.Handler}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Shutdown(); _ = ln.Close() })
	hc := &fasthttp.HostClient{Addr: "receiver", Dial: func(string) (net.Conn, error) { return ln.Dial() }}
	return func(method, path, body string) int {
		req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
		defer fasthttp.ReleaseRequest(req)
		defer fasthttp.ReleaseResponse(resp)
		req.Header.SetMethod(method)
		req.SetRequestURI("http://receiver" + path)
		req.SetBodyString(body)
		if err := hc.DoTimeout(req, resp, 5*time.Second); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return resp.StatusCode()
	}
}

const (
	participantAddedJSON = `{"eventType":"PARTICIPANT_ADDED","correlationId":"c-1","eventDate":"2018-11-13T20:25:39.734Z","engagementId":"e-1","dialogId":"d-1","accountId":"ABCDEF","channelId":"Chat","channelProviderId":"cp","sessionId":"s-1","connectionId":"conn-1","participantId":"p-1","displayName":"Andy Morgan","participantType":"AGENT"}`
	messagesJSON         = `{"eventType":"MESSAGES","correlationId":"c-2","eventDate":"2018-11-13T20:25:39.734Z","messageId":"m-1","accountId":"ABCDEF","dialogId":"d-1","engagementId":"e-1","status":"SENT","sessionId":"s-1","channelProviderId":"cp","channelId":"Chat","senderParticipantId":"p-1","senderParticipantName":"Jane","senderParticipantType":"AGENT","body":{"elementType":"text","elementText":{"text":"What is the make?","textFormat":"PLAINTEXT"}},"messageIndex":4}`
	createdJSON          = `{"eventType":"ENGAGEMENT_CREATED","correlationId":"c-3","eventDate":"2018-11-13T20:25:39.734Z","engagementId":"e-1","dialogId":"d-1","accountId":"ABCDEF","channelProviderId":"cp","initiatorParticipantId":"p-0"}`
	errorJSON            = `{"eventType":"ENGAGEMENT_ERROR","type":"ENGAGEMENT_CREATION_FAILED","title":"Error","channelProviderId":"cp","dialogId":"d-1","correlationId":"c-4","eventDate":"2018-11-13T20:25:39.734Z"}`
	typingJSON           = `{"eventType":"TYPING","correlationId":"c-5","eventDate":"not a date"}`
)

func TestReceiverAnswersByPathMethodBodyAndSink(t *testing.T) {
	good := WebhookPathPrefix + testToken
	tests := []struct {
		name      string
		method    string
		path      string
		body      string
		sinkErr   error
		want      int
		wantSink  bool
		wantLabel [2]string // event_type, result counted
	}{
		{"participant added accepted", "POST", good, participantAddedJSON, nil, 200, true, [2]string{"PARTICIPANT_ADDED", "accepted"}},
		{"message accepted", "POST", good, messagesJSON, nil, 200, true, [2]string{"MESSAGES", "accepted"}},
		{"engagement created accepted", "POST", good, createdJSON, nil, 200, true, [2]string{"ENGAGEMENT_CREATED", "accepted"}},
		{"engagement error accepted", "POST", good, errorJSON, nil, 200, true, [2]string{"ENGAGEMENT_ERROR", "accepted"}},
		{"unknown type acknowledged, not handed on", "POST", good, typingJSON, nil, 200, false, [2]string{"other", "ignored"}},
		{"sink failure asks for a re-send", "POST", good, messagesJSON, errors.New("store down"), 503, true, [2]string{"MESSAGES", "failed"}},
		{"malformed JSON", "POST", good, `{"eventType":`, nil, 400, false, [2]string{"none", "malformed"}},
		{"no event type", "POST", good, `{"dialogId":"d"}`, nil, 400, false, [2]string{"none", "malformed"}},
		{"known type with a wrong field type", "POST", good, `{"eventType":"MESSAGES","messageIndex":"four"}`, nil, 400, false, [2]string{"none", "malformed"}},
		{"wrong token", "POST", WebhookPathPrefix + strings.Repeat("x", len(testToken)), participantAddedJSON, nil, 404, false, [2]string{"none", "denied"}},
		{"token prefix only", "POST", good[:len(good)-1], participantAddedJSON, nil, 404, false, [2]string{"none", "denied"}},
		{"token with a suffix", "POST", good + "x", participantAddedJSON, nil, 404, false, [2]string{"none", "denied"}},
		{"no token", "POST", WebhookPathPrefix, participantAddedJSON, nil, 404, false, [2]string{"none", "denied"}},
		{"GET on the right path", "GET", good, "", nil, 405, false, [2]string{"none", "denied"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := &recordingSink{err: tt.sinkErr}
			m := NewMetrics(nil)
			r := NewReceiver(sink, ReceiverOptions{Token: testToken, Metrics: m})
			post := serveReceiver(t, r)
			if got := post(tt.method, tt.path, tt.body); got != tt.want {
				t.Fatalf("status = %d, want %d", got, tt.want)
			}
			evs := sink.Events()
			if (len(evs) == 1) != tt.wantSink || len(evs) > 1 {
				t.Fatalf("sink got %d events, want handed on = %v", len(evs), tt.wantSink)
			}
			if tt.wantSink && !sink.deadline {
				t.Error("the sink's context has no deadline")
			}
			if got := testutil.ToFloat64(m.webhooks.WithLabelValues(tt.wantLabel[0], tt.wantLabel[1])); got != 1 {
				t.Errorf("webhooks_total%v = %v, want 1", tt.wantLabel, got)
			}
		})
	}
}

func TestReceiverHandsOnTypedEventsWithACopiedBody(t *testing.T) {
	sink := &recordingSink{}
	post := serveReceiver(t, NewReceiver(sink, ReceiverOptions{Token: testToken}))
	for _, body := range []string{messagesJSON, participantAddedJSON} {
		if got := post("POST", WebhookPathPrefix+testToken, body); got != 200 {
			t.Fatalf("status %d", got)
		}
	}
	// Further requests reuse the server's buffers; the kept events must not change.
	for range 5 {
		post("POST", WebhookPathPrefix+testToken, strings.Repeat("z", 600))
	}
	evs := sink.Events()
	if len(evs) != 2 {
		t.Fatalf("%d events", len(evs))
	}
	m := evs[0]
	if m.Message == nil || m.Message.Text() != "What is the make?" || m.Message.MessageIndex != 4 || m.CorrelationID != "c-2" || m.DialogID() != "d-1" {
		t.Fatalf("message event = %+v / %+v", m, m.Message)
	}
	if string(m.Raw) != messagesJSON {
		t.Fatalf("Raw changed after the handler returned: %s", m.Raw)
	}
	p := evs[1]
	if p.Participant == nil || p.Participant.ParticipantType != ParticipantAgent || p.Participant.DisplayName != "Andy Morgan" || p.EventDate.IsZero() {
		t.Fatalf("participant event = %+v", p.Participant)
	}
	if p.DedupeKey() != "part:e-1:d-1:conn-1:PARTICIPANT_ADDED" {
		t.Fatalf("DedupeKey() = %q", p.DedupeKey())
	}
}

func TestReceiverSinkDeadlineIsTheTimeout(t *testing.T) {
	var left time.Duration
	sink := SinkFunc(func(ctx context.Context, ev *Event) error {
		dl, _ := ctx.Deadline()
		left = time.Until(dl)
		<-ctx.Done()
		return ctx.Err()
	})
	post := serveReceiver(t, NewReceiver(sink, ReceiverOptions{Token: testToken, Timeout: 50 * time.Millisecond}))
	if got := post("POST", WebhookPathPrefix+testToken, messagesJSON); got != 503 {
		t.Fatalf("status = %d, want 503 when the sink overruns", got)
	}
	if left <= 0 || left > 50*time.Millisecond {
		t.Fatalf("sink deadline in %v, want within 50 ms", left)
	}
}

func TestReceiverPathHoldsTheToken(t *testing.T) {
	r := NewReceiver(&recordingSink{}, ReceiverOptions{Token: testToken})
	if r.Path() != "/webhooks/axp/"+testToken {
		t.Fatalf("Path() = %q", r.Path())
	}
}

func TestWebhookTokenRules(t *testing.T) {
	tests := []struct {
		token string
		ok    bool
	}{
		{testToken, true},
		{strings.Repeat("a", 32), true},
		{strings.Repeat("a", 31), false},
		{"", false},
		{strings.Repeat("a", 31) + "/", false},
		{strings.Repeat("a", 31) + "?", false},
		{strings.Repeat("a", 31) + "%", false},
	}
	for _, tt := range tests {
		if err := CheckWebhookToken(tt.token); (err == nil) != tt.ok {
			t.Errorf("CheckWebhookToken(%q) = %v, want ok %v", tt.token, err, tt.ok)
		}
	}
	a, err := NewWebhookToken()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewWebhookToken()
	if CheckWebhookToken(a) != nil || a == b {
		t.Fatalf("NewWebhookToken() = %q, %q: want two distinct valid tokens", a, b)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("NewReceiver accepted a short token")
		}
	}()
	NewReceiver(&recordingSink{}, ReceiverOptions{Token: "short"})
}

func TestDecodeEventRejectsWhatIsNotAnEvent(t *testing.T) {
	for _, body := range []string{``, `[]`, `null`, `"MESSAGES"`, `{}`, `{"eventType":""}`, `{"eventType":"PARTICIPANT_ADDED","eventDate":"yesterday"}`} {
		if _, err := DecodeEvent([]byte(body)); !errors.Is(err, ErrBadEvent) {
			t.Errorf("DecodeEvent(%q) = %v, want ErrBadEvent", body, err)
		}
	}
}

func TestDecodeEventCopiesTheBody(t *testing.T) {
	body := []byte(participantAddedJSON)
	ev, err := DecodeEvent(body)
	if err != nil {
		t.Fatal(err)
	}
	for i := range body {
		body[i] = 'x'
	}
	if !bytes.Equal(ev.Raw, []byte(participantAddedJSON)) {
		t.Fatal("Raw aliases the input")
	}
}
