package console

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/connector-proxy/connector-proxy/auth"
)

const contentBody = `{"kind":"notification","body":{"sentTs":1,"changes":[{"sequence":1,"originatorMetadata":{"id":"a","role":"ASSIGNED_AGENT"},"event":{"type":"ContentEvent","contentType":"text/plain","message":"Hi"},"conversationId":"c1"}]},"type":"ms.MessagingEventNotification"}`

func TestSinkVerifiesThenStreams(t *testing.T) {
	r := newRig(t, false, nil)
	page := r.openStream(t)
	if !strings.Contains(page.head, "Content-Type: text/event-stream") || !strings.Contains(page.head, "Cache-Control: no-store") {
		t.Fatalf("stream head:\n%s", page.head)
	}
	signed := func(body string) []string {
		return []string{"Content-Type", "application/json", auth.SignatureHeader, auth.SignWebhook(testSecret, []byte(body)),
			headerAccount, testAccount, headerClientID, testClientID}
	}
	tests := []struct {
		name    string
		method  string
		key     string
		body    string
		headers []string
		status  int
		result  string
	}{
		{"a signed ContentEvent", "POST", auth.WebhookContentEvent, contentBody, signed(contentBody), 200, "verified"},
		{"signed by another secret", "POST", auth.WebhookContentEvent, contentBody,
			[]string{auth.SignatureHeader, auth.SignWebhook("other", []byte(contentBody)), headerAccount, testAccount, headerClientID, testClientID}, 401, "bad_signature"},
		{"no signature", "POST", auth.WebhookContentEvent, contentBody, []string{headerAccount, testAccount, headerClientID, testClientID}, 401, "bad_signature"},
		{"the body changed after signing", "POST", auth.WebhookContentEvent, contentBody + " ", signed(contentBody), 401, "bad_signature"},
		{"an app the proxy does not know", "POST", auth.WebhookContentEvent, contentBody,
			[]string{auth.SignatureHeader, auth.SignWebhook(testSecret, []byte(contentBody)), headerAccount, "OTHER", headerClientID, testClientID}, 401, "unknown_app"},
		{"signed but not JSON", "POST", auth.WebhookConversationChange, "not json", signed("not json"), 400, "bad_body"},
		{"not a manifest key", "POST", "ms.Nope", contentBody, signed(contentBody), 404, "unknown_key"},
		{"GET is not a notification", "GET", auth.WebhookContentEvent, "", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := 0.0
			if tt.result != "" {
				before = testutil.ToFloat64(r.c.m.hooks.WithLabelValues(tt.result))
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			resp := r.do(t, tt.method, HookPath(tt.key), body, tt.headers...)
			if resp.StatusCode() != tt.status {
				t.Fatalf("= %d %s, want %d", resp.StatusCode(), resp.Body(), tt.status)
			}
			if tt.status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(resp.Body(), &e); err != nil || e.Error == "" {
					t.Fatalf("error body %s is not {\"error\": …}", resp.Body())
				}
			}
			if tt.result != "" {
				if got := testutil.ToFloat64(r.c.m.hooks.WithLabelValues(tt.result)); got != before+1 {
					t.Fatalf("hooks_total{result=%q} went from %v to %v", tt.result, before, got)
				}
			}
		})
	}
	// Only the verified one reached the page, and as the proxy sent it.
	ev := page.next()
	if ev.event != "notification" || ev.id != "1" {
		t.Fatalf("event %+v", ev)
	}
	var n notification
	if err := json.Unmarshal([]byte(ev.data), &n); err != nil {
		t.Fatal(err)
	}
	if n.Seq != 1 || n.Key != auth.WebhookContentEvent || !n.Verified || n.AccountID != testAccount || n.ClientID != testClientID ||
		string(n.Body) != contentBody || n.ReceivedAt == "" {
		t.Fatalf("notification %+v", n)
	}
	r.hook(t, auth.WebhookConversationChange, "{\n  \"pretty\": true\n}", testSecret)
	if ev := page.next(); ev.id != "2" || !strings.Contains(ev.data, `"body":{"pretty":true}`) {
		t.Fatalf("a multi-line body must arrive compacted, on one data line: %+v", ev)
	}
}

func TestSinkRefusesLargeNotifications(t *testing.T) {
	r := newRig(t, false, func(c *Config) { c.MaxHookBody = 64 })
	body := `{"x":"` + strings.Repeat("a", 100) + `"}`
	if resp := r.hook(t, auth.WebhookContentEvent, body, testSecret); resp.StatusCode() != 413 {
		t.Fatalf("= %d %s", resp.StatusCode(), resp.Body())
	}
}

func TestStreamReplaysWhatAReconnectingPageMissed(t *testing.T) {
	tests := []struct {
		name      string
		lastID    string
		wantFirst []string // ids before the live event
	}{
		{"missed the last two", "3", []string{"4", "5"}},
		{"missed more than is kept", "1", []string{"3", "4", "5"}},
		{"missed nothing", "5", nil},
		{"an id from before a restart", "99", nil},
		{"not a number", "x", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, false, func(c *Config) { c.ReplayEvents = 3 })
			for i := range 5 {
				r.hook(t, auth.WebhookContentEvent, `{"n":`+strconv.Itoa(i)+`}`, testSecret)
			}
			page := r.openStream(t, "Last-Event-ID", tt.lastID)
			r.hook(t, auth.WebhookContentEvent, `{"live":true}`, testSecret)
			var got []string
			for ev := page.next(); ev.id != "6"; ev = page.next() {
				got = append(got, ev.id)
			}
			if strings.Join(got, ",") != strings.Join(tt.wantFirst, ",") {
				t.Fatalf("replayed %v, want %v", got, tt.wantFirst)
			}
		})
	}
}

func TestStreamLimitsPages(t *testing.T) {
	r := newRig(t, false, func(c *Config) { c.MaxSubscribers = 2 })
	a := r.openStream(t)
	r.openStream(t)
	third := r.openStream(t)
	if !strings.HasPrefix(third.head, "HTTP/1.1 503") {
		t.Fatalf("third page: %s", third.head)
	}
	a.conn.Close()
	waitFor(t, "the server to notice the first page went", func() bool { return r.c.subscribers() == 1 })
	if again := r.openStream(t); !strings.HasPrefix(again.head, "HTTP/1.1 200") {
		t.Fatalf("after one left: %s", again.head)
	}
	if got := testutil.ToFloat64(r.c.m.subscribers); got != 2 {
		t.Fatalf("subscribers gauge %v, want 2", got)
	}
}

func TestStreamSendsHeartbeats(t *testing.T) {
	r := newRig(t, false, func(c *Config) { c.Heartbeat = 10 * time.Millisecond })
	page := r.openStream(t)
	for range 3 {
		if ev := page.next(); !ev.comment {
			t.Fatalf("want a keep-alive comment, got %+v", ev)
		}
	}
}

func TestStreamsEndOnCloseAndOnShutdown(t *testing.T) {
	t.Run("Close", func(t *testing.T) {
		r := newRig(t, false, nil)
		page := r.openStream(t)
		_ = r.c.Close()
		if _, err := page.read(); !errors.Is(err, io.EOF) {
			t.Fatalf("after Close the stream read %v, want EOF", err)
		}
		if late := r.openStream(t); !strings.HasPrefix(late.head, "HTTP/1.1 503") {
			t.Fatalf("a page after Close: %s", late.head)
		}
		if resp := r.hook(t, auth.WebhookContentEvent, `{}`, testSecret); resp.StatusCode() != 200 {
			t.Fatalf("the sink after Close = %d: it still answers, so the proxy does not retry", resp.StatusCode())
		}
	})
	t.Run("server shutdown", func(t *testing.T) {
		r := newRig(t, false, nil)
		page := r.openStream(t)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		// The stream is hijacked, so the shutdown does not wait for it; the
		// stream sees the server's Done and ends.
		if err := r.srv.ShutdownWithContext(ctx); err != nil {
			t.Fatalf("shutdown with a page connected: %v", err)
		}
		if _, err := page.read(); !errors.Is(err, io.EOF) {
			t.Fatalf("after shutdown the stream read %v, want EOF", err)
		}
		waitFor(t, "the page to be let go", func() bool { return r.c.subscribers() == 0 })
	})
}
