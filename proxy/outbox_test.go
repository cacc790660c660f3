package proxy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestTheOutboxAPIWantsTheAdminToken(t *testing.T) {
	h := newHookReceiver(t)
	off, _ := startProxy(t, outboxConfig(t, h, "1h", "CONNECTOR_PROXY_ADMIN_TOKEN="))
	on, logs := startLogged(t, outboxConfig(t, h, "1h"))
	tests := []struct {
		name   string
		p      *Proxy
		header string // Authorization, "" for none
		want   int
		code   string // the error document's code, "" for success
	}{
		{"no token configured: the API is off", off, "Bearer " + testAdminToken, 403, "outbox_api_off"},
		{"no Authorization", on, "", 401, "unauthorized"},
		{"a wrong token", on, "Bearer not-the-admin-token-at-all", 401, "unauthorized"},
		{"the token one character short", on, "Bearer " + testAdminToken[:len(testAdminToken)-1], 401, "unauthorized"},
		{"the token as Basic credentials", on, "Basic " + testAdminToken, 401, "unauthorized"},
		{"the token without a scheme", on, testAdminToken, 401, "unauthorized"},
		{"the token", on, "Bearer " + testAdminToken, 200, ""},
		{"the token, scheme in lower case", on, "bearer " + testAdminToken, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, path := range []string{"/admin/outbox", "/admin/outbox/dropped", "/admin/outbox/pauses"} {
				req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: admin\r\nConnection: close\r\n", path)
				if tt.header != "" {
					req += "Authorization: " + tt.header + "\r\n"
				}
				resp, body, err := rawExchange(t, tt.p.AdminAddr(), []byte(req+"\r\n"))
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != tt.want {
					t.Fatalf("%s: %d %s, want %d", path, resp.StatusCode, body, tt.want)
				}
				var doc struct {
					Error struct{ Code, Message string }
				}
				_ = json.Unmarshal(body, &doc)
				if doc.Error.Code != tt.code {
					t.Fatalf("%s: error code %q, want %q (%s)", path, doc.Error.Code, tt.code, body)
				}
				if tt.want == 401 && !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Fatalf("401 without a Bearer challenge: %v", resp.Header)
				}
			}
		})
	}
	// The other admin paths need no token.
	if code, _ := get(t, "http://"+on.AdminAddr()+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	if got := metricValue(t, on, `connector_proxy_outbox_admin_actions_total{action="summary",result="unauthorized"}`); got != 5 {
		t.Fatalf("refusals of the summary counted %v, want 5", got)
	}
	if got := metricValue(t, off, `connector_proxy_outbox_admin_actions_total{action="summary",result="off"}`); got != 1 {
		t.Fatalf("the API off counted %v", got)
	}
	if strings.Contains(logs.String(), testAdminToken[:10]) {
		t.Fatal("the logs hold the admin token")
	}
	if !strings.Contains(logs.String(), "outbox admin: refused") {
		t.Fatal("refusals are not logged")
	}
}

// The done-when of the outbox: a notification whose endpoint fails past its
// app's retention is dropped, listed, and delivered by a replay once the
// endpoint answers again, with nothing left behind.
func TestADroppedNotificationIsListedAndReplayedOnceItsEndpointIsBack(t *testing.T) {
	h := newHookReceiver(t)
	h.down.Store(true)
	p, logs := startLogged(t, outboxConfig(t, h, "2s"))
	waitReady(t, p)
	conv, send := connectorConversation(t, p, "outbox-drop")
	send("lost then found")
	send("and another")
	l := waitListing(t, p, "/admin/outbox/dropped?conversation="+conv, "the agent's answers dropped after their retention", func(l listing) bool {
		return len(l.Items) == 2
	})
	it := l.Items[0]
	if it.DropReason != "expired" || it.Attempts < 1 || !strings.Contains(it.LastError, "503") || it.App != hookApp ||
		it.Target != h.target() || it.DroppedAt == nil || it.DroppedAt.Before(it.ExpiresAt) || it.ExpiresAt.Sub(it.CreatedAt) != 2*time.Second {
		t.Fatalf("dropped item = %+v", it)
	}
	if got := h.got(); len(got) != 0 {
		t.Fatalf("the endpoint took %v while down", got)
	}
	var sum struct{ Dropped int }
	if code, _, body := adminDo(t, p, "GET", "/admin/outbox", testAdminToken, "", &sum); code != 200 || sum.Dropped < 1 {
		t.Fatalf("summary: %d %s", code, body)
	}

	h.down.Store(false) // the endpoint is back
	var rep struct {
		Replayed []struct {
			Conversation string
			Seq, NewSeq  uint64
		}
		Count int
	}
	code, _, body := adminDo(t, p, "POST", "/admin/outbox/replay", testAdminToken, fmt.Sprintf(`{"conversation":%q,"seq":%d}`, conv, it.Seq), &rep)
	if code != 200 || rep.Count != 1 || rep.Replayed[0].NewSeq <= it.Seq {
		t.Fatalf("replay: %d %s", code, body)
	}
	waitFor(t, "the replayed notification at the endpoint", func() (bool, string) {
		got := h.got()
		return slices.Contains(got, "You said: lost then found"), fmt.Sprint(got)
	})
	// Once: a second replay of it finds nothing, and nothing is left.
	if code, _, body := adminDo(t, p, "POST", "/admin/outbox/replay", testAdminToken, fmt.Sprintf(`{"conversation":%q,"seq":%d}`, conv, it.Seq), nil); code != 404 || !strings.Contains(body, `"not_found"`) {
		t.Fatalf("second replay: %d %s", code, body)
	}
	// The rest, by app.
	code, _, body = adminDo(t, p, "POST", "/admin/outbox/replay", testAdminToken, `{"app":"`+hookApp+`"}`, &rep)
	if code != 200 || rep.Count != 1 || rep.Replayed[0].Seq != l.Items[1].Seq {
		t.Fatalf("replay by app: %d %s", code, body)
	}
	waitFor(t, "both at the endpoint, in order", func() (bool, string) {
		got := h.got()
		return slices.Equal(got, []string{"You said: lost then found", "You said: and another"}), fmt.Sprint(got)
	})
	waitListing(t, p, "/admin/outbox/pending?conversation="+conv, "the replayed items delivered", func(l listing) bool { return len(l.Items) == 0 })
	waitListing(t, p, "/admin/outbox/dropped?conversation="+conv, "the dropped items gone", func(l listing) bool { return len(l.Items) == 0 })
	if got := metricValue(t, p, `connector_proxy_outbox_admin_actions_total{action="replay",result="ok"}`); got != 2 {
		t.Fatalf("replays counted %v", got)
	}
	if l := logs.String(); !strings.Contains(l, `"msg":"outbox admin action"`) || !strings.Contains(l, `"action":"replay","remote":"127.0.0.1","actor":"test-operator"`) {
		t.Fatalf("the replay is not logged with who did it:\n%s", logs.String())
	}
}

// A paused endpoint gets nothing, its notifications wait unattempted, and
// the resume delivers them in their order.
func TestAPauseHoldsDeliveryAndTheResumeReleasesItInOrder(t *testing.T) {
	h := newHookReceiver(t)
	p, _ := startProxy(t, outboxConfig(t, h, "1h"))
	waitReady(t, p)
	var paused struct {
		Pause   struct{ Endpoint, Target, By, Reason string }
		Created bool
	}
	code, _, body := adminDo(t, p, "POST", "/admin/outbox/pause", testAdminToken, fmt.Sprintf(`{"target":%q,"reason":"connector deploy"}`, h.target()), &paused)
	if code != 201 || !paused.Created || paused.Pause.By != "test-operator" || paused.Pause.Reason != "connector deploy" || paused.Pause.Target != h.target() {
		t.Fatalf("pause: %d %s", code, body)
	}
	if code, _, body := adminDo(t, p, "POST", "/admin/outbox/pause", testAdminToken, fmt.Sprintf(`{"endpoint":%q}`, paused.Pause.Endpoint), nil); code != 200 || !strings.Contains(body, `"created":false`) {
		t.Fatalf("pause again: %d %s", code, body)
	}
	conv, send := connectorConversation(t, p, "outbox-pause")
	want := []string{"You said: one", "You said: two", "You said: three"}
	for _, m := range []string{"one", "two", "three"} {
		send(m)
	}
	// Held: all three pending, the head looked at and put off without an
	// attempt, nothing at the endpoint.
	waitListing(t, p, "/admin/outbox/pending?conversation="+conv, "three held notifications", func(l listing) bool {
		return len(l.Items) == 3 && l.Items[0].Paused && l.Items[0].Attempts == 0 && l.Items[0].NextAttempt != nil &&
			time.Until(*l.Items[0].NextAttempt) > 10*time.Second
	})
	if got, tries := h.got(), h.tries.Load(); len(got) != 0 || tries != 0 {
		t.Fatalf("a paused endpoint was called %d times: %v", tries, got)
	}
	var pauses struct{ Pauses []struct{ Endpoint string } }
	if adminDo(t, p, "GET", "/admin/outbox/pauses", testAdminToken, "", &pauses); len(pauses.Pauses) != 1 || pauses.Pauses[0].Endpoint != paused.Pause.Endpoint {
		t.Fatalf("pauses = %+v", pauses)
	}
	var resumed struct{ Released int }
	if code, _, body := adminDo(t, p, "POST", "/admin/outbox/resume", testAdminToken, fmt.Sprintf(`{"target":%q}`, h.target()), &resumed); code != 200 || resumed.Released != 3 {
		t.Fatalf("resume: %d %s", code, body)
	}
	waitFor(t, "the three delivered in order", func() (bool, string) {
		got := h.got()
		return slices.Equal(got, want), fmt.Sprint(got)
	})
	if code, _, body := adminDo(t, p, "POST", "/admin/outbox/resume", testAdminToken, fmt.Sprintf(`{"target":%q}`, h.target()), nil); code != 404 {
		t.Fatalf("resume again: %d %s", code, body)
	}
}

func TestTheOutboxAPIRefusesBadInputWithAnErrorDocument(t *testing.T) {
	h := newHookReceiver(t)
	p, _ := startProxy(t, outboxConfig(t, h, "1h"))
	tests := []struct {
		name, method, path, body string
		want                     int
		says                     string
	}{
		{"an unknown path", "GET", "/admin/outbox/everything", "", 404, "no such outbox API path"},
		{"a listing by POST", "POST", "/admin/outbox/pending", "{}", 405, "use GET"},
		{"a replay by GET", "GET", "/admin/outbox/replay", "", 405, "use POST"},
		{"a limit of zero", "GET", "/admin/outbox/pending?limit=0", "", 400, "limit"},
		{"a limit past the bound", "GET", "/admin/outbox/dropped?limit=1001", "", 400, "limit"},
		{"an unknown parameter", "GET", "/admin/outbox/pending?conversaton=x", "", 400, "unknown parameter"},
		{"a cursor no listing made", "GET", "/admin/outbox/pending?cursor=zzz", "", 400, "cursor"},
		{"an endpoint that is no id", "GET", "/admin/outbox/pending?endpoint=https://x", "", 400, "endpoint"},
		{"no body", "POST", "/admin/outbox/replay", "", 400, "JSON object"},
		{"not JSON", "POST", "/admin/outbox/replay", "{conversation", 400, "not a request object"},
		{"an unknown field", "POST", "/admin/outbox/replay", `{"conversation":"c","everything":true}`, 400, "unknown field"},
		{"two objects", "POST", "/admin/outbox/replay", `{"app":"a"}{"app":"b"}`, 400, "more than one"},
		{"a negative seq", "POST", "/admin/outbox/replay", `{"conversation":"c","seq":-1}`, 400, "not a request object"},
		{"a replay of everything", "POST", "/admin/outbox/replay", `{}`, 400, "say what to replay"},
		{"a seq without its conversation", "POST", "/admin/outbox/replay", `{"seq":3}`, 400, "give conversation too"},
		{"a replay limit past the bound", "POST", "/admin/outbox/replay", `{"app":"a","limit":5000}`, 400, "limit"},
		{"a replay of nothing dropped", "POST", "/admin/outbox/replay", `{"conversation":"c","seq":3}`, 404, "not found"},
		{"a discard without state", "POST", "/admin/outbox/discard", `{"conversation":"c","seq":3}`, 400, "state"},
		{"a discard without seq", "POST", "/admin/outbox/discard", `{"state":"pending","conversation":"c"}`, 400, "seq"},
		{"a discard of nothing", "POST", "/admin/outbox/discard", `{"state":"dropped","conversation":"c","seq":3}`, 404, "not found"},
		{"a pause of no endpoint", "POST", "/admin/outbox/pause", `{"reason":"x"}`, 400, "name the endpoint"},
		{"a pause named twice", "POST", "/admin/outbox/pause", `{"target":"https://x","endpoint":"0123456789abcdef"}`, 400, "not both"},
		{"a reason too long", "POST", "/admin/outbox/pause", `{"target":"https://x","reason":"` + strings.Repeat("r", 300) + `"}`, 400, "reason"},
		{"a resume of an endpoint not paused", "POST", "/admin/outbox/resume", `{"endpoint":"0123456789abcdef"}`, 404, "not found"},
		{"a body too large", "POST", "/admin/outbox/pause", `{"target":"` + strings.Repeat("x", 70<<10) + `"}`, 400, "over"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := adminDo(t, p, tt.method, tt.path, testAdminToken, tt.body, nil)
			var doc struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal([]byte(body), &doc); err != nil || hdr.Get("Content-Type") != "application/json" {
				t.Fatalf("not a JSON error document: %s %v", body, hdr)
			}
			if code != tt.want || doc.Error.Code == "" || !strings.Contains(doc.Error.Message, tt.says) {
				t.Fatalf("%d %s, want %d saying %q", code, body, tt.want, tt.says)
			}
		})
	}
	if got := metricValue(t, p, `connector_proxy_outbox_admin_actions_total{action="replay",result="bad_request"}`); got < 8 {
		t.Fatalf("bad replays counted %v", got)
	}
}

// Listings page with a bounded limit and show no secret of the target.
func TestOutboxListingsPageAndMaskTheTarget(t *testing.T) {
	h := newHookReceiver(t)
	h.down.Store(true)
	secretTarget := h.srv.URL + "/content?token=hook-secret-9a9a"
	cfg := outboxConfig(t, h, "1h")
	cfg.ConnectorAPI.Apps[0].Webhooks["ms.MessagingEventNotification.ContentEvent"] = secretTarget
	p, _ := startProxy(t, cfg)
	waitReady(t, p)
	conv, send := connectorConversation(t, p, "outbox-pages")
	for i := range 3 {
		send(fmt.Sprint("page ", i))
	}
	waitListing(t, p, "/admin/outbox/pending?conversation="+conv, "three pending", func(l listing) bool {
		return len(l.Items) == 3 && l.Items[0].Attempts > 0
	})
	var seqs []uint64
	path := "/admin/outbox/pending?limit=2&conversation=" + conv
	for range 5 {
		var l listing
		code, _, body := adminDo(t, p, "GET", path, testAdminToken, "", &l)
		if code != 200 || len(l.Items) > 2 {
			t.Fatalf("page: %d %s", code, body)
		}
		if strings.Contains(body, "hook-secret-9a9a") {
			t.Fatalf("a listing shows the target's token: %s", body)
		}
		for _, it := range l.Items {
			seqs = append(seqs, it.Seq)
			if !strings.HasSuffix(it.Target, "?token=********") {
				t.Fatalf("target %q is not masked", it.Target)
			}
		}
		if l.Next == "" {
			break
		}
		path = "/admin/outbox/pending?limit=2&conversation=" + conv + "&cursor=" + l.Next
	}
	if len(seqs) != 3 || !slices.IsSorted(seqs) {
		t.Fatalf("pages gave seqs %v, want three in order", seqs)
	}
	var l listing
	adminDo(t, p, "GET", "/admin/outbox/pending?target="+url.QueryEscape(secretTarget), testAdminToken, "", &l)
	if len(l.Items) != 3 {
		t.Fatalf("by target: %d items", len(l.Items))
	}
	var gone struct{ Discarded struct{ Seq uint64 } }
	if code, _, body := adminDo(t, p, "POST", "/admin/outbox/discard", testAdminToken, fmt.Sprintf(`{"state":"pending","conversation":%q,"seq":%d}`, conv, seqs[2]), &gone); code != 200 || gone.Discarded.Seq != seqs[2] {
		t.Fatalf("discard: %d %s", code, body)
	}
	waitListing(t, p, "/admin/outbox/pending?conversation="+conv, "two left", func(l listing) bool { return len(l.Items) == 2 })
}
