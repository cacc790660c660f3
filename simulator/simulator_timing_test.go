package simulator

import (
	"net"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// benchDialog hands out dialogs to send into, replacing each after
// perDialog messages (the old session is ended and later evicted, which
// keeps the benchmark's memory bounded as the simulator's would be).
type benchDialog struct {
	s                                 *Simulator
	token, engID, sessionID, dialogID string
	uri                               string
	body                              []byte
	sent                              int
}

const perDialog = 5000

func newBenchDialog(b *testing.B, s *Simulator) *benchDialog {
	d := &benchDialog{s: s}
	d.rotate(b)
	return d
}

func (d *benchDialog) rotate(b *testing.B) {
	if d.sessionID != "" {
		handle(d.s, "DELETE", channelBase+acct+"/sessions/"+d.sessionID, d.token, nil)
	}
	d.token, d.engID, d.sessionID, d.dialogID = seedDialog(b, d.s)
	d.uri = channelBase + acct + "/engagements/" + d.engID + "/messages"
	d.body = []byte(`{"sessionId":"` + d.sessionID + `","dialogId":"` + d.dialogID +
		`","body":{"elementType":"text","elementText":{"text":"I need some help to sell my car"}},"senderParticipantName":"John Doe","providerMessageId":"iwrh1hfbkmj4yb36ijsm"}`)
	d.sent = 0
}

func benchConfig() Config { return Config{MaxSessions: 8} }

// BenchmarkSendMessageHandler measures the handler alone: token check,
// decoding, validation, state and the 202 encoding.
func BenchmarkSendMessageHandler(b *testing.B) {
	s := New(benchConfig())
	defer s.Close()
	d := newBenchDialog(b, s)
	var req fasthttp.Request
	var ctx fasthttp.RequestCtx
	b.ReportAllocs()
	for b.Loop() {
		if d.sent == perDialog {
			b.StopTimer()
			d.rotate(b)
			b.StartTimer()
		}
		req.Reset()
		req.Header.SetMethod("POST")
		req.SetRequestURI(d.uri)
		req.Header.Set("Authorization", "Bearer "+d.token)
		req.Header.SetContentType("application/json")
		req.SetBody(d.body)
		ctx.Init(&req, nil, nil)
		s.Handler(&ctx)
		if ctx.Response.StatusCode() != 202 {
			b.Fatalf("status %d: %s", ctx.Response.StatusCode(), ctx.Response.Body())
		}
		d.sent++
	}
}

// BenchmarkSendMessageRoundTrip measures a client's send over an in-memory
// connection: the handler plus fasthttp's request and response handling.
func BenchmarkSendMessageRoundTrip(b *testing.B) {
	s := New(benchConfig())
	defer s.Close()
	ln := fasthttputil.NewInmemoryListener()
	srv := &fasthttp.Server{Handler: s.Handler}
	go func() { _ = srv.Serve(ln) }()
	defer func() { _ = srv.Shutdown() }()
	client := &fasthttp.Client{Dial: func(string) (net.Conn, error) { return ln.Dial() }, ReadTimeout: 5 * time.Second}

	d := newBenchDialog(b, s)
	b.ReportAllocs()
	for b.Loop() {
		if d.sent == perDialog {
			b.StopTimer()
			d.rotate(b)
			b.StartTimer()
		}
		req := fasthttp.AcquireRequest()
		resp := fasthttp.AcquireResponse()
		req.SetRequestURI("http://sim" + d.uri)
		req.Header.SetMethod("POST")
		req.Header.Set("Authorization", "Bearer "+d.token)
		req.Header.SetContentType("application/json")
		req.SetBody(d.body)
		if err := client.Do(req, resp); err != nil {
			b.Fatal(err)
		}
		if resp.StatusCode() != 202 {
			b.Fatalf("status %d: %s", resp.StatusCode(), resp.Body())
		}
		fasthttp.ReleaseRequest(req)
		fasthttp.ReleaseResponse(resp)
		d.sent++
	}
}
