package customerchannel

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/mapping"
	"github.com/valyala/fasthttp"
)

// serveHeaders runs one request with headers through the face's handler.
func serveHeaders(f *Face, method, uri string, headers map[string]string) *fasthttp.Response {
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod(method)
	ctx.Request.SetRequestURI(uri)
	for k, v := range headers {
		if v != "" {
			ctx.Request.Header.Set(k, v)
		}
	}
	f.Handler(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

// closedConv writes an ended conversation.
func closedConv(t *testing.T, store mapping.Store, id string) *mapping.Conversation {
	t.Helper()
	c := openConv(t, store, id, "web", "cleo-"+id+"@example.com")
	c.State, c.ClosedAt = mapping.StateClosed, testNow
	if err := store.Commit(context.Background(), &mapping.Change{Conv: c}); err != nil {
		t.Fatal(err)
	}
	return c
}

// A transcript is had with the participant's proof or a signed link, never
// by the conversation id alone; a link is bound to its conversation and
// dies at its expiry.
func TestTranscriptNeedsTheParticipantsProof(t *testing.T) {
	f, store := newUnitFace(t, &fakeBackend{})
	conv := closedConv(t, store, "c1")
	other := closedConv(t, store, "c2")
	now := testNow
	f.now = func() time.Time { return now }
	links := f.transcriptLinks(conv)
	if links == nil || !strings.HasPrefix(links.PDF, "/api/customer/transcript/c1/pdf?token=") || links.ExpiresAt != stamp(testNow.Add(time.Hour)) {
		t.Fatalf("links %+v", links)
	}
	otherLinks := f.transcriptLinks(other)
	tamper := func(link string) string {
		u, _ := url.Parse(link)
		tok := u.Query().Get("token")
		exp, sig, _ := strings.Cut(tok, ".")
		return u.Path + "?token=" + url.QueryEscape(exp+"0."+sig)
	}
	tests := []struct {
		name, uri, proof string
		later            time.Duration
		want             int
		code             string
	}{
		{"the id alone", "/api/customer/transcript/c1/pdf", "", 0, 401, "PROOF_REQUIRED"},
		{"the participant id", "/api/customer/transcript/c1/pdf", "proof-c1", 0, 200, ""},
		{"another conversation's participant id", "/api/customer/transcript/c1/pdf", "proof-c2", 0, 404, "NOT_FOUND"},
		{"the signed link", links.PDF, "", 0, 200, ""},
		{"the link just before it expires", links.PDF, "", time.Hour - time.Second, 200, ""},
		{"the link once expired", links.PDF, "", time.Hour, 401, "LINK_EXPIRED"},
		{"another conversation's link", "/api/customer/transcript/c1/pdf?token=" + url.QueryEscape(strings.SplitN(otherLinks.PDF, "token=", 2)[1]), "", 0, 404, "NOT_FOUND"},
		{"a link whose expiry was moved", tamper(links.PDF), "", 0, 404, "NOT_FOUND"},
		{"a garbage token", "/api/customer/transcript/c1/pdf?token=abc", "", 0, 404, "NOT_FOUND"},
		{"an unknown conversation with a proof", "/api/customer/transcript/nope/pdf", "proof-c1", 0, 404, "NOT_FOUND"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now = testNow.Add(tt.later)
			resp := serveHeaders(f, "GET", tt.uri, map[string]string{HeaderParticipant: tt.proof})
			if resp.StatusCode() != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode(), tt.want, resp.Body())
			}
			if tt.want == 200 {
				if ct := string(resp.Header.ContentType()); ct != "application/pdf" {
					t.Fatalf("content type %q", ct)
				}
				return
			}
			var e HTTPError
			if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Code != tt.code {
				t.Fatalf("body %s, want code %s", resp.Body(), tt.code)
			}
		})
	}
}

// Mailing is idempotent (a repeat within MailEvery sends nothing, one
// after it sends again), bounded for the whole face, and a failed mail
// does not count as sent.
func TestTranscriptMailIsIdempotentAndRateLimited(t *testing.T) {
	f, store := newUnitFace(t, &fakeBackend{})
	now := testNow
	f.now = func() time.Time { return now }
	f.cfg.SMTP.Addr = "127.0.0.1:1" // sendMail is replaced below
	f.cfg.Transcript.MailPerMinute = 3
	var sent atomic.Int32
	failing := false
	f.sendMail = func(context.Context, string, []byte) error {
		if failing {
			return errBoom
		}
		sent.Add(1)
		return nil
	}
	mail := func(id string) *fasthttp.Response {
		return serveHeaders(f, "POST", "/api/customer/transcript/"+id+"/email", map[string]string{HeaderParticipant: "proof-" + id})
	}
	closedConv(t, store, "m1")
	for i := range 3 {
		if resp := mail("m1"); resp.StatusCode() != 200 {
			t.Fatalf("request %d: %d %s", i, resp.StatusCode(), resp.Body())
		}
	}
	if n := sent.Load(); n != 1 {
		t.Fatalf("three requests within the cool-down sent %d mails, want 1", n)
	}
	now = now.Add(DefaultTranscriptMailEvery)
	if resp := mail("m1"); resp.StatusCode() != 200 || sent.Load() != 2 {
		t.Fatalf("after the cool-down: %d, %d mails, want a second one", resp.StatusCode(), sent.Load())
	}
	closedConv(t, store, "m2")
	failing = true
	if resp := mail("m2"); resp.StatusCode() != 503 {
		t.Fatalf("failing mail server: %d", resp.StatusCode())
	}
	failing = false
	if resp := mail("m2"); resp.StatusCode() != 200 || sent.Load() != 3 {
		t.Fatalf("retry after a failure: %d, %d mails, want it sent", resp.StatusCode(), sent.Load())
	}
	closedConv(t, store, "m3")
	closedConv(t, store, "m4")
	if resp := mail("m3"); resp.StatusCode() != 200 || sent.Load() != 4 {
		t.Fatalf("third mail of the minute: %d, %d mails", resp.StatusCode(), sent.Load())
	}
	resp := mail("m4") // the fourth mail of this minute
	if resp.StatusCode() != 429 || string(resp.Header.Peek("Retry-After")) == "" || sent.Load() != 4 {
		t.Fatalf("over the rate: %d Retry-After %q: %s", resp.StatusCode(), resp.Header.Peek("Retry-After"), resp.Body())
	}
	now = now.Add(time.Minute)
	if resp := mail("m4"); resp.StatusCode() != 200 || sent.Load() != 5 {
		t.Fatalf("next minute: %d, %d mails", resp.StatusCode(), sent.Load())
	}
}

// Without a proof a cross-site page cannot trigger a mail: a plain GET
// (an <img> tag) is refused, and CORS answers only configured origins.
func TestTranscriptMailCannotBeTriggeredCrossSite(t *testing.T) {
	f, store := newUnitFace(t, &fakeBackend{})
	f.cfg.SMTP.Addr = "127.0.0.1:1"
	var sent atomic.Int32
	f.sendMail = func(context.Context, string, []byte) error { sent.Add(1); return nil }
	closedConv(t, store, "x1")
	var ctx fasthttp.RequestCtx
	ctx.Request.Header.SetMethod("GET")
	ctx.Request.SetRequestURI("/api/customer/transcript/x1/email")
	ctx.Request.Header.Set("Origin", "https://evil.example")
	f.Handler(&ctx)
	if ctx.Response.StatusCode() != 401 || sent.Load() != 0 {
		t.Fatalf("cross-site GET: %d, %d mails", ctx.Response.StatusCode(), sent.Load())
	}
	if h := ctx.Response.Header.Peek("Access-Control-Allow-Origin"); len(h) != 0 {
		t.Fatalf("CORS allowed %q", h)
	}
}
