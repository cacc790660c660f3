// Command webhooks measures the event pipeline of a running proxy from
// outside: it opens conversations through the Connector API, then posts AXP
// MESSAGES webhooks for them as fast as a number of concurrent callers can
// (each answered 200 only once the event is durable), and receives the
// signed notifications the proxy delivers on its own webhook endpoint. It
// reports the ingest rate, the webhook latency, the end-to-end rate, and
// checks that every event arrived exactly once, in order per conversation.
//
// bench/webhooks.sh runs it against a built proxy with the stand-alone
// simulator, on the embedded store or on Redis.
package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
)

func main() {
	var (
		proxy    = flag.String("proxy", "http://127.0.0.1:18080", "the proxy's public URL")
		token    = flag.String("token", "", "the proxy's AXP webhook path token")
		account  = flag.String("account", "le12345678", "the LivePerson account of the app")
		app      = flag.String("app", "bench-app", "the app's client id")
		secret   = flag.String("secret", "bench-secret", "the app's client secret (verifies signatures)")
		listen   = flag.String("listen", "127.0.0.1:18095", "where the app's webhooks point")
		convs    = flag.Int("convs", 256, "conversations")
		conns    = flag.Int("conns", 64, "concurrent webhook callers")
		events   = flag.Int("n", 20000, "events to post")
		deadline = flag.Duration("wait", 2*time.Minute, "how long to wait for the deliveries")
		profile  = flag.String("cpuprofile", "", "write this process's CPU profile of the run here")
	)
	flag.Parse()
	if *token == "" {
		fail("-token is required")
	}
	recv := startReceiver(*listen, *secret)
	c := &fasthttp.Client{MaxConnsPerHost: *conns + 8, ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}

	fmt.Printf("opening %d conversations…\n", *convs)
	ids := openConversations(c, *proxy, *account, *app, *secret, *convs)

	hook := *proxy + "/webhooks/axp/" + *token
	type job struct {
		conv  string
		index int
	}
	jobs := make(chan job, *conns)
	var (
		mu        sync.Mutex
		latencies = make([]time.Duration, 0, *events)
		non200    atomic.Int64
		errs      atomic.Int64
	)
	var wg sync.WaitGroup
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fail("profile: %v", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fail("profile: %v", err)
		}
	}
	cpu0 := cpuTime()
	start := time.Now()
	for range *conns {
		wg.Go(func() {
			req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
			defer fasthttp.ReleaseRequest(req)
			defer fasthttp.ReleaseResponse(resp)
			for j := range jobs {
				body := messageEvent(j.conv, j.index)
				for {
					req.Reset()
					req.SetRequestURI(hook)
					req.Header.SetMethod("POST")
					req.Header.SetContentType("application/json")
					req.SetBody(body)
					t0 := time.Now()
					err := c.DoTimeout(req, resp, 30*time.Second)
					d := time.Since(t0)
					if err == nil && resp.StatusCode() == 200 {
						mu.Lock()
						latencies = append(latencies, d)
						mu.Unlock()
						break
					}
					// As AXP does: not accepted, sent again.
					if err != nil {
						errs.Add(1)
					} else {
						non200.Add(1)
					}
					time.Sleep(100 * time.Millisecond)
				}
			}
		})
	}
	for i := range *events {
		jobs <- job{conv: ids[i%len(ids)], index: i/len(ids) + 1}
	}
	close(jobs)
	wg.Wait()
	ingest := time.Since(start)

	waitUntil := time.Now().Add(*deadline)
	for recv.total() < int64(*events) && time.Now().Before(waitUntil) {
		time.Sleep(10 * time.Millisecond)
	}
	e2e := recv.lastAt().Sub(start)
	ownCPU := cpuTime() - cpu0
	pprof.StopCPUProfile()
	slices.Sort(latencies)
	q := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	lost, dups, disorder, badSig := recv.check(ids, *events)
	fmt.Printf("events %d over %d conversations, %d concurrent callers\n", *events, len(ids), *conns)
	fmt.Printf("ingest: %.0f events/s (answered 200 in %s); re-sent after non-200 %d, errors %d\n",
		float64(*events)/ingest.Seconds(), ingest.Round(time.Millisecond), non200.Load(), errs.Load())
	fmt.Printf("webhook latency p50 %s p99 %s max %s\n", q(0.50).Round(10*time.Microsecond), q(0.99).Round(10*time.Microsecond), q(1).Round(10*time.Microsecond))
	fmt.Printf("delivered %d: %.0f notifications/s end to end (%s)\n", recv.total(), float64(recv.total())/e2e.Seconds(), e2e.Round(time.Millisecond))
	fmt.Printf("lost %d, duplicated %d, out of order %d, bad signatures %d\n", lost, dups, disorder, badSig)
	// What the measuring costs: it shares the machine with the proxy.
	fmt.Printf("load generator and receiver CPU: %d ms (%.0f µs per event)\n", ownCPU.Milliseconds(), float64(ownCPU.Microseconds())/float64(*events))
	if lost+dups+disorder+badSig > 0 {
		os.Exit(1)
	}
}

// cpuTime is the CPU this process has used, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "webhooks: "+format+"\n", args...)
	os.Exit(2)
}

// messageEvent is an agent's MESSAGES webhook for conversation conv (its
// providerDialogId), the index-th agent message of it: its members in the
// reference's order, its messageId time-based as AXP's are (see the
// simulator's timeID).
func messageEvent(conv string, index int) []byte {
	id, err := uuid.NewUUID()
	if err != nil {
		fail("message id: %v", err)
	}
	type text struct {
		Text       string `json:"text"`
		TextFormat string `json:"textFormat"`
	}
	type body struct {
		ElementType string `json:"elementType"`
		ElementText text   `json:"elementText"`
	}
	b, _ := json.Marshal(struct {
		EventType             string `json:"eventType"`
		CorrelationID         string `json:"correlationId"`
		EventDate             string `json:"eventDate"`
		MessageID             string `json:"messageId"`
		AccountID             string `json:"accountId"`
		DialogID              string `json:"dialogId"`
		EngagementID          string `json:"engagementId"`
		Status                string `json:"status"`
		ChannelProviderID     string `json:"channelProviderId"`
		ChannelID             string `json:"channelId"`
		SenderParticipantID   string `json:"senderParticipantId"`
		SenderParticipantName string `json:"senderParticipantName"`
		SenderParticipantType string `json:"senderParticipantType"`
		Body                  body   `json:"body"`
		MessageIndex          int    `json:"messageIndex"`
		ProviderDialogID      string `json:"providerDialogId"`
	}{
		"MESSAGES", uuid.NewString(), time.Now().UTC().Format(time.RFC3339Nano),
		id.String(), "ABCDEF", "d-" + conv, "e-" + conv, "SENT", "bench", "Chat",
		"agent-1", "Agent", "AGENT",
		body{"text", text{fmt.Sprintf("%s#%d", conv, index), "PLAINTEXT"}}, index, conv,
	})
	return b
}

func post(c *fasthttp.Client, url string, headers map[string]string, body string) (int, []byte) {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.SetRequestURI(url)
	req.Header.SetMethod("POST")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBodyString(body)
	if err := c.DoTimeout(req, resp, 30*time.Second); err != nil {
		fail("POST %s: %v", url, err)
	}
	return resp.StatusCode(), append([]byte(nil), resp.Body()...)
}

// openConversations makes n consumers of the app and one conversation each.
func openConversations(c *fasthttp.Client, proxy, account, app, secret string, n int) []string {
	code, body := post(c, proxy+"/sentinel/api/account/"+account+"/app/token?v=1.0&grant_type=client_credentials",
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, "client_id="+app+"&client_secret="+secret)
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &tok) != nil {
		fail("AppJWT: %d %s", code, body)
	}
	ids := make([]string, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			code, body := post(c, proxy+"/api/account/"+account+"/consumer?v=1.0",
				map[string]string{"Authorization": tok.AccessToken, "Content-Type": "application/json"}, fmt.Sprintf(`{"ext_consumer_id":"bench-%d-%s"}`, i, uuid.NewString()))
			var jws struct {
				Token string `json:"token"`
			}
			if code != 201 || json.Unmarshal(body, &jws) != nil {
				fail("ConsumerJWS: %d %s", code, body)
			}
			batch := `[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{}},` +
				`{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":"` + account + `"}}]`
			code, body = post(c, proxy+"/api/account/"+account+"/messaging/consumer/conversation?v=3",
				map[string]string{"Authorization": tok.AccessToken, "X-LP-ON-BEHALF": jws.Token, "Content-Type": "application/json"}, batch)
			var rs []struct {
				Body struct {
					ConversationID string `json:"conversationId"`
				} `json:"body"`
			}
			if code != 200 || json.Unmarshal(body, &rs) != nil || len(rs) != 2 || rs[1].Body.ConversationID == "" {
				fail("CONVERSATION: %d %s", code, body)
			}
			ids[i] = rs[1].Body.ConversationID
		})
	}
	wg.Wait()
	return ids
}

// receiver is the app's webhook endpoint: it verifies each signature and
// records the sequence of every ContentEvent, per conversation.
type receiver struct {
	secret string
	mu     sync.Mutex
	seqs   map[string][]int
	n      atomic.Int64
	last   atomic.Int64 // unix nanos of the last ContentEvent
	badSig atomic.Int64
}

func startReceiver(addr, secret string) *receiver {
	r := &receiver{secret: secret, seqs: map[string][]int{}}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fail("listen %s: %v", addr, err)
	}
	srv := &fasthttp.Server{Handler: r.handle, Concurrency: 4096}
	go func() { _ = srv.Serve(ln) }()
	return r
}

func (r *receiver) handle(ctx *fasthttp.RequestCtx) {
	body := ctx.PostBody()
	mac := hmac.New(sha1.New, []byte(r.secret))
	mac.Write(body)
	if want := "sha1=" + base64.StdEncoding.EncodeToString(mac.Sum(nil)); !bytes.Equal(ctx.Request.Header.Peek("X-Liveperson-Signature"), []byte(want)) {
		r.badSig.Add(1)
	}
	var n struct {
		Type string `json:"type"`
		Body struct {
			Changes []struct {
				Sequence       int    `json:"sequence"`
				ConversationID string `json:"conversationId"`
			} `json:"changes"`
		} `json:"body"`
	}
	if json.Unmarshal(body, &n) == nil && n.Type == "ms.MessagingEventNotification" && len(n.Body.Changes) == 1 {
		ch := n.Body.Changes[0]
		r.mu.Lock()
		r.seqs[ch.ConversationID] = append(r.seqs[ch.ConversationID], ch.Sequence)
		r.mu.Unlock()
		r.n.Add(1)
		r.last.Store(time.Now().UnixNano())
	}
	ctx.SetStatusCode(200)
}

func (r *receiver) total() int64 { return r.n.Load() }

func (r *receiver) lastAt() time.Time { return time.Unix(0, r.last.Load()) }

// check counts, over every conversation, the events that never arrived,
// those that arrived more than once, and arrivals out of order.
func (r *receiver) check(ids []string, events int) (lost, dups, disorder, badSig int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, id := range ids {
		want := events / len(ids)
		if i < events%len(ids) {
			want++
		}
		seen := map[int]int{}
		prev := -1
		for _, s := range r.seqs[id] {
			seen[s]++
			if s < prev {
				disorder++
			}
			prev = s
		}
		for k := range want {
			switch seen[k] { // sequence is messageIndex − 1
			case 0:
				lost++
			case 1:
			default:
				dups += seen[k] - 1
			}
		}
	}
	return lost, dups, disorder, int(r.badSig.Load())
}
