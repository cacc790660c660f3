// Command loadgen drives a running connector-proxy through the Messaging
// Connector API: it opens one conversation per consumer, then sends text
// messages from every consumer at once for a while, and reports the rate and
// the latency distribution of SEND. bench/send.sh runs it against a proxy in
// demo mode; point it at any proxy with -target and an app's credentials.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/valyala/fasthttp"
)

type options struct {
	target, account, clientID, secret string
	consumers                         int
	duration                          time.Duration
	// rate, when positive, paces the consumers to that many SENDs per
	// second in all (a steady load to size a deployment by); 0 sends as
	// fast as answers come.
	rate float64
}

func main() {
	var o options
	flag.StringVar(&o.target, "target", "http://127.0.0.1:8080", "the proxy's public URL")
	flag.StringVar(&o.account, "account", "DEMOAC", "the app's account")
	flag.StringVar(&o.clientID, "client-id", "demo-app", "the app's client id")
	flag.StringVar(&o.secret, "client-secret", "demo-app-secret", "the app's client secret")
	flag.IntVar(&o.consumers, "consumers", 16, "consumers sending at once, one conversation each")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to send")
	flag.Float64Var(&o.rate, "rate", 0, "SENDs per second in all, spread over the consumers (0: as fast as possible)")
	flag.Parse()
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

type client struct {
	hc   *fasthttp.Client
	o    options
	base string
}

// post sends body and decodes a 2xx JSON answer into out.
func (c *client) post(path string, headers map[string]string, body []byte, out any) error {
	req, resp := fasthttp.AcquireRequest(), fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	req.Header.SetMethod(fasthttp.MethodPost)
	req.SetRequestURI(c.base + path)
	req.Header.SetContentType("application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.SetBody(body)
	if err := c.hc.DoTimeout(req, resp, 10*time.Second); err != nil {
		return err
	}
	if code := resp.StatusCode(); code/100 != 2 {
		return fmt.Errorf("POST %s: %d %s", path, code, resp.Body())
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(resp.Body(), out)
}

type consumer struct {
	headers      map[string]string
	conversation string
}

func (c *client) open(appJWT string, n int) (*consumer, error) {
	var jws struct{ Token string }
	if err := c.post("/api/account/"+c.o.account+"/consumer?v=1.0", map[string]string{"Authorization": appJWT},
		fmt.Appendf(nil, `{"ext_consumer_id":"loadgen-%d-%d"}`, time.Now().UnixNano(), n), &jws); err != nil {
		return nil, err
	}
	h := map[string]string{"Authorization": appJWT, "X-LP-ON-BEHALF": jws.Token}
	batch := fmt.Appendf(nil, `[{"kind":"req","id":"1","type":"userprofile.SetUserProfile","body":{"authenticatedData":{"lp_sdes":[{"type":"personal","personal":{"firstname":"Load","lastname":"Gen %d"}}]}}},`+
		`{"kind":"req","id":"2","type":"cm.ConsumerRequestConversation","body":{"brandId":%q}}]`, n, c.o.account)
	var answers []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if err := c.post("/api/account/"+c.o.account+"/messaging/consumer/conversation?v=3", h, batch, &answers); err != nil {
		return nil, err
	}
	if len(answers) != 2 || answers[1].Body.ConversationID == "" {
		return nil, errors.New("CONVERSATION answered no conversationId")
	}
	return &consumer{headers: h, conversation: answers[1].Body.ConversationID}, nil
}

func run(ctx context.Context, o options) error {
	c := &client{hc: &fasthttp.Client{MaxConnsPerHost: o.consumers * 2}, o: o, base: o.target}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	q := url.Values{"v": {"1.0"}, "grant_type": {"client_credentials"}, "client_id": {o.clientID}, "client_secret": {o.secret}}
	if err := c.post("/sentinel/api/account/"+o.account+"/app/token?"+q.Encode(), nil, nil, &tok); err != nil {
		return fmt.Errorf("AppJWT: %w", err)
	}
	consumers := make([]*consumer, o.consumers)
	for i := range consumers {
		cs, err := c.open(tok.AccessToken, i)
		if err != nil {
			return fmt.Errorf("consumer %d: %w", i, err)
		}
		consumers[i] = cs
	}

	ctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  int
		firstErr  error
		wg        sync.WaitGroup
	)
	start := time.Now()
	for _, cs := range consumers {
		wg.Go(func() {
			var own []time.Duration
			bad := 0
			var err1 error
			var pace <-chan time.Time
			if o.rate > 0 {
				t := time.NewTicker(time.Duration(float64(time.Second) * float64(o.consumers) / o.rate))
				defer t.Stop()
				pace = t.C
			}
			for i := 0; ctx.Err() == nil; i++ {
				if pace != nil {
					select {
					case <-ctx.Done():
						continue
					case <-pace:
					}
				}
				body := fmt.Appendf(nil, `{"kind":"req","id":"%d","type":"ms.PublishEvent","body":{"dialogId":%q,"event":{"type":"ContentEvent","contentType":"text/plain","message":"load %d"}}}`, i, cs.conversation, i)
				t0 := time.Now()
				if err := c.post("/api/account/"+o.account+"/messaging/consumer/conversation/send?v=3", cs.headers, body, nil); err != nil {
					bad++
					if err1 == nil {
						err1 = err
					}
					continue
				}
				own = append(own, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, own...)
			failures += bad
			if firstErr == nil {
				firstErr = err1
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Printf("SEND: %d consumers, %s: %d ok, %d failed, %.0f msgs/s; latency p50 %s p90 %s p99 %s max %s\n",
		o.consumers, elapsed.Round(time.Millisecond), len(latencies), failures, float64(len(latencies))/elapsed.Seconds(),
		pct(.50).Round(time.Microsecond), pct(.90).Round(time.Microsecond), pct(.99).Round(time.Microsecond), pct(1).Round(time.Microsecond))
	if firstErr != nil {
		fmt.Println("first failure:", firstErr)
	}
	return nil
}
