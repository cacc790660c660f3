package auth

import (
	"errors"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A token whose nbf lies ahead of the injected clock by more than the
// leeway is refused, and the same token is accepted once that time came.
func TestTokensAreRefusedBeforeTheirNotBefore(t *testing.T) {
	tests := []struct {
		name   string
		nbf    time.Duration // from the clock's now
		wantOK bool
	}{
		{"nbf in the past", -time.Minute, true},
		{"nbf now", 0, true},
		{"nbf within the leeway", DefaultLeeway - time.Second, true},
		{"nbf past the leeway", DefaultLeeway + time.Second, false},
		{"nbf an hour ahead", time.Hour, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{t: time.Unix(1_700_000_000, 0)}
			key := testKey(t)
			s := newService(t, key, clk)
			now := clk.Now()
			app := &AppClaims{Audience: "acct1", AuthorizedParty: "app-a", Scope: Scope, Issuer: DefaultIssuer,
				IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(2 * time.Hour)),
				NotBefore: jwt.NewNumericDate(now.Add(tt.nbf))}
			appTok := forge(t, jwt.SigningMethodRS256, key, app, s.KeyID())
			cons := &ConsumerClaims{AccountID: "acct1", ClientID: "app-a", ExtConsumerID: "x",
				ConsumerID: ConsumerID("acct1", "app-a", "x"), Issuer: DefaultIssuer,
				IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now.Add(tt.nbf))}
			consTok := forge(t, jwt.SigningMethodRS256, key, cons, s.KeyID())

			_, err := s.VerifyAppJWT("acct1", appTok)
			if tt.wantOK != (err == nil) {
				t.Fatalf("AppJWT: err = %v, want ok = %v", err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, ErrInvalidAppJWT) {
				t.Fatalf("AppJWT: err = %v, want ErrInvalidAppJWT", err)
			}
			verifiedApp := &AppClaims{Audience: "acct1", AuthorizedParty: "app-a"}
			_, err = s.VerifyConsumerJWS(verifiedApp, consTok)
			if tt.wantOK != (err == nil) {
				t.Fatalf("ConsumerJWS: err = %v, want ok = %v", err, tt.wantOK)
			}
			if err != nil && !errors.Is(err, ErrInvalidConsumerJWS) {
				t.Fatalf("ConsumerJWS: err = %v, want ErrInvalidConsumerJWS", err)
			}
			if tt.wantOK {
				return
			}
			// The refusal was not cached: once the clock reaches nbf both pass.
			clk.Advance(tt.nbf)
			if _, err := s.VerifyAppJWT("acct1", appTok); err != nil {
				t.Fatalf("AppJWT at its nbf: %v", err)
			}
			if _, err := s.VerifyConsumerJWS(verifiedApp, consTok); err != nil {
				t.Fatalf("ConsumerJWS at its nbf: %v", err)
			}
		})
	}
}
