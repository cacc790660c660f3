package e2e

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fdLimit is the open-file limit the proxy runs under in these tests.
const fdLimit = 256

// startFDLimitedProxy runs connector-proxy under `ulimit -n fdLimit`
// against sim, configured through the environment only; extra adds or
// overrides variables.
func startFDLimitedProxy(t *testing.T, s *sim, extra ...string) *proxy {
	t.Helper()
	port, adminPort := freePort(t), freePort(t)
	p := &proxy{id: "fd-limited", URL: "http://" + addr(port), Admin: "http://" + addr(adminPort), port: port, admin: adminPort, dataDir: t.TempDir()}
	env := append([]string{
		"CONNECTOR_PROXY_LISTEN=" + addr(port),
		"CONNECTOR_PROXY_ADMIN_LISTEN=" + addr(adminPort),
		"CONNECTOR_PROXY_PUBLIC_URL=" + p.URL,
		"CONNECTOR_PROXY_DATA_DIR=" + p.dataDir,
		"CONNECTOR_PROXY_SHUTDOWN_TIMEOUT=2s",
		"CONNECTOR_PROXY_LOG_FORMAT=text",
		"CONNECTOR_PROXY_AXP_BASE_URL=" + s.URL,
		"CONNECTOR_PROXY_AXP_ACCOUNT_ID=" + axpAccount,
		"CONNECTOR_PROXY_AXP_CLIENT_ID=" + axpClientID,
		"CONNECTOR_PROXY_AXP_CLIENT_SECRET=" + axpClientSecret,
		"CONNECTOR_PROXY_AXP_CHANNEL_PROVIDER_ID=" + provider,
		"CONNECTOR_PROXY_AXP_TIMEOUT=5s",
		// Every test connection comes from 127.0.0.1: the per-address cap
		// would refuse them long before the descriptors run out.
		"CONNECTOR_PROXY_LIMITS_MAX_CONNS_PER_IP=0",
	}, append(proxyGenerationEnv(t), extra...)...)
	// exec keeps the pid, so the harness's SIGKILL reaches the proxy.
	p.process = startProcess(t, p.id, "sh", []string{"-c", "ulimit -n " + strconv.Itoa(fdLimit) + ` && exec "$0"`, binaries.proxy}, env)
	p.waitReady(t)
	return p
}

// flood opens n connections to addr and sends half a request on each,
// as the client of issue 14 did; every one is closed at the test's end.
func flood(t *testing.T, addr string, n int) []net.Conn {
	t.Helper()
	conns := make([]net.Conn, 0, n)
	for range n {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", len(conns), err)
		}
		_, _ = c.Write([]byte("POST /api/customer/init HTTP/1.1\r\nHost: proxy\r\n"))
		conns = append(conns, c)
	}
	t.Cleanup(func() { closeAll(conns) })
	return conns
}

func closeAll(conns []net.Conn) {
	for _, c := range conns {
		c.Close()
	}
}

// shed counts the connections the server closed, waiting at most wait for
// each of the first ones.
func shed(conns []net.Conn, wait time.Duration) int {
	n := 0
	for _, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(wait))
		var b [1]byte
		_, err := c.Read(b[:])
		var ne net.Error
		if err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
			n++
		}
	}
	return n
}

func (p *proxy) alive(t *testing.T) {
	t.Helper()
	select {
	case <-p.done:
		t.Fatalf("the proxy exited:\n%s", tail(p.out.String(), 40))
	default:
	}
}

// initWorks is one init through the public listener.
func (p *proxy) initWorks(t *testing.T) (bool, string) {
	code, body := do(t, "POST", p.URL+"/api/customer/init", map[string]string{"Content-Type": "application/json"},
		`{"channel":"web","email":"fd@example.com"}`)
	return code == 200, fmt.Sprintf("%d %s", code, body)
}

// TestMoreConnectionsThanFileDescriptors floods a proxy limited to 256
// open files with 400 half-sent requests from one client. With the cap
// derived from the limit, the excess is shed at once and the admin port
// answers throughout; with the cap set past the limit, accept runs out of
// descriptors and waits it out. Either way the process keeps running and
// serves again once the flood's connections close.
func TestMoreConnectionsThanFileDescriptors(t *testing.T) {
	s := startSim(t)
	t.Run("cap derived from the limit sheds the excess", func(t *testing.T) {
		p := startFDLimitedProxy(t, s)
		conns := flood(t, addr(p.port), 400)
		eventually(t, "the excess to be refused", func() (bool, string) {
			n := p.metric(t, `connector_proxy_http_connections_refused_total{reason="max_conns"}`)
			return n > 0, fmt.Sprint(n)
		})
		if n := shed(conns[len(conns)-50:], 2*time.Second); n != 50 {
			t.Errorf("%d of the last 50 connections were closed by the proxy, want all", n)
		}
		p.alive(t)
		if code, body := p.readyz(t); code != 200 {
			t.Errorf("readyz while the public listener is full: %d %s", code, body)
		}
		if ok, _ := p.initWorks(t); ok {
			t.Error("an init was served while the cap was reached: nothing was shed")
		}
		closeAll(conns)
		eventually(t, "an init to be served after the flood", func() (bool, string) { return p.initWorks(t) })
		p.alive(t)
	})
	t.Run("past the limit accept waits until descriptors are free", func(t *testing.T) {
		p := startFDLimitedProxy(t, s, "CONNECTOR_PROXY_LIMITS_MAX_CONNS=100000")
		conns := flood(t, addr(p.port), 400)
		// Admin cannot accept either while no descriptor is free, so the
		// count is read once the flood ends; the proxy's warning (logged
		// once a minute at most) says it ran out.
		deadline := time.Now().Add(waitFor)
		for !strings.Contains(p.out.String(), "too many open files") {
			p.alive(t)
			if time.Now().After(deadline) {
				t.Fatalf("accept never ran out of descriptors:\n%s", tail(p.out.String(), 20))
			}
			time.Sleep(25 * time.Millisecond)
		}
		p.alive(t)
		closeAll(conns)
		eventually(t, "an init to be served after the flood", func() (bool, string) { return p.initWorks(t) })
		if n := p.metric(t, `connector_proxy_http_accept_errors_total{reason="fd_limit"}`); n == 0 {
			t.Error("accept errors for the fd limit were not counted")
		}
		p.waitReady(t)
		p.alive(t)
	})
}
