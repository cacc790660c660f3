package auth

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// maxConsumerJWSBytes is what MaxExtConsumerIDBytes promises: with an
// AppJWT and the usual headers, a ConsumerJWS fits in config.MinHeaderBytes
// (8 KiB).
const maxConsumerJWSBytes = 5 << 10

// TestLargestConsumerJWSFits issues tokens for the longest ext_consumer_id
// accepted, made of the bytes JSON expands most, and checks each against
// the bound; it also checks that the token verifies.
func TestLargestConsumerJWSFits(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, testKey(t), clk)
	app, err := s.VerifyAppJWT("acct1", appToken(t, s, "acct1", "app-a", "secret-a"))
	if err != nil {
		t.Fatal(err)
	}
	n := MaxExtConsumerIDBytes
	tests := []struct {
		name string
		id   string
	}{
		{"plain", strings.Repeat("a", n)},
		{"HTML-escaped", strings.Repeat("<", n)}, // \u003c: 6 bytes for 1
		{"control", strings.Repeat("\x01", n)},   // \u0001
		{"line separator", strings.Repeat("x\u2028", n/4)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, err := s.IssueConsumerJWS(app, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("a %d-byte id gives a %d-byte ConsumerJWS", len(tt.id), len(tok))
			if len(tok) > maxConsumerJWSBytes {
				t.Fatalf("ConsumerJWS of a %d-byte id is %d bytes, over %d", len(tt.id), len(tok), maxConsumerJWSBytes)
			}
			if _, err := s.VerifyConsumerJWS(app, tok); err != nil {
				t.Fatalf("the token does not verify: %v", err)
			}
		})
	}
}

func TestExtConsumerIDOverTheBoundIsRefused(t *testing.T) {
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, testKey(t), clk)
	app, err := s.VerifyAppJWT("acct1", appToken(t, s, "acct1", "app-a", "secret-a"))
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.IssueConsumerJWS(app, strings.Repeat("a", MaxExtConsumerIDBytes+1))
	var ae *Error
	if !errors.Is(err, ErrBadValue) || !errors.As(err, &ae) || ae.Status != 400 {
		t.Fatalf("err = %v, want a 400 ErrBadValue", err)
	}
}

func TestExtConsumerIDOfInvalidUTF8IsRefused(t *testing.T) {
	// JSON would carry it as U+FFFD, so the token could never verify.
	clk := &clock{t: time.Unix(1_700_000_000, 0)}
	s := newService(t, testKey(t), clk)
	app, err := s.VerifyAppJWT("acct1", appToken(t, s, "acct1", "app-a", "secret-a"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.IssueConsumerJWS(app, "caf\xe9"); !errors.Is(err, ErrBadValue) {
		t.Fatalf("err = %v, want ErrBadValue", err)
	}
}
