package auth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

var testApps = []App{
	{ClientID: "app-a", ClientSecret: "secret-a", AccountID: "acct1"},
	{ClientID: "app-b", ClientSecret: "secret-b", AccountID: "acct1"},
	{ClientID: "app-c", ClientSecret: "secret-c", AccountID: "acct2"},
}

func newService(t testing.TB, key *rsa.PrivateKey, clk *clock) *Service {
	t.Helper()
	s, err := New(Options{Apps: testApps, Key: key, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func appToken(t testing.TB, s *Service, account, id, secret string) string {
	t.Helper()
	tok, exp, err := s.IssueAppJWT(account, id, secret)
	if err != nil {
		t.Fatal(err)
	}
	if exp != 3600 {
		t.Fatalf("expires_in = %d, want 3600", exp)
	}
	return tok
}

func TestIssueAppJWTChecksCredentials(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, testKey(t), clk)
	tests := []struct {
		name                string
		account, id, secret string
		want                error
		code                int
	}{
		{"right credentials", "acct1", "app-a", "secret-a", nil, 0},
		{"missing client id", "acct1", "", "secret-a", ErrMissingParameter, CodeMissingParameter},
		{"missing secret", "acct1", "app-a", "", ErrMissingParameter, CodeMissingParameter},
		{"wrong secret", "acct1", "app-a", "secret-b", ErrBadCredentials, CodeInvalidAppJWT},
		{"unknown client", "acct1", "nope", "secret-a", ErrBadCredentials, CodeInvalidAppJWT},
		{"app of another account", "acct2", "app-a", "secret-a", ErrBadCredentials, CodeInvalidAppJWT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, _, err := s.IssueAppJWT(tt.account, tt.id, tt.secret)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil {
				var ae *Error
				if !errors.As(err, &ae) || ae.ErrorCode != tt.code {
					t.Fatalf("error %v, want errorCode %d", err, tt.code)
				}
				return
			}
			c, err := s.VerifyAppJWT(tt.account, tok)
			if err != nil {
				t.Fatalf("verify issued token: %v", err)
			}
			if c.Audience != "acct1" || c.AuthorizedParty != "app-a" || c.Scope != "msg.consumer" || c.Issuer != "Sentinel" ||
				c.ExpiresAt.Unix()-c.IssuedAt.Unix() != 3600 {
				t.Fatalf("claims %+v", c)
			}
		})
	}
}

func TestIssuedAppJWTLooksLikeLivePersons(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, testKey(t), clk)
	tok := appToken(t, s, "acct1", "app-a", "secret-a")
	parsed, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		t.Fatal(err)
	}
	if parsed.Header["alg"] != "RS256" || parsed.Header["kid"] != s.KeyID() || parsed.Header["typ"] != "JWT" {
		t.Fatalf("header %v", parsed.Header)
	}
	mc := parsed.Claims.(jwt.MapClaims)
	if mc["aud"] != "acct1" { // a string, not an array, as LivePerson sends it
		t.Fatalf("aud = %#v", mc["aud"])
	}
}

// forge signs claims with an arbitrary method and key.
func forge(t *testing.T, m jwt.SigningMethod, key any, claims jwt.Claims, kid string) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifyAppJWTRefusesBadTokens(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	key := testKey(t)
	s := newService(t, key, clk)
	good := func() *AppClaims {
		return &AppClaims{Audience: "acct1", AuthorizedParty: "app-a", Scope: Scope, Issuer: DefaultIssuer,
			IssuedAt: jwt.NewNumericDate(clk.Now()), ExpiresAt: jwt.NewNumericDate(clk.Now().Add(time.Hour))}
	}
	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	otherKey := testKey(t)

	tests := []struct {
		name  string
		token func() string
		want  error
		code  int
	}{
		{"missing", func() string { return "" }, ErrAppJWTMissing, CodeAppJWTMissing},
		{"only Bearer", func() string { return "Bearer " }, ErrAppJWTMissing, CodeAppJWTMissing},
		{"garbage", func() string { return "not.a.jwt" }, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"expired", func() string {
			c := good()
			c.IssuedAt = jwt.NewNumericDate(clk.Now().Add(-2 * time.Hour))
			c.ExpiresAt = jwt.NewNumericDate(clk.Now().Add(-time.Hour))
			return forge(t, jwt.SigningMethodRS256, key, c, s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"without exp", func() string {
			c := good()
			c.ExpiresAt = nil
			return forge(t, jwt.SigningMethodRS256, key, c, s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"signed by another key", func() string {
			return forge(t, jwt.SigningMethodRS256, otherKey, good(), s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"alg none", func() string {
			return forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good(), s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"HS256 signed with the public key", func() string {
			return forge(t, jwt.SigningMethodHS256, pubPEM, good(), s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"HS256 signed with the public key DER", func() string {
			return forge(t, jwt.SigningMethodHS256, pubDER, good(), "")
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"audience of another account", func() string {
			c := good()
			c.Audience = "acct2"
			return forge(t, jwt.SigningMethodRS256, key, c, s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"wrong issuer", func() string {
			c := good()
			c.Issuer = "Mallory"
			return forge(t, jwt.SigningMethodRS256, key, c, s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"wrong scope", func() string {
			c := good()
			c.Scope = "admin"
			return forge(t, jwt.SigningMethodRS256, key, c, s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"app not configured", func() string {
			c := good()
			c.AuthorizedParty = "ghost"
			return forge(t, jwt.SigningMethodRS256, key, c, s.KeyID())
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"unknown kid", func() string {
			return forge(t, jwt.SigningMethodRS256, key, good(), "other-kid")
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
		{"a ConsumerJWS used as AppJWT", func() string {
			app, _ := s.VerifyAppJWT("acct1", appToken(t, s, "acct1", "app-a", "secret-a"))
			j, err := s.IssueConsumerJWS(app, "ext-1")
			if err != nil {
				t.Fatal(err)
			}
			return j
		}, ErrInvalidAppJWT, CodeInvalidAppJWT},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.VerifyAppJWT("acct1", tt.token())
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.ErrorCode != tt.code || ae.Status != 401 {
				t.Fatalf("err %v: want 401 with errorCode %d", err, tt.code)
			}
		})
	}
}

func TestCachedAppJWTIsNotTrustedPastExp(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, testKey(t), clk)
	tok := appToken(t, s, "acct1", "app-a", "secret-a")
	if _, err := s.VerifyAppJWT("acct1", tok); err != nil {
		t.Fatal(err)
	}
	clk.Advance(59 * time.Minute)
	if _, err := s.VerifyAppJWT("acct1", "Bearer "+tok); err != nil {
		t.Fatalf("within its hour, with a Bearer prefix: %v", err)
	}
	if _, err := s.VerifyAppJWT("acct2", tok); !errors.Is(err, ErrInvalidAppJWT) {
		t.Fatalf("cached token on another account's path: err = %v", err)
	}
	clk.Advance(2 * time.Minute)
	if _, err := s.VerifyAppJWT("acct1", tok); !errors.Is(err, ErrInvalidAppJWT) {
		t.Fatalf("a minute past exp: err = %v, want invalid", err)
	}
}

func TestConsumerJWS(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	key := testKey(t)
	s := newService(t, key, clk)
	verify := func(acct, id, secret string) *AppClaims {
		c, err := s.VerifyAppJWT(acct, appToken(t, s, acct, id, secret))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	appA, appB, appC := verify("acct1", "app-a", "secret-a"), verify("acct1", "app-b", "secret-b"), verify("acct2", "app-c", "secret-c")

	jws1, err := s.IssueConsumerJWS(appA, "ext-1")
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(10 * time.Second)
	jws1again, _ := s.IssueConsumerJWS(appA, "ext-1")
	jws2, _ := s.IssueConsumerJWS(appA, "ext-2")
	c1, err := s.VerifyConsumerJWS(appA, jws1)
	if err != nil {
		t.Fatal(err)
	}
	c1b, err := s.VerifyConsumerJWS(appA, jws1again)
	if err != nil {
		t.Fatal(err)
	}
	c2, _ := s.VerifyConsumerJWS(appA, jws2)
	if c1.ConsumerID != c1b.ConsumerID || c1.ConsumerID == c2.ConsumerID || len(c1.ConsumerID) != 64 {
		t.Fatalf("consumer ids: same ext %s %s, other ext %s", c1.ConsumerID, c1b.ConsumerID, c2.ConsumerID)
	}
	if c1.ExtConsumerID != "ext-1" {
		t.Fatalf("ext id %q", c1.ExtConsumerID)
	}

	t.Run("never expires", func(t *testing.T) {
		clk.Advance(365 * 24 * time.Hour)
		fresh := newService(t, key, clk) // no cache: a full verification
		if _, err := fresh.VerifyConsumerJWS(appA, jws1); err != nil {
			t.Fatalf("a year later: %v", err)
		}
	})

	bad := []struct {
		name  string
		app   *AppClaims
		token string
		want  error
		code  int
	}{
		{"missing", appA, "", ErrConsumerJWSMissing, CodeConsumerJWSMissing},
		{"garbage", appA, "abc", ErrInvalidConsumerJWS, CodeInvalidConsumerJWS},
		{"another app of the account", appB, jws1, ErrInvalidConsumerJWS, CodeInvalidConsumerJWS},
		{"another account", appC, jws1, ErrInvalidConsumerJWS, CodeInvalidConsumerJWS},
		{"an AppJWT used as ConsumerJWS", appA, appToken(t, s, "acct1", "app-a", "secret-a"), ErrInvalidConsumerJWS, CodeInvalidConsumerJWS},
		{"alg none", appA, forge(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType,
			&ConsumerClaims{AccountID: "acct1", ClientID: "app-a", ExtConsumerID: "x", ConsumerID: ConsumerID("acct1", "app-a", "x"), Issuer: DefaultIssuer}, ""),
			ErrInvalidConsumerJWS, CodeInvalidConsumerJWS},
		{"forged consumer id", appA, forge(t, jwt.SigningMethodRS256, key,
			&ConsumerClaims{AccountID: "acct1", ClientID: "app-a", ExtConsumerID: "x", ConsumerID: c1.ConsumerID, Issuer: DefaultIssuer}, s.KeyID()),
			ErrInvalidConsumerJWS, CodeInvalidConsumerJWS},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.VerifyConsumerJWS(tt.app, tt.token)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			var ae *Error
			if !errors.As(err, &ae) || ae.ErrorCode != tt.code || ae.Status != 401 {
				t.Fatalf("err %v: want errorCode %d", err, tt.code)
			}
		})
	}
	if _, err := s.IssueConsumerJWS(appA, "  "); !errors.Is(err, ErrMissingParameter) {
		t.Fatalf("blank ext id: %v", err)
	}
}

func TestKeyIsGeneratedOnceIntoTheDataDir(t *testing.T) {
	dir := t.TempDir()
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s1, err := New(Options{Apps: testApps, DataDir: dir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	tok := appToken(t, s1, "acct1", "app-a", "secret-a")
	s2, err := New(Options{Apps: testApps, DataDir: dir, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s2.VerifyAppJWT("acct1", tok); err != nil {
		t.Fatalf("token from before the restart: %v", err)
	}
	s3, err := New(Options{Apps: testApps, KeyFile: filepath.Join(dir, KeyFileName), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	if s3.KeyID() != s1.KeyID() {
		t.Fatal("key file and data dir give different keys")
	}
}

func TestNewRefusesBadConfiguration(t *testing.T) {
	key := testKey(t)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no key source", Options{Apps: testApps}, "neither a key file"},
		{"missing key file", Options{KeyFile: "/nonexistent/key.pem"}, "read key"},
		{"app without secret", Options{Key: key, Apps: []App{{ClientID: "a", AccountID: "x"}}}, "needs client_id"},
		{"duplicate client id", Options{Key: key, Apps: []App{testApps[0], testApps[0]}}, "twice"},
		{"unknown webhook key", Options{Key: key, Apps: []App{{ClientID: "a", ClientSecret: "s", AccountID: "x", Webhooks: map[string]string{"foo": "https://h/"}}}}, "unknown webhook key"},
		{"remote plain http webhook", Options{Key: key, Apps: []App{{ClientID: "a", ClientSecret: "s", AccountID: "x", Webhooks: map[string]string{WebhookContentEvent: "http://example.com/h"}}}}, "plain http"},
		{"retention too long", Options{Key: key, Apps: []App{{ClientID: "a", ClientSecret: "s", AccountID: "x", Retention: 100 * time.Hour}}}, "retention"},
		{"unknown agent role", Options{Key: key, Apps: []App{{ClientID: "a", ClientSecret: "s", AccountID: "x", AgentRole: "BOSS"}}}, "agent_role"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	s, err := New(Options{Key: key, Apps: []App{{ClientID: "a", ClientSecret: "s", AccountID: "x",
		Webhooks: map[string]string{WebhookContentEvent: "http://127.0.0.1:9/h", WebhookConversationChange: "https://example.com/h"}}}})
	if err != nil {
		t.Fatalf("loopback http and remote https: %v", err)
	}
	a, _ := s.App("x", "a")
	if a.Retention != DefaultRetention || a.AgentRole != RoleAssignedAgent {
		t.Fatalf("defaults not filled: %+v", a)
	}
}
