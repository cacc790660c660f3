package connectorapi

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/connector-proxy/connector-proxy/auth"
)

func forgeAppJWT(t *testing.T, m jwt.SigningMethod, key any, kid string, now time.Time) string {
	t.Helper()
	tok := jwt.NewWithClaims(m, &auth.AppClaims{Audience: lpAccount, AuthorizedParty: appID, Scope: auth.Scope, Issuer: auth.DefaultIssuer,
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(time.Hour))})
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSecurityEveryBadTokenIs401WithNoBackendCall(t *testing.T) {
	key := genKey(t)
	s := newStack(t, stackOpts{key: key})
	a := s.newConsumer("consumer-a")
	conv := s.openConversation(a)
	b := s.newConsumer("consumer-b")

	appB := s.appJWT(lpAccount, "app-b", "secret-b")
	jwsOtherApp := s.consumerJWS(lpAccount, appB, "consumer-a")
	appC := s.appJWT("le99999999", "app-c", "secret-c")
	jwsOtherAccount := s.consumerJWS("le99999999", appC, "consumer-a")

	pubDER, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	now := s.clock.Now()
	expired := s.appJWT(lpAccount, appID, appSecret) // made now, checked two hours on

	tests := []struct {
		name      string
		app, jws  string
		errorCode int
		advance   time.Duration
	}{
		{"missing AppJWT", "", a.jws, auth.CodeAppJWTMissing, 0},
		{"AppJWT signed by another key", forgeAppJWT(t, jwt.SigningMethodRS256, genKey(t), s.tokens.KeyID(), now), a.jws, auth.CodeInvalidAppJWT, 0},
		{"AppJWT with alg none", forgeAppJWT(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, s.tokens.KeyID(), now), a.jws, auth.CodeInvalidAppJWT, 0},
		{"AppJWT HS256-signed with the public key", forgeAppJWT(t, jwt.SigningMethodHS256, pubPEM, s.tokens.KeyID(), now), a.jws, auth.CodeInvalidAppJWT, 0},
		{"AppJWT of another account", appC, a.jws, auth.CodeInvalidAppJWT, 0},
		{"missing ConsumerJWS", a.app, "", auth.CodeConsumerJWSMissing, 0},
		{"garbage ConsumerJWS", a.app, "x.y.z", auth.CodeInvalidConsumerJWS, 0},
		{"ConsumerJWS of another app", a.app, jwsOtherApp, auth.CodeInvalidConsumerJWS, 0},
		{"ConsumerJWS of another account", a.app, jwsOtherAccount, auth.CodeInvalidConsumerJWS, 0},
		{"consumer B on consumer A's conversation", b.app, b.jws, auth.CodeInvalidConsumerJWS, 0},
		{"expired AppJWT", expired, a.jws, auth.CodeInvalidAppJWT, 2 * time.Hour}, // last: it moves the clock
	}
	requests := []struct {
		name string
		send func(c consumer) (int, []byte)
	}{
		{"CONVERSATION", func(c consumer) (int, []byte) { return s.conversation(c, conversationBody) }},
		{"SEND text", func(c consumer) (int, []byte) { return s.send(c, textEnvelope("1", conv, "hi")) }},
		{"SEND CLOSE", func(c consumer) (int, []byte) { return s.send(c, closeEnvelope(`"1"`, conv)) }},
		{"SEND ChatStateEvent", func(c consumer) (int, []byte) {
			return s.send(c, `{"kind":"req","id":"1","type":"ms.PublishEvent","body":{"dialogId":"`+conv+`","event":{"type":"ChatStateEvent","chatState":"COMPOSING"}}}`)
		}},
	}
	for _, tt := range tests {
		s.clock.Advance(tt.advance)
		for _, rq := range requests {
			if tt.name == "consumer B on consumer A's conversation" && rq.name == "CONVERSATION" {
				continue // B opening B's own conversation is allowed
			}
			t.Run(tt.name+"/"+rq.name, func(t *testing.T) {
				before, engs := s.backend.calls(), s.simEngagements()
				code, body := rq.send(consumer{account: lpAccount, app: tt.app, jws: tt.jws})
				if code != 401 {
					t.Fatalf("status %d, want 401: %s", code, body)
				}
				e := decodeLPError(t, 401, body)
				if e.Body.ErrorCode != tt.errorCode {
					t.Fatalf("errorCode %d, want %d: %s", e.Body.ErrorCode, tt.errorCode, body)
				}
				// Refused after its envelope was read: the answer names the request.
				if tt.name == "consumer B on consumer A's conversation" && string(e.ReqID) != `"1"` {
					t.Fatalf("reqId %s, want \"1\": %s", e.ReqID, body)
				}
				if after := s.backend.calls(); after != before {
					t.Fatalf("%d backend calls were made", after-before)
				}
				if n := s.simEngagements(); n != engs {
					t.Fatalf("simulator engagements %d → %d", engs, n)
				}
			})
		}
	}
}

func TestTokenEndpoints(t *testing.T) {
	s := newStack(t, stackOpts{})
	tests := []struct {
		name, path, ctype, body string
		headers                 map[string]string
		status, errorCode       int
	}{
		{"credentials in the query string", "/sentinel/api/account/" + lpAccount + "/app/token?v=1.0&grant_type=client_credentials&client_id=" + appID + "&client_secret=" + appSecret, "application/x-www-form-urlencoded", "", nil, 200, 0},
		{"credentials in the form", "/sentinel/api/account/" + lpAccount + "/app/token?v=1.0&grant_type=client_credentials", "application/x-www-form-urlencoded", "client_id=" + appID + "&client_secret=" + appSecret, nil, 200, 0},
		{"wrong secret", "/sentinel/api/account/" + lpAccount + "/app/token?grant_type=client_credentials", "application/x-www-form-urlencoded", "client_id=" + appID + "&client_secret=nope", nil, 401, auth.CodeInvalidAppJWT},
		{"app of another account", "/sentinel/api/account/le99999999/app/token", "application/x-www-form-urlencoded", "client_id=" + appID + "&client_secret=" + appSecret, nil, 401, auth.CodeInvalidAppJWT},
		{"missing client_id", "/sentinel/api/account/" + lpAccount + "/app/token", "application/x-www-form-urlencoded", "client_secret=" + appSecret, nil, 400, auth.CodeMissingParameter},
		{"unsupported grant type", "/sentinel/api/account/" + lpAccount + "/app/token?grant_type=password", "application/x-www-form-urlencoded", "client_id=" + appID + "&client_secret=" + appSecret, nil, 400, 40000},
		{"ConsumerJWS without AppJWT", "/api/account/" + lpAccount + "/consumer?v=1.0", "application/json", `{"ext_consumer_id":"x"}`, nil, 401, auth.CodeAppJWTMissing},
		{"ConsumerJWS without v", "/api/account/" + lpAccount + "/consumer", "application/json", `{"ext_consumer_id":"x"}`, map[string]string{"Authorization": "APP"}, 201, 0},
		{"ConsumerJWS with a Bearer AppJWT", "/api/account/" + lpAccount + "/consumer?v=1.0", "application/json", `{"ext_consumer_id":"x"}`, map[string]string{"Authorization": "Bearer APP"}, 201, 0},
		{"ConsumerJWS without ext_consumer_id", "/api/account/" + lpAccount + "/consumer?v=1.0", "application/json", `{}`, map[string]string{"Authorization": "APP"}, 400, auth.CodeMissingParameter},
		{"ConsumerJWS with a malformed body", "/api/account/" + lpAccount + "/consumer?v=1.0", "application/json", `{"ext_consumer_id":`, map[string]string{"Authorization": "APP"}, 400, 40000},
		{"unknown path", "/api/account/" + lpAccount + "/nothing", "application/json", `{}`, nil, 404, 40400},
		{"GET on a POST path", "/api/account/" + lpAccount + "/consumer", "", "", nil, 405, 40500},
	}
	app := s.appJWT(lpAccount, appID, appSecret)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.ctype != "" {
				h["Content-Type"] = tt.ctype
			}
			for k, v := range tt.headers {
				h[k] = stringsReplaceApp(v, app)
			}
			method := "POST"
			if tt.status == 405 {
				method = "GET"
			}
			code, body := s.do(method, tt.path, h, tt.body)
			if code != tt.status {
				t.Fatalf("status %d, want %d: %s", code, tt.status, body)
			}
			if tt.errorCode != 0 {
				if e := decodeLPError(t, code, body); e.Body.ErrorCode != tt.errorCode {
					t.Fatalf("errorCode %d, want %d", e.Body.ErrorCode, tt.errorCode)
				}
			}
		})
	}
}

func stringsReplaceApp(v, app string) string {
	if v == "APP" {
		return app
	}
	if v == "Bearer APP" {
		return "Bearer " + app
	}
	return v
}
