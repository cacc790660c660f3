package engagement

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttputil"
)

// recorded is one request a recordingAXP saw.
type recorded struct{ method, path, appKey string }

// recordingAXP answers every call with a plausible body and records the
// path and the appkey header of each.
type recordingAXP struct {
	mu  sync.Mutex
	got []recorded
}

func (r *recordingAXP) handle(ctx *fasthttp.RequestCtx) {
	r.mu.Lock()
	r.got = append(r.got, recorded{string(ctx.Method()), string(ctx.Path()), string(ctx.Request.Header.Peek(HeaderAppKey))})
	r.mu.Unlock()
	switch p := string(ctx.Path()); {
	case strings.HasSuffix(p, "/protocol/openid-connect/token"):
		jsonAnswer(ctx, 200, `{"access_token":"tok","expires_in":900}`)
	case strings.HasSuffix(p, "/subscriptions"):
		jsonAnswer(ctx, 200, `[]`)
	default:
		jsonAnswer(ctx, 201, sessionJSON)
	}
}

func (r *recordingAXP) requests() []recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recorded(nil), r.got...)
}

func TestGenerationDecidesPathsTokenEndpointAndAppKey(t *testing.T) {
	cases := []struct {
		name, version, appKey string
		want                  []recorded
	}{
		{"an empty version is v1beta: realm token, v1beta paths, no appkey", "", "",
			[]recorded{
				{"POST", "/auth/realms/ABCDEF/protocol/openid-connect/token", ""},
				{"POST", "/api/digital/channel/v1beta/accounts/ABCDEF/sessions", ""},
				{"GET", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions", ""},
			}},
		{"v1beta does not send an app key it was given", APIV1Beta, "key-1",
			[]recorded{
				{"POST", "/auth/realms/ABCDEF/protocol/openid-connect/token", ""},
				{"POST", "/api/digital/channel/v1beta/accounts/ABCDEF/sessions", ""},
				{"GET", "/api/digital/webhook/v1beta/accounts/ABCDEF/subscriptions", ""},
			}},
		{"v1 sends appkey on every call, the token request included", APIV1, "key-1",
			[]recorded{
				{"POST", "/api/auth/v1/ABCDEF/protocol/openid-connect/token", "key-1"},
				{"POST", "/api/digital/channel/v1/accounts/ABCDEF/sessions", "key-1"},
				{"GET", "/api/digital/webhook/v1/accounts/ABCDEF/subscriptions", "key-1"},
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recordingAXP{}
			ln := fasthttputil.NewInmemoryListener()
			srv := &fasthttp.Server{Handler: rec.handle}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Shutdown(); _ = ln.Close() })
			c, err := NewClient(Config{BaseURL: "http://axp.test", AccountID: testAccount, ClientID: "id", ClientSecret: "secret",
				APIVersion: tc.version, AppKey: tc.appKey, Timeout: 2 * time.Second,
				Dial: func(string, time.Duration) (net.Conn, error) { return ln.Dial() }})
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			if _, err := c.CreateSession(ctx, &CreateSession{ChannelProviderID: "cp", CustomerIdentifiers: CustomerIdentifiers{"emailAddresses": {"a@b.c"}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := c.ListSubscriptions(ctx, ""); err != nil {
				t.Fatal(err)
			}
			got := rec.requests()
			if len(got) != len(tc.want) {
				t.Fatalf("requests = %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("request %d = %+v, want %+v", i, got[i], tc.want[i])
				}
			}
			wantVersion := tc.version
			if wantVersion == "" {
				wantVersion = APIV1Beta
			}
			if c.APIVersion() != wantVersion {
				t.Errorf("APIVersion() = %q, want %q", c.APIVersion(), wantVersion)
			}
		})
	}
}

func TestNewClientRefusesAGenerationItCannotSpeak(t *testing.T) {
	cases := []struct {
		name, version, appKey, wantErr string
	}{
		{"v1 without an app key", APIV1, "", "Config.AppKey is required"},
		{"an unknown version", "v2", "k", `Config.APIVersion "v2"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewClient(Config{BaseURL: "http://axp.test", AccountID: testAccount, ClientID: "id", ClientSecret: "s",
				APIVersion: tc.version, AppKey: tc.appKey})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("NewClient() = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}
