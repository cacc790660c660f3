package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/connector-proxy/connector-proxy/config"
)

// TestOversizeRequestsAreRefusedInTheirFacesFormat sends each face a body
// over the 4 MiB limit and a head over 16 KiB, writing the whole request
// before reading as naive clients do: the answer (413, 431) must arrive,
// whole, in that face's format, rather than a reset.
func TestOversizeRequestsAreRefusedInTheirFacesFormat(t *testing.T) {
	p, _ := startDemo(t)
	waitReady(t, p)
	faces := []struct {
		name, method, path string
		check              func(t *testing.T, status int, contentType string, body []byte)
	}{
		{"Connector API", "POST", "/api/account/" + config.DemoAccount + "/messaging/consumer/conversation/send?v=3", func(t *testing.T, status int, ct string, body []byte) {
			var e struct {
				Kind string
				Code int
				Type string
				Body struct {
					Title, Details string
					ErrorCode      int
				}
			}
			if json.Unmarshal(body, &e) != nil || e.Kind != "resp" || e.Code != status || e.Type != ".ReqBody$ErrorResp" ||
				e.Body.ErrorCode != status*100 || e.Body.Title == "" || e.Body.Details == "" {
				t.Errorf("not LivePerson's error body: %s", body)
			}
		}},
		{"init", "POST", "/api/customer/init", func(t *testing.T, status int, ct string, body []byte) {
			var e struct {
				Status        int
				Code, Message string
			}
			if json.Unmarshal(body, &e) != nil || e.Status != status || e.Code == "" || e.Message == "" {
				t.Errorf("not init's {status,code,message}: %s", body)
			}
		}},
		{"AXP webhook", "POST", "/webhooks/axp/some-token-of-thirty-two-characters", func(t *testing.T, status int, ct string, body []byte) {
			var e struct {
				Title  string
				Status int
				Detail string
			}
			if ct != "application/problem+json" || json.Unmarshal(body, &e) != nil || e.Status != status || e.Title == "" || e.Detail == "" {
				t.Errorf("not a problem document (%s): %s", ct, body)
			}
		}},
		{"Socket.IO polling", "POST", "/socket.io/?EIO=4&transport=polling&sid=abc", func(t *testing.T, status int, ct string, body []byte) {
			if string(body) != `{"code":3,"message":"Bad request"}` {
				t.Errorf("not an Engine.IO error: %s", body)
			}
		}},
	}
	sizes := []struct {
		name   string
		status int
		build  func(method, path string) []byte
	}{
		{"body over 4 MiB", 413, func(method, path string) []byte {
			body := strings.Repeat("x", 4<<20+100<<10)
			return []byte(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: proxy\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", method, path, len(body), body))
		}},
		{"head over 16 KiB", 431, func(method, path string) []byte {
			return []byte(fmt.Sprintf("%s %s HTTP/1.1\r\nHost: proxy\r\nCookie: %s\r\nContent-Length: 2\r\n\r\n{}", method, path, strings.Repeat("c", 20<<10)))
		}},
	}
	for _, f := range faces {
		for _, s := range sizes {
			t.Run(f.name+"/"+s.name, func(t *testing.T) {
				resp, body, err := rawExchange(t, p.PublicAddr(), s.build(f.method, f.path))
				if err != nil {
					t.Fatalf("no answer read: %v", err)
				}
				if resp.StatusCode != s.status {
					t.Fatalf("answered %d %s, want %d", resp.StatusCode, body, s.status)
				}
				if !resp.Close {
					t.Error("the answer does not close the connection")
				}
				f.check(t, s.status, resp.Header.Get("Content-Type"), body)
			})
		}
	}
	if got := metricValue(t, p, `connector_proxy_http_refusals_total{reason="body_too_large",route="send"}`); got != 1 {
		t.Errorf("body_too_large refusals of send = %v, want 1", got)
	}
	if got := metricValue(t, p, `connector_proxy_http_refusals_total{reason="head_too_large",route="init"}`); got != 1 {
		t.Errorf("head_too_large refusals of init = %v, want 1", got)
	}
}

// TestLargestConsumerJWSIsUsable: with the smallest head limit the proxy
// can be set to, the ConsumerJWS of the longest ext_consumer_id it accepts
// (made of characters JSON escapes six-fold) works on CONVERSATION and
// SEND; one byte more is refused when the token is asked for.
func TestLargestConsumerJWSIsUsable(t *testing.T) {
	p, _ := startDemo(t, fmt.Sprintf("CONNECTOR_PROXY_LIMITS_MAX_HEADER_BYTES=%d", config.MinHeaderBytes))
	waitReady(t, p)
	base := "http://" + p.PublicAddr()
	app, jws := demoTokens(t, base, strings.Repeat("<", 512))
	if len(jws) < 4000 {
		t.Fatalf("the ConsumerJWS is only %d bytes: not the worst case", len(jws))
	}
	h := map[string]string{"Authorization": app, "X-LP-ON-BEHALF": jws,
		"Client-Properties": `{"type":".ClientProperties","features":["AUTO_MESSAGES","RICH_CONTENT","CO_BROWSE","PHOTO_SHARING","QUICK_REPLIES","MARKDOWN_HYPERLINKS"]}`,
		"User-Agent":        strings.Repeat("Mozilla/5.0 ", 20)}
	code, _, body := post(t, base+"/api/account/"+config.DemoAccount+"/messaging/consumer/conversation?v=3", h, conversationRequest)
	var opened []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		}
	}
	if code != 200 || json.Unmarshal(body, &opened) != nil || len(opened) != 2 || opened[1].Body.ConversationID == "" {
		t.Fatalf("CONVERSATION with the largest ConsumerJWS: %d %s", code, body)
	}
	code, _, body = post(t, base+"/api/account/"+config.DemoAccount+"/messaging/consumer/conversation/send?v=3", h,
		`{"kind":"req","id":"3","type":"ms.PublishEvent","body":{"dialogId":"`+opened[1].Body.ConversationID+`","event":{"type":"ContentEvent","contentType":"text/plain","message":"hello"}}}`)
	if code != 200 || !strings.Contains(string(body), `"sequence"`) {
		t.Fatalf("SEND with the largest ConsumerJWS: %d %s", code, body)
	}

	b, _ := json.Marshal(map[string]string{"ext_consumer_id": strings.Repeat("<", 513)})
	code, _, body = post(t, base+"/api/account/"+config.DemoAccount+"/consumer?v=1.0", map[string]string{"Authorization": app}, string(b))
	if code != 400 || !strings.Contains(string(body), `"field":"ext_consumer_id"`) {
		t.Fatalf("a 513-byte ext_consumer_id: %d %s, want 400 naming the field", code, body)
	}
}
