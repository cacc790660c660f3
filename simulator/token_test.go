package simulator

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

func TestTokenEndpointAcceptsOnlyConfiguredClientCredentials(t *testing.T) {
	srv := startSim(t, Config{ClientID: "my-client", ClientSecret: "s3cret"})
	cases := []struct {
		name, realm, form, basic string
		status                   int
		oauthErr                 string
	}{
		{"form credentials", "ABCDEF", "grant_type=client_credentials&client_id=my-client&client_secret=s3cret", "", 200, ""},
		{"basic credentials", "xyzXYZ", "grant_type=client_credentials&scope=email+profile", "my-client:s3cret", 200, ""},
		{"wrong secret", "ABCDEF", "grant_type=client_credentials&client_id=my-client&client_secret=nope", "", 401, "invalid_client"},
		{"wrong basic secret", "ABCDEF", "grant_type=client_credentials", "my-client:nope", 401, "invalid_client"},
		{"no credentials", "ABCDEF", "grant_type=client_credentials", "", 401, "invalid_client"},
		{"password grant", "ABCDEF", "grant_type=password&client_id=my-client&client_secret=s3cret", "", 400, "unsupported_grant_type"},
		{"no grant", "ABCDEF", "client_id=my-client&client_secret=s3cret", "", 400, "invalid_request"},
		{"realm not six letters", "ABC123", "grant_type=client_credentials&client_id=my-client&client_secret=s3cret", "", 404, "Realm does not exist"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := postForm(t, srv.URL+"/auth/realms/"+tc.realm+"/protocol/openid-connect/token", tc.form, tc.basic)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				var e struct{ Error string }
				if err := json.Unmarshal(r.body, &e); err != nil || e.Error != tc.oauthErr {
					t.Fatalf("error %q (%v), want %q", e.Error, err, tc.oauthErr)
				}
				return
			}
			var tr engagement.TokenResponse
			if err := json.Unmarshal(r.body, &tr); err != nil {
				t.Fatal(err)
			}
			if tr.AccessToken == "" || tr.ExpiresIn != 900 || tr.TokenType != "Bearer" {
				t.Fatalf("token response %+v", tr)
			}
		})
	}
}

// fakeClock is an injected clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestBearerTokenExpiresAfterTTLOnInjectedClock(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	a := newAPI(t, Config{Now: clock.Now})
	getList := func() int { return a.webhook("GET", "/subscriptions", nil).status }

	if s := getList(); s != 200 {
		t.Fatalf("fresh token: %d", s)
	}
	clock.Add(899 * time.Second)
	if s := getList(); s != 200 {
		t.Fatalf("token at 899s: %d", s)
	}
	clock.Add(2 * time.Second)
	r := a.webhook("GET", "/subscriptions", nil)
	if r.status != 401 {
		t.Fatalf("token at 901s: %d, want 401", r.status)
	}
	if p := r.problem(t); p.Detail == "" {
		t.Fatal("401 without detail")
	}
	a.token = tokenFor(t, a.srv, acct)
	if s := getList(); s != 200 {
		t.Fatalf("refreshed token: %d", s)
	}
}

func TestAPICallsNeedABearerOfTheSameAccount(t *testing.T) {
	a := newAPI(t, Config{})
	other := tokenFor(t, a.srv, "GHIJKL")
	url := a.srv.URL + webhookBase + acct + "/subscriptions"
	cases := []struct {
		name   string
		token  string
		status int
	}{
		{"no token", "", 401},
		{"garbage token", "not-a-jwt", 401},
		{"tampered token", a.token[:len(a.token)-2] + "xx", 401},
		{"token of another realm", other, 403},
		{"token of the realm", a.token, 200},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "GET", url, tc.token, nil)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.status != 200 {
				r.problem(t)
			}
			if tc.status == 401 && r.header["Www-Authenticate"] == "" && r.header["WWW-Authenticate"] == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}
