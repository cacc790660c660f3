package auth

import (
	"strings"
	"testing"
	"time"
)

// FuzzVerifyTokens feeds arbitrary strings to both verifiers: none may
// panic, and none but the tokens we issued may pass.
func FuzzVerifyTokens(f *testing.F) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(f, testKey(f), clk)
	app := appToken(f, s, "acct1", "app-a", "secret-a")
	claims, err := s.VerifyAppJWT("acct1", app)
	if err != nil {
		f.Fatal(err)
	}
	jws, err := s.IssueConsumerJWS(claims, "ext")
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range []string{app, jws, "", "a.b.c", "Bearer " + app, app + "x", strings.Replace(app, ".", "..", 1),
		"eyJhbGciOiJub25lIn0.e30.", "eyJhbGciOiJIUzI1NiJ9.e30.AAAA"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		if c, err := s.VerifyAppJWT("acct1", tok); err == nil {
			if BearerToken(tok) != app {
				t.Fatalf("accepted a token we did not issue: %q (%+v)", tok, c)
			}
		}
		if c, err := s.VerifyConsumerJWS(claims, tok); err == nil {
			if strings.TrimSpace(tok) != jws {
				t.Fatalf("accepted a consumer token we did not issue: %q (%+v)", tok, c)
			}
		}
	})
}
