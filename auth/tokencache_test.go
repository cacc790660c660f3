package auth

import (
	"errors"
	"testing"
	"time"
)

func TestVerifiedTokensAreCachedByTheirBytesWithinTheBound(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s, err := New(Options{Apps: testApps, Key: testKey(t), Now: clk.Now, CacheSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	var toks []string
	for range 3 {
		toks = append(toks, appToken(t, s, "acct1", "app-a", "secret-a"))
		clk.Advance(time.Second) // another iat: another token
	}
	for _, tok := range toks {
		if _, err := s.VerifyAppJWTBytes("acct1", []byte(" Bearer "+tok+" ")); err != nil {
			t.Fatal(err)
		}
	}
	if n := s.appTokens.len(); n != 2 {
		t.Fatalf("%d tokens cached, want the bound of 2", n)
	}
	// A token cached as an AppJWT is no ConsumerJWS, and a tampered one
	// is no cached token.
	if _, err := s.VerifyConsumerJWSBytes(&AppClaims{Audience: "acct1", AuthorizedParty: "app-a"}, []byte(toks[2])); !errors.Is(err, ErrInvalidConsumerJWS) {
		t.Fatalf("an AppJWT as ConsumerJWS: %v", err)
	}
	if _, err := s.VerifyAppJWTBytes("acct1", []byte(toks[2]+"x")); !errors.Is(err, ErrInvalidAppJWT) {
		t.Fatalf("a tampered token: %v", err)
	}
	if n := s.consumerTokens.len(); n != 0 {
		t.Fatalf("%d consumer tokens cached after failures", n)
	}
}
