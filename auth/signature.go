package auth

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"hash"
	"strings"
)

// SignatureHeader is the header a notification's signature travels in.
const SignatureHeader = "x-liveperson-signature"

// SignWebhook returns the x-liveperson-signature value of a notification:
// "sha1=" + base64(HMAC-SHA1(client secret, raw body)), as LivePerson signs.
func SignWebhook(secret string, body []byte) string {
	m := hmac.New(sha1.New, []byte(secret))
	m.Write(body)
	return "sha1=" + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// VerifyWebhook checks a signature over the raw body, accepting sha1= and
// sha256= in base64 or hex (the forms LivePerson may be configured to send),
// comparing in constant time.
func VerifyWebhook(secret string, body []byte, signature string) bool {
	alg, enc, ok := strings.Cut(strings.TrimSpace(signature), "=")
	if !ok {
		return false
	}
	var h func() hash.Hash
	switch strings.ToLower(alg) {
	case "sha1":
		h = sha1.New
	case "sha256":
		h = sha256.New
	default:
		return false
	}
	m := hmac.New(h, []byte(secret))
	m.Write(body)
	want := m.Sum(nil)
	if got, err := base64.StdEncoding.DecodeString(enc); err == nil && hmac.Equal(got, want) {
		return true
	}
	if got, err := hex.DecodeString(enc); err == nil && hmac.Equal(got, want) {
		return true
	}
	return false
}
