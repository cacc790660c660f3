package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
	"github.com/connector-proxy/connector-proxy/internal/redistest"
)

// The SIGKILL campaign's size: the floor for each.
const (
	campaignConversations = 20
	campaignKills         = 20
	// campaignPace is the pause between one client's messages: with 20
	// conversations, about 200 agent messages and 200 SENDs a second.
	campaignPace = 100 * time.Millisecond
	// campaignProgress is how many notifications reach the receiver
	// between two kills, so that every kill lands in traffic.
	campaignProgress = 10
	// campaignDrain bounds the wait, after the last kill, for every
	// message to arrive: AXP's re-sends back off to a second.
	campaignDrain = 90 * time.Second
)

// TestSIGKILLCampaign kills proxies with SIGKILL, again and again, while
// agents answer in 20 conversations and their consumers SEND, all through
// a load balancer: with the embedded store (one proxy, restarted on its
// data directory) and with two replicas on Redis (one killed and restarted
// at a time, the other taking over its shards), on one redis-server and on
// a 3-master Redis Cluster. Afterwards every agent message AXP delivered is
// at the connector's receiver once per sequence number and in order, every
// SEND the proxy acknowledged is in AXP exactly once and in order, and AXP
// gave up on no webhook.
//
// A notification the receiver took just before the kill that sent it can
// arrive again (nothing can tell a dead process that its receiver answered
// 200): it is the same body with the same sequence, right after the first,
// which is how a LivePerson connector recognises a repeat. The test checks
// that every repeat is of that kind and logs how many there were.
func TestSIGKILLCampaign(t *testing.T) {
	tests := []struct {
		name     string
		store    func(t *testing.T) (url string, cluster bool)
		replicas int
	}{
		{"embedded store, one proxy restarted", func(*testing.T) (string, bool) { return "", false }, 1},
		{"two replicas on one redis-server", func(t *testing.T) (string, bool) { return redistest.Start(t).URL, false }, 2},
		{"two replicas on a 3-master Redis Cluster", func(t *testing.T) (string, bool) { return redistest.StartCluster(t).URL, true }, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			url, clustered := tc.store(t)
			runCampaign(t, url, clustered, tc.replicas)
		})
	}
}

// campaignConv is one conversation of the campaign and what its two
// sides did.
type campaignConv struct {
	id, engagement string
	cons           consumer

	mu     sync.Mutex
	agent  []string // agent texts AXP accepted, in order
	acked  []string // SEND texts the proxy acknowledged, in order
	unsure []string // SEND texts given up on without an answer
}

func runCampaign(t *testing.T, redisURL string, clustered bool, n int) {
	c := &cluster{sim: startSim(t, "-max-redelivery-delay", "1s", "-max-delivery-attempts", "200"), hooks: startHooks(t),
		keyFile: writeKey(t, t.TempDir()), webhookToken: randomToken(t), redisURL: redisURL, redisCluster: clustered,
		// The simulator applies a write as it arrives: one that reached it
		// before a kill has landed, and a retry need not wait long.
		env: []string{"CONNECTOR_PROXY_AXP_TIMEOUT=2s", "CONNECTOR_PROXY_AXP_UNCONFIRMED_WINDOW=4s"}}
	lb := startBalancer(t)
	c.publicURL = lb.URL()
	replicas := make([]*proxy, n)
	for i := range replicas {
		replicas[i] = c.startProxy(t, fmt.Sprintf("replica-%d", i), 0, 0, "")
	}
	lb.route(replicas...)

	convs := make([]*campaignConv, campaignConversations)
	for i := range convs {
		cv := &campaignConv{cons: newConsumer(t, lb.URL(), fmt.Sprintf("campaign-%d", i))}
		cv.engagement = c.sim.newest(t, func() { cv.id = mustOpenConversation(t, lb.URL(), cv.cons) })
		c.sim.agent(t, cv.engagement, "agentJoin", `{"displayName":"Andy"}`)
		convs[i] = cv
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, cv := range convs {
		wg.Add(2)
		go func() { defer wg.Done(); cv.talkAsAgent(t, c.sim, stop) }()
		go func() { defer wg.Done(); cv.talkAsConsumer(t, lb.URL(), stop) }()
	}
	started := time.Now()
	for k := range campaignKills {
		seen := c.hooks.contentCount()
		eventually(t, fmt.Sprintf("traffic before kill %d", k+1), func() (bool, string) {
			got := c.hooks.contentCount()
			return got >= seen+campaignProgress, fmt.Sprintf("%d notifications, want %d", got, seen+campaignProgress)
		})
		victim := replicas[k%n]
		victim.kill()
		replicas[k%n] = c.startProxy(t, victim.id, victim.port, victim.admin, victim.dataDir)
	}
	close(stop)
	wg.Wait()
	campaign := time.Since(started)

	// Every agent message arrives, then the checks.
	deadline := time.Now().Add(campaignDrain)
	for _, cv := range convs {
		for {
			got, _ := c.hooks.contentLog(cv.id)
			if len(got) >= len(cv.agent) || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	var stats struct{ Delivered, Failed, Dropped int64 }
	if code, body := do(t, "GET", c.sim.URL+"/sim/stats", nil, ""); code != 200 || json.Unmarshal(body, &stats) != nil {
		t.Fatalf("sim stats: %d %s", code, body)
	}
	if stats.Dropped != 0 {
		t.Errorf("AXP gave up on %d webhooks: the campaign proves nothing about them", stats.Dropped)
	}
	axp := c.sim.axp(t)
	var agentTotal, sendTotal, repeats int
	for _, cv := range convs {
		got, rep := c.hooks.contentLog(cv.id)
		repeats += len(rep)
		for _, r := range rep {
			if r.again != r.last {
				t.Errorf("%s: %s arrived again after %s: only the last notification may repeat", cv.id, r.again, r.last)
			}
		}
		if !slices.Equal(got, cv.agent) {
			t.Errorf("%s: the receiver got %d agent messages %v,\nAXP delivered %d %v", cv.id, len(got), got, len(cv.agent), cv.agent)
		}
		agentTotal += len(cv.agent)
		sendTotal += len(cv.acked)
		checkSends(t, cv, c.sim.messages(t, axp, cv.engagement))
	}
	t.Logf("%d kills in %s over %d conversations: %d agent messages delivered, %d SENDs acknowledged, %d repeated deliveries of a last notification; AXP webhooks: %d delivered, %d failed attempts",
		campaignKills, campaign.Round(time.Millisecond), len(convs), agentTotal, sendTotal, repeats, stats.Delivered, stats.Failed)
}

// talkAsAgent sends agent messages through the simulator until stop.
func (cv *campaignConv) talkAsAgent(t *testing.T, s *sim, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(campaignPace):
		}
		text := fmt.Sprintf("a%d", i)
		code, body := post(s.URL+"/sim/accounts/"+axpAccount+"/engagements/"+cv.engagement+":agentMessage", nil, `{"text":"`+text+`"}`)
		if code != 200 {
			t.Errorf("%s: agent message %s: %d %s", cv.id, text, code, body)
			return
		}
		cv.mu.Lock()
		cv.agent = append(cv.agent, text)
		cv.mu.Unlock()
	}
}

// talkAsConsumer SENDs until stop, as a connector does: one at a time, and
// a SEND without an answer (the proxy died, or answered 503) sent again
// with the same id until it has one.
func (cv *campaignConv) talkAsConsumer(t *testing.T, base string, stop <-chan struct{}) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(campaignPace):
		}
		text := fmt.Sprintf("s%d", i)
		env, _ := json.Marshal(map[string]any{"kind": "req", "id": text, "type": "ms.PublishEvent",
			"body": map[string]any{"dialogId": cv.id, "event": map[string]any{"type": "ContentEvent", "contentType": "text/plain", "message": text}}})
		acked := false
		var last string
		for try := 0; try < 400 && !acked; try++ {
			code, body := post(base+"/api/account/"+lpAccount+"/messaging/consumer/conversation/send?v=3", cv.cons.headers(), string(env))
			switch {
			case code == 200 && strings.Contains(body, `"code":"OK"`):
				acked = true
			case code == 0 || code == 429 || code >= 500:
				last = fmt.Sprintf("%d %s", code, body)
				time.Sleep(100 * time.Millisecond)
			default:
				t.Errorf("%s: SEND %s: %d %s", cv.id, text, code, body)
				return
			}
		}
		cv.mu.Lock()
		if acked {
			cv.acked = append(cv.acked, text)
		} else {
			cv.unsure = append(cv.unsure, text)
			t.Logf("%s: SEND %s unanswered after 400 tries, last %s", cv.id, text, last)
		}
		cv.mu.Unlock()
	}
}

// checkSends checks AXP's messages of cv against what the proxy said: every
// acknowledged SEND is there exactly once and in order, one never answered
// at most once.
func checkSends(t *testing.T, cv *campaignConv, msgs []engagement.Message) {
	t.Helper()
	count := map[string]int{}
	var order []string
	for _, m := range msgs {
		if m.SenderParticipantType != engagement.ParticipantCustomer {
			continue
		}
		text := m.Text()
		count[text]++
		if slices.Contains(cv.acked, text) && count[text] == 1 {
			order = append(order, text)
		}
	}
	for _, text := range cv.acked {
		if count[text] != 1 {
			var copies []string
			for _, m := range msgs {
				if m.SenderParticipantType == engagement.ParticipantCustomer && m.Text() == text {
					copies = append(copies, fmt.Sprintf("%s at %s", m.ProviderMessageID, m.ReceivedAt))
				}
			}
			t.Errorf("%s: acknowledged SEND %s is in AXP %d times: %v", cv.id, text, count[text], copies)
		}
	}
	for _, text := range cv.unsure {
		if count[text] > 1 {
			t.Errorf("%s: unanswered SEND %s is in AXP %d times", cv.id, text, count[text])
		}
	}
	if !slices.Equal(order, cv.acked) {
		t.Errorf("%s: AXP has the acknowledged SENDs in the order %v, sent %v", cv.id, order, cv.acked)
	}
}

// post is do for goroutines: it never stops the test.
func post(url string, headers map[string]string, body string) (int, string) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
