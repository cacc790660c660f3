package e2e

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Identities the tests configure.
const (
	axpAccount      = "ABCDEF"
	axpClientID     = "e2e-client"
	axpClientSecret = "e2e-secret"
	provider        = "e2e-provider"
	lpAccount       = "le12345678"
	appID           = "e2e-app"
	appSecret       = "e2e-app-secret"
	connectorSecret = "e2e-connector-secret"
	// waitFor bounds every wait for something to happen.
	waitFor = 20 * time.Second
)

// binaries are built once by TestMain; set there and only read after.
var binaries struct{ proxy, sim string }

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "connector-proxy-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	build := exec.Command("go", "build", "-o", dir, "./cmd/connector-proxy", "./cmd/engagement-sim")
	build.Dir = filepath.Join("..", "..")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: go build: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	binaries.proxy = filepath.Join(dir, "connector-proxy")
	binaries.sim = filepath.Join(dir, "engagement-sim")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// lockedBuffer collects a process's output from its two pipes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// process is one child process of a test.
type process struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	done chan struct{}
}

// startProcess runs bin; it is killed at the test's cleanup, and its output
// printed if the test failed.
func startProcess(t *testing.T, name, bin string, args, env []string) *process {
	t.Helper()
	p := &process{t: t, name: name, out: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		p.kill()
		if t.Failed() {
			t.Logf("---- output of %s ----\n%s", name, tail(p.out.String(), 150))
		}
	})
	return p
}

func tail(s string, lines int) string {
	all := strings.Split(s, "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

// kill ends the process with SIGKILL, as a crash or an OOM kill would.
func (p *process) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.t.Errorf("%s did not die after SIGKILL", p.name)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

var httpClient = &http.Client{Timeout: 10 * time.Second}

// do sends one request and returns status and body; a transport error is
// status 0.
func do(t *testing.T, method, url string, headers map[string]string, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// eventually polls cond until it holds, or fails the test after waitFor.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s: %s", waitFor, what, detail)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// sim is an engagement-sim process whose agent the test drives.
type sim struct {
	*process
	URL     string
	faulted time.Time // when the last fault was added
}

// startSim runs the simulator with the tests' identities; extra flags come
// after (and so win over) the defaults.
func startSim(t *testing.T, extra ...string) *sim {
	t.Helper()
	port := freePort(t)
	p := startProcess(t, "engagement-sim", binaries.sim, append([]string{
		"-addr", addr(port), "-auto-agent=false", "-client-id", axpClientID, "-client-secret", axpClientSecret,
		"-redelivery-delay", "200ms", "-max-delivery-attempts", "30",
	}, extra...), simGenerationEnv(t))
	s := &sim{process: p, URL: "http://" + addr(port)}
	eventually(t, "the simulator to answer", func() (bool, string) {
		code, body := do(t, "GET", s.URL+"/sim/health", nil, "")
		return code == 200, string(body)
	})
	return s
}

// agent makes the simulator's agent act on an engagement.
func (s *sim) agent(t *testing.T, engagementID, action, body string) {
	t.Helper()
	code, out := do(t, "POST", s.URL+"/sim/accounts/"+axpAccount+"/engagements/"+engagementID+":"+action,
		map[string]string{"Content-Type": "application/json"}, body)
	if code/100 != 2 {
		t.Fatalf("sim %s: %d %s", action, code, out)
	}
}

// engagementOf finds the engagement the proxy made for a conversation:
// the simulator lists them oldest first, and each test's conversations are
// made one after another.
func (s *sim) engagements(t *testing.T) []string {
	t.Helper()
	code, body := do(t, "GET", s.URL+"/sim/accounts/"+axpAccount+"/engagements", nil, "")
	var list []struct {
		EngagementID string `json:"engagementId"`
	}
	if code != 200 || json.Unmarshal(body, &list) != nil {
		t.Fatalf("sim engagements: %d %s", code, body)
	}
	ids := make([]string, 0, len(list))
	for _, e := range list {
		ids = append(ids, e.EngagementID)
	}
	return ids
}

// newest returns the engagement made by fn, which must make exactly one.
func (s *sim) newest(t *testing.T, fn func()) string {
	t.Helper()
	before := len(s.engagements(t))
	fn()
	after := s.engagements(t)
	if len(after) != before+1 {
		t.Fatalf("%d engagements made, want 1", len(after)-before)
	}
	return after[len(after)-1]
}

// hooks is the connector's webhook receiver: it answers status (200 unless
// set) and records what it accepted.
type hooks struct {
	srv      *httptest.Server
	mu       sync.Mutex
	status   int
	attempts int
	got      []notification
}

// notification is a received webhook, decoded loosely.
type notification struct {
	At   time.Time `json:"-"`
	Type string    `json:"type"`
	Body struct {
		Changes []struct {
			ConversationID string `json:"conversationId"`
			Sequence       int    `json:"sequence"`
			Event          struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"event"`
			Result struct {
				ConvID              string `json:"convId"`
				ConversationDetails struct {
					State        string `json:"state"`
					Participants []struct {
						ID   string `json:"id"`
						Role string `json:"role"`
					} `json:"participants"`
				} `json:"conversationDetails"`
			} `json:"result"`
		} `json:"changes"`
	} `json:"body"`
}

func startHooks(t *testing.T) *hooks {
	h := &hooks{status: 200}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		h.attempts++
		if h.status != 200 {
			w.WriteHeader(h.status)
			return
		}
		var n notification
		if err := json.Unmarshal(body, &n); err != nil || len(n.Body.Changes) != 1 {
			t.Errorf("notification %s: %v", body, err)
		}
		n.At = time.Now()
		h.got = append(h.got, n)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hooks) setStatus(s int) { h.mu.Lock(); h.status = s; h.mu.Unlock() }

func (h *hooks) attemptCount() int { h.mu.Lock(); defer h.mu.Unlock(); return h.attempts }

// messages returns the agent texts delivered for conv, in arrival order.
func (h *hooks) messages(conv string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, n := range h.got {
		if c := n.Body.Changes[0]; n.Type == "ms.MessagingEventNotification" && c.ConversationID == conv {
			out = append(out, c.Event.Message)
		}
	}
	return out
}

// states returns the conversation states the receiver was told of for
// conv, in arrival order, each with the roles then in the conversation.
func (h *hooks) states(conv string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, n := range h.got {
		r := n.Body.Changes[0].Result
		if n.Type != "cqm.ExConversationChangeNotification" || r.ConvID != conv {
			continue
		}
		var roles []string
		for _, p := range r.ConversationDetails.Participants {
			roles = append(roles, p.Role)
		}
		out = append(out, r.ConversationDetails.State+fmt.Sprint(roles))
	}
	return out
}

// contentCount is how many agent messages the receiver took, repeats
// included.
func (h *hooks) contentCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, got := range h.got {
		if got.Type == "ms.MessagingEventNotification" {
			n++
		}
	}
	return n
}

// repeat is a notification that arrived again: again is its text and
// sequence, last the last one before it.
type repeat struct{ again, last string }

// contentLog returns conv's agent texts as a LivePerson connector sees
// them, one per sequence number in arrival order, and the repeats it
// recognised by their sequence.
func (h *hooks) contentLog(conv string) ([]string, []repeat) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var texts []string
	var reps []repeat
	seen := map[int]string{}
	last := ""
	for _, n := range h.got {
		c := n.Body.Changes[0]
		if n.Type != "ms.MessagingEventNotification" || c.ConversationID != conv {
			continue
		}
		key := fmt.Sprintf("%s#%d", c.Event.Message, c.Sequence)
		if prev, ok := seen[c.Sequence]; ok {
			if prev != c.Event.Message {
				key += " (sequence of " + prev + ")"
			}
			reps = append(reps, repeat{again: key, last: last})
			continue
		}
		seen[c.Sequence] = c.Event.Message
		texts = append(texts, c.Event.Message)
		last = key
	}
	return texts, reps
}

// waitMessages waits until conv's webhook got want, in order; a
// re-delivery of the message just before is allowed (at least once).
func (h *hooks) waitMessages(t *testing.T, conv string, want ...string) {
	t.Helper()
	eventually(t, fmt.Sprintf("webhook messages %v of %s", want, conv), func() (bool, string) {
		got := h.messages(conv)
		next := 0
		for _, m := range got {
			switch {
			case next < len(want) && m == want[next]:
				next++
			case next > 0 && m == want[next-1]:
			default:
				t.Fatalf("out of order: got %q while waiting for %q (all %v)", m, want[min(next, len(want)-1)], got)
			}
		}
		return next == len(want), fmt.Sprint(got)
	})
}

// writeKey makes the AppJWT signing key that replicas share.
func writeKey(t *testing.T, dir string) string {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "appjwt.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func randomToken(t *testing.T) string {
	t.Helper()
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// cluster is what the replicas of one test share.
type cluster struct {
	sim          *sim
	hooks        *hooks
	keyFile      string
	webhookToken string
	redisURL     string   // empty: the embedded store
	redisCluster bool     // redisURL names a Redis Cluster
	env          []string // more CONNECTOR_PROXY_ settings for every replica
	publicURL    string   // the load balancer's address that AXP calls
}

func newCluster(t *testing.T, redisURL string) *cluster {
	t.Helper()
	return &cluster{sim: startSim(t), hooks: startHooks(t), keyFile: writeKey(t, t.TempDir()),
		webhookToken: randomToken(t), redisURL: redisURL}
}

// proxy is one connector-proxy process.
type proxy struct {
	*process
	id          string
	URL, Admin  string
	port, admin int
	dataDir     string
}

// startProxy runs a replica: its configuration in a YAML file, the lease
// TTL, the replica id and the log level through the environment. A zero
// port picks a free one; dataDir empty makes a new one.
func (c *cluster) startProxy(t *testing.T, id string, port, adminPort int, dataDir string) *proxy {
	t.Helper()
	if port == 0 {
		port = freePort(t)
	}
	if adminPort == 0 {
		adminPort = freePort(t)
	}
	if dataDir == "" {
		dataDir = t.TempDir()
	}
	p := &proxy{id: id, URL: "http://" + addr(port), Admin: "http://" + addr(adminPort), port: port, admin: adminPort, dataDir: dataDir}
	public := c.publicURL
	if public == "" {
		public = p.URL
	}
	store := "  driver: bolt\n"
	if c.redisURL != "" {
		store = "  driver: redis\n  redis_url: " + c.redisURL + "\n" + fmt.Sprintf("  redis_cluster: %t\n", c.redisCluster)
	}
	yaml := fmt.Sprintf(`listen: %s
admin_listen: %s
public_url: %s
data_dir: %s
shutdown_timeout: 2s
log:
  format: text
store:
%saxp:
  base_url: %s
  account_id: %s
  client_id: %s
  client_secret: %s
  channel_provider_id: %s
  timeout: 5s
  webhook_token: %s
connector_api:
  key_file: %s
  apps:
    - client_id: %s
      client_secret: %s
      account_id: %s
      allow_insecure_webhooks: true
      webhooks:
        ms.MessagingEventNotification.ContentEvent: %s/content
        cqm.ExConversationChangeNotification: %s/conversation
customer_channel:
  connector_secret: %s
  allowed_origins: ["*"]
`, addr(port), addr(adminPort), public, dataDir, store, c.sim.URL, axpAccount, axpClientID, axpClientSecret, provider,
		c.webhookToken, c.keyFile, appID, appSecret, lpAccount, c.hooks.srv.URL, c.hooks.srv.URL, connectorSecret)
	cfgPath := filepath.Join(t.TempDir(), "connector-proxy.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p.process = startProcess(t, "connector-proxy "+id, binaries.proxy, []string{"-config", cfgPath}, append([]string{
		"CONNECTOR_PROXY_REPLICA_ID=" + id,
		"CONNECTOR_PROXY_CONNECTOR_API_LEASE_TTL=2s",
		"CONNECTOR_PROXY_LOG_LEVEL=info",
	}, append(proxyGenerationEnv(t), c.env...)...))
	p.waitReady(t)
	return p
}

// readyz returns the admin readiness answer.
func (p *proxy) readyz(t *testing.T) (int, string) {
	code, body := do(t, "GET", p.Admin+"/readyz", nil, "")
	return code, string(body)
}

func (p *proxy) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, p.name+" to be ready", func() (bool, string) {
		select {
		case <-p.done:
			t.Fatalf("%s exited:\n%s", p.name, tail(p.out.String(), 50))
		default:
		}
		code, body := p.readyz(t)
		return code == 200, body
	})
}

// firstDelivery returns when the first agent message of conv was accepted.
func (h *hooks) firstDelivery(conv string) time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, n := range h.got {
		if c := n.Body.Changes[0]; n.Type == "ms.MessagingEventNotification" && c.ConversationID == conv {
			return n.At
		}
	}
	return time.Time{}
}

// metric returns the value of one series of the proxy's /metrics, 0 when
// absent.
func (p *proxy) metric(t *testing.T, series string) float64 {
	t.Helper()
	_, body := do(t, "GET", p.Admin+"/metrics", nil, "")
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f
		}
	}
	return 0
}
