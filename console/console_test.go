package console

import (
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
)

func TestEveryStaticFileIsServed(t *testing.T) {
	r := newRig(t, true, nil)
	var names []string
	if err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			names = append(names, strings.TrimPrefix(p, "static/"))
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(names) < 5 {
		t.Fatalf("only %d embedded files: %v", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			resp := r.do(t, "GET", Prefix+name, nil)
			if resp.StatusCode() != 200 {
				t.Fatalf("GET %s = %d (a file of a kind contentType does not know is never served)", name, resp.StatusCode())
			}
			want, _ := static.ReadFile("static/" + name)
			if string(resp.Body()) != string(want) {
				t.Fatal("body differs from the embedded file")
			}
			if ct := string(resp.Header.ContentType()); ct == "" || ct == "text/plain; charset=utf-8" {
				t.Fatalf("content type %q", ct)
			}
			for _, h := range []string{"Content-Security-Policy", "X-Content-Type-Options", "ETag", "Cache-Control"} {
				if len(resp.Header.Peek(h)) == 0 {
					t.Errorf("no %s header", h)
				}
			}
			etag := string(resp.Header.Peek("ETag"))
			if again := r.do(t, "GET", Prefix+name, nil, "If-None-Match", etag); again.StatusCode() != 304 || len(again.Body()) != 0 {
				t.Fatalf("revalidation with the ETag = %d, %d bytes", again.StatusCode(), len(again.Body()))
			}
		})
	}
}

func TestPagePathsAnswer(t *testing.T) {
	r := newRig(t, true, nil)
	index, _ := static.ReadFile("static/index.html")
	tests := []struct {
		name, method, path string
		status             int
		check              func(t *testing.T, body string, header func(string) string)
	}{
		{"the prefix serves the page", "GET", "/demo/", 200, func(t *testing.T, body string, _ func(string) string) {
			if body != string(index) {
				t.Fatal("not index.html")
			}
		}},
		{"HEAD is answered like GET", "HEAD", "/demo/console.css", 200, nil},
		{"without the slash it redirects", "GET", "/demo", 308, func(t *testing.T, _ string, h func(string) string) {
			if !strings.HasSuffix(h("Location"), "/demo/") {
				t.Fatalf("Location %q", h("Location"))
			}
		}},
		{"an unknown file is a JSON 404", "GET", "/demo/nope.js", 404, func(t *testing.T, body string, _ func(string) string) {
			if body != `{"error":"not found"}` {
				t.Fatalf("body %s", body)
			}
		}},
		{"a path outside the prefix is a 404", "GET", "/demox", 404, nil},
		{"files are read only", "POST", "/demo/index.html", 405, func(t *testing.T, _ string, h func(string) string) {
			if h("Allow") != "GET, HEAD" {
				t.Fatalf("Allow %q", h("Allow"))
			}
		}},
		{"the CSP allows nothing from elsewhere", "GET", "/demo/", 200, func(t *testing.T, _ string, h func(string) string) {
			csp := h("Content-Security-Policy")
			for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := r.do(t, tt.method, tt.path, nil)
			if resp.StatusCode() != tt.status {
				t.Fatalf("%s %s = %d, want %d: %s", tt.method, tt.path, resp.StatusCode(), tt.status, resp.Body())
			}
			if tt.check != nil {
				tt.check(t, string(resp.Body()), func(k string) string { return string(resp.Header.Peek(k)) })
			}
		})
	}
}

func TestConfigTellsThePageWhatItHas(t *testing.T) {
	for _, withSim := range []bool{true, false} {
		r := newRig(t, withSim, func(c *Config) {
			c.Page.ClientID, c.Page.Notifications = "demo-app", true
			c.Page.AgentDesk = !withSim // New decides it from Agent, whatever it was given
		})
		resp := r.do(t, "GET", "/demo/config.json", nil)
		var got PageConfig
		if err := json.Unmarshal(resp.Body(), &got); err != nil || resp.StatusCode() != 200 {
			t.Fatalf("config.json = %d %s (%v)", resp.StatusCode(), resp.Body(), err)
		}
		want := PageConfig{Demo: withSim, Account: testAccount, ClientID: "demo-app", AgentDesk: withSim, Notifications: true}
		if got != want {
			t.Fatalf("with simulator %v: config %+v, want %+v", withSim, got, want)
		}
		if cc := string(resp.Header.Peek("Cache-Control")); cc != "no-store" {
			t.Fatalf("Cache-Control %q", cc)
		}
	}
}

func TestNewNeedsSecrets(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without Secret succeeded")
	}
}
