package auth

import (
	"testing"
	"time"
)

// BenchmarkVerifyAppJWTCached is the per-request cost once a token is known.
func BenchmarkVerifyAppJWTCached(b *testing.B) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(b, testKey(b), clk)
	tok := appToken(b, s, "acct1", "app-a", "secret-a")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.VerifyAppJWT("acct1", tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAppJWTUncached is a full RS256 verification.
func BenchmarkVerifyAppJWTUncached(b *testing.B) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	key := testKey(b)
	s := newService(b, key, clk)
	tok := appToken(b, s, "acct1", "app-a", "secret-a")
	b.ReportAllocs()
	for b.Loop() {
		s.appTokens.purge()
		if _, err := s.VerifyAppJWT("acct1", tok); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignWebhook(b *testing.B) {
	body := make([]byte, 600)
	b.ReportAllocs()
	for b.Loop() {
		_ = SignWebhook("secret", body)
	}
}

// BenchmarkVerifyTokensCachedBytes is what a SEND costs: both tokens from
// the cache, found by the header bytes.
func BenchmarkVerifyTokensCachedBytes(b *testing.B) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(b, testKey(b), clk)
	app := []byte(appToken(b, s, "acct1", "app-a", "secret-a"))
	claims, err := s.VerifyAppJWTBytes("acct1", app)
	if err != nil {
		b.Fatal(err)
	}
	jws, err := s.IssueConsumerJWS(claims, "consumer-1")
	if err != nil {
		b.Fatal(err)
	}
	cons := []byte(jws)
	b.ReportAllocs()
	for b.Loop() {
		claims, err := s.VerifyAppJWTBytes("acct1", app)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.VerifyConsumerJWSBytes(claims, cons); err != nil {
			b.Fatal(err)
		}
	}
}
