package auth

import "testing"

func TestWebhookSignature(t *testing.T) {
	body := []byte(`{"kind":"notification","body":{"changes":[{"event":{"type":"ContentEvent","message":"héllo 😀"}}]},"type":"ms.MessagingEventNotification"}`)
	secret := "rl9hacst6kqilbofup64n11ga3"
	// Expected values computed with: printf %s "$body" | openssl dgst -sha1|-sha256 -hmac "$secret" -binary | base64 (or -hex)
	const (
		sha1B64   = "sha1=Le+nh2/2ctAcYrIUOdbYKicOdnA="
		sha1Hex   = "sha1=2defa7876ff672d01c62b21439d6d82a270e7670"
		sha256B64 = "sha256=6KSZVdOxHynUq1DO+JSscuwocyyU3Mfhq8Gq63O+iDo="
	)
	if got := SignWebhook(secret, body); got != sha1B64 {
		t.Fatalf("SignWebhook = %s, want %s", got, sha1B64)
	}
	tests := []struct {
		name, sig string
		body      []byte
		secret    string
		want      bool
	}{
		{"sha1 base64", sha1B64, body, secret, true},
		{"sha1 hex", sha1Hex, body, secret, true},
		{"sha256 base64", sha256B64, body, secret, true},
		{"wrong secret", sha1B64, body, "other", false},
		{"body changed by one byte", sha1B64, append([]byte{' '}, body...), secret, false},
		{"no prefix", sha1B64[5:], body, secret, false},
		{"unknown algorithm", "md5=" + sha1B64[5:], body, secret, false},
		{"empty", "", body, secret, false},
		{"truncated", sha1B64[:len(sha1B64)-4], body, secret, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := VerifyWebhook(tt.secret, tt.body, tt.sig); got != tt.want {
				t.Fatalf("VerifyWebhook = %v, want %v", got, tt.want)
			}
		})
	}
}
