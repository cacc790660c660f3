package connectorapi

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/connector-proxy/connector-proxy/auth"
)

// The variants real Connector API clients send (LivePerson's demo app,
// Botium, Bot Framework handoff, pypestream, gtrefs): each test is named by
// the variant it pins.

// jwtParts decodes a compact JWT's header and payload without verifying it,
// as a client that reads exp does.
func jwtParts(t *testing.T, tok string) (header, payload map[string]any) {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[2] == "" {
		t.Fatalf("token %q is not three parts", tok)
	}
	for i, dst := range []*map[string]any{&header, &payload} {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("part %d of %q: %v", i, tok, err)
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			t.Fatalf("part %d %s: %v", i, raw, err)
		}
	}
	return header, payload
}

func tokenRequest(s *stack, query, form string) (int, []byte) {
	return s.do("POST", "/sentinel/api/account/"+lpAccount+"/app/token?"+query,
		map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, form)
}

// usableAppJWT checks that an AppJWT answer is accepted by the ConsumerJWS
// endpoint.
func usableAppJWT(t *testing.T, s *stack, code int, body []byte) {
	t.Helper()
	var a struct {
		AccessToken string `json:"access_token"`
	}
	if code != 200 || json.Unmarshal(body, &a) != nil || a.AccessToken == "" {
		t.Fatalf("AppJWT: %d %s", code, body)
	}
	if c, b := s.do("POST", "/api/account/"+lpAccount+"/consumer?v=1.0", map[string]string{"Authorization": a.AccessToken,
		"Content-Type": "application/json"}, `{"ext_consumer_id":"x"}`); c != 201 {
		t.Fatalf("the AppJWT is refused: %d %s", c, b)
	}
}

func TestVariantAppJWTCredentialsInTheQueryString(t *testing.T) {
	s := newStack(t, stackOpts{})
	code, body := tokenRequest(s, "v=1.0&grant_type=client_credentials&client_id="+appID+"&client_secret="+appSecret, "")
	usableAppJWT(t, s, code, body)
}

func TestVariantAppJWTCredentialsInTheFormBody(t *testing.T) {
	s := newStack(t, stackOpts{})
	for _, tt := range []struct{ name, query, form string }{
		{"grant_type in the query", "v=1.0&grant_type=client_credentials", "client_id=" + appID + "&client_secret=" + appSecret},
		{"grant_type in the form", "v=1.0", "grant_type=client_credentials&client_id=" + appID + "&client_secret=" + appSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, body := tokenRequest(s, tt.query, tt.form)
			usableAppJWT(t, s, code, body)
		})
	}
}

func TestVariantAppJWTAnswerCarriesExpiresInAndADecodableExp(t *testing.T) {
	s := newStack(t, stackOpts{})
	code, body := tokenRequest(s, "v=1.0&grant_type=client_credentials", "client_id="+appID+"&client_secret="+appSecret)
	var a struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
		ExpiresIn   *int   `json:"expires_in"`
	}
	if code != 200 || json.Unmarshal(body, &a) != nil {
		t.Fatalf("%d %s", code, body)
	}
	if a.ExpiresIn == nil || *a.ExpiresIn != 3600 || a.TokenType != "Bearer" {
		t.Fatalf("answer %s: want expires_in 3600 and token_type Bearer", body)
	}
	h, p := jwtParts(t, a.AccessToken)
	if h["alg"] != "RS256" || h["typ"] != "JWT" || h["kid"] == nil {
		t.Fatalf("header %v", h)
	}
	exp, ok1 := p["exp"].(float64)
	iat, ok2 := p["iat"].(float64)
	if !ok1 || !ok2 || exp-iat != float64(*a.ExpiresIn) {
		t.Fatalf("payload %v: exp - iat must equal expires_in", p)
	}
	if now := float64(s.clock.Now().Unix()); exp <= now {
		t.Fatalf("exp %v is not after now %v", exp, now)
	}
	if p["aud"] != lpAccount || p["azp"] != appID || p["scope"] != "msg.consumer" {
		t.Fatalf("payload %v", p)
	}
}

func TestVariantConsumerJWSPathWithAndWithoutVersion(t *testing.T) {
	s := newStack(t, stackOpts{})
	app := s.appJWT(lpAccount, appID, appSecret)
	var ids []string
	for _, path := range []string{"/consumer?v=1.0", "/consumer", "/consumer?v=1.0"} {
		code, body := s.do("POST", "/api/account/"+lpAccount+path, map[string]string{"Authorization": app,
			"Content-Type": "application/json"}, `{"ext_consumer_id":"John_Doe_facebook12345"}`)
		var a struct {
			Token string `json:"token"`
		}
		if code != 201 || json.Unmarshal(body, &a) != nil {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		_, p := jwtParts(t, a.Token)
		if p["ext_consumer_id"] != "John_Doe_facebook12345" || p["account_id"] != lpAccount {
			t.Fatalf("%s: payload %v", path, p)
		}
		id, _ := p["lp_consumer_id"].(string)
		if raw, err := hex.DecodeString(id); err != nil || len(raw) != 32 {
			t.Fatalf("%s: lp_consumer_id %q is not 64 hex digits", path, id)
		}
		ids = append(ids, id)
	}
	// A fresh AppJWT (an hour later) gives the same consumer too.
	s.clock.Advance(61 * time.Minute)
	if p := consumerPayload(t, s, s.appJWT(lpAccount, appID, appSecret), "John_Doe_facebook12345"); p["lp_consumer_id"] != ids[0] {
		t.Fatalf("after a new AppJWT lp_consumer_id %v, want %s", p["lp_consumer_id"], ids[0])
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("lp_consumer_id changed between calls: %v", ids)
	}
	other := consumerPayload(t, s, s.appJWT(lpAccount, appID, appSecret), "someone_else")
	if other["lp_consumer_id"] == ids[0] {
		t.Fatal("two external ids share one lp_consumer_id")
	}
}

func consumerPayload(t *testing.T, s *stack, app, ext string) map[string]any {
	t.Helper()
	_, p := jwtParts(t, s.consumerJWS(lpAccount, app, ext))
	return p
}

const clientProperties = `{"type":".ClientProperties","features":["AUTO_MESSAGES","QUICK_REPLIES"]}`

func TestVariantClientPropertiesHeaderOnConversationAndSend(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("features")
	h := c.headers()
	h["Client-Properties"] = clientProperties
	code, body := s.do("POST", "/api/account/"+lpAccount+"/messaging/consumer/conversation?v=3", h, conversationBody)
	if code != 200 {
		t.Fatalf("CONVERSATION with Client-Properties: %d %s", code, body)
	}
	var rs []struct {
		Body struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if err := json.Unmarshal(body, &rs); err != nil || len(rs) != 2 || rs[1].Body.ConversationID == "" {
		t.Fatalf("%s", body)
	}
	conv := rs[1].Body.ConversationID
	features := func() string {
		t.Helper()
		cv, err := s.store.Conversation(s.ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		return cv.Attrs[attrFeatures]
	}
	if got := features(); got != "AUTO_MESSAGES,QUICK_REPLIES" {
		t.Fatalf("features kept %q", got)
	}

	sends := []struct {
		name, header, want string
	}{
		{"the same features again", clientProperties, "AUTO_MESSAGES,QUICK_REPLIES"},
		{"other features", `{"type":".ClientProperties","features":["RICH_CONTENT","MULTI_DIALOG"]}`, "RICH_CONTENT,MULTI_DIALOG"},
		{"a header that is not JSON", `features=AUTO_MESSAGES`, "RICH_CONTENT,MULTI_DIALOG"},
		{"no header", "", "RICH_CONTENT,MULTI_DIALOG"},
	}
	for i, tt := range sends {
		t.Run(tt.name, func(t *testing.T) {
			h := c.headers()
			if tt.header != "" {
				h["Client-Properties"] = tt.header
			}
			code, body := s.do("POST", "/api/account/"+lpAccount+"/messaging/consumer/conversation/send?v=3", h,
				textEnvelope(string(rune('a'+i)), conv, "hello "+tt.name))
			if code != 200 {
				t.Fatalf("SEND: %d %s", code, body)
			}
			if got := features(); got != tt.want {
				t.Fatalf("features kept %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVariantRequestIDsOfAnyStringFormEchoedExactly(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("request-ids")
	batch := strings.NewReplacer(`"id":"1,"`, `"id":"8213307746"`, `"id":"2,"`, `"id":"2,"`).Replace(conversationBody)
	code, out := s.conversation(c, batch)
	var rs []struct {
		ReqID json.RawMessage `json:"reqId"`
		Body  struct {
			ConversationID string `json:"conversationId"`
		} `json:"body"`
	}
	if code != 200 || json.Unmarshal(out, &rs) != nil || len(rs) != 2 {
		t.Fatalf("%d %s", code, out)
	}
	if string(rs[0].ReqID) != `"8213307746"` || string(rs[1].ReqID) != `"2,"` {
		t.Fatalf("reqIds %s %s", rs[0].ReqID, rs[1].ReqID)
	}
	conv := rs[1].Body.ConversationID
	for _, id := range []string{`"1,"`, `"0.17307796875"`, `"7f1c0d5e-8a43-4c1a-9d53-2b9e4c7a1f00"`, `42`, `"x\"y"`} {
		t.Run(id, func(t *testing.T) {
			env := `{"kind":"req","id":` + id + `,"type":"ms.PublishEvent","body":{"dialogId":"` + conv +
				`","event":{"type":"ChatStateEvent","chatState":"COMPOSING"}}}`
			code, out := s.send(c, env)
			var r struct {
				ReqID json.RawMessage `json:"reqId"`
			}
			if code != 200 || json.Unmarshal(out, &r) != nil || string(r.ReqID) != id {
				t.Fatalf("%d %s: reqId must be %s", code, out, id)
			}
		})
	}
}

func TestVariantConversationAnswerFoundByPositionByReqIDAndByFirstConversationID(t *testing.T) {
	s := newStack(t, stackOpts{})
	c := s.newConsumer("readers")
	code, out := s.conversation(c, conversationBody)
	if code != 200 {
		t.Fatalf("%d %s", code, out)
	}
	var rs []struct {
		ReqID string `json:"reqId"`
		Code  string `json:"code"`
		Body  struct {
			ConversationID string `json:"conversationId"`
			Msg            string `json:"msg"`
		} `json:"body"`
	}
	if err := json.Unmarshal(out, &rs); err != nil || len(rs) != 2 {
		t.Fatalf("%s", out)
	}
	// DEMO and pypestream read [1].body.conversationId.
	byPosition := rs[1].Body.ConversationID
	// Botium matches the ConsumerRequestConversation's reqId.
	var byReqID string
	for _, r := range rs {
		if r.ReqID == "2," {
			byReqID = r.Body.ConversationID
		}
	}
	// Others take the first answer that has a conversationId.
	var first string
	for _, r := range rs {
		if r.Body.ConversationID != "" {
			first = r.Body.ConversationID
			break
		}
	}
	if byPosition == "" || byPosition != byReqID || byPosition != first {
		t.Fatalf("by position %q, by reqId %q, first %q: %s", byPosition, byReqID, first, out)
	}
	if rs[0].ReqID != "1," || rs[0].Code != "OK" || rs[0].Body.Msg == "" || rs[1].Code != "OK" {
		t.Fatalf("answers not in request order: %s", out)
	}
}

func TestVariantOriginatorRolePerApp(t *testing.T) {
	s := newStack(t, stackOpts{apps: func(hooksURL string) []auth.App {
		apps := defaultApps(hooksURL)
		hooks := map[string]string{}
		for k, v := range apps[0].Webhooks {
			hooks[k] = v
		}
		return append(apps, auth.App{ClientID: "app-m", ClientSecret: "secret-m", AccountID: lpAccount, Webhooks: hooks, AgentRole: auth.RoleManager})
	}})
	for _, tt := range []struct{ name, app, secret, want string }{
		{"default ASSIGNED_AGENT", appID, appSecret, auth.RoleAssignedAgent},
		{"MANAGER configured", "app-m", "secret-m", auth.RoleManager},
	} {
		t.Run(tt.name, func(t *testing.T) {
			jwt := s.appJWT(lpAccount, tt.app, tt.secret)
			c := consumer{account: lpAccount, app: jwt, jws: s.consumerJWS(lpAccount, jwt, "role-"+tt.app)}
			conv := s.openConversation(c)
			eng := s.engagementOf(conv)
			s.simPost("/sim/accounts/"+axpAccount+"/engagements/"+eng+":agentJoin", `{"displayName":"Agent"}`)
			s.simPost("/sim/accounts/"+axpAccount+"/engagements/"+eng+":agentMessage", `{"text":"hello from the agent"}`)
			said := func(_ hookRequest, n notif) bool {
				return n.Type == "ms.MessagingEventNotification" && n.Body.Changes[0].ConversationID == conv
			}
			got := s.hooks.waitHooks(t, "the agent's message", func(got []hookRequest) bool { _, ok := findNotif(t, got, said); return ok })
			r, _ := findNotif(t, got, said)
			ch := decodeNotif(t, r).Body.Changes[0]
			if ch.OriginatorMetadata.Role != tt.want || r.ClientID != tt.app {
				t.Fatalf("role %q to client %q, want %q: %s", ch.OriginatorMetadata.Role, r.ClientID, tt.want, r.Body)
			}
			// Participants in the conversation change carry the same role.
			joined := func(_ hookRequest, n notif) bool {
				ch := n.Body.Changes[0]
				if n.Type != "cqm.ExConversationChangeNotification" || ch.Result.ConvID != conv {
					return false
				}
				for _, p := range ch.Result.ConversationDetails.Participants {
					if p.Role == tt.want {
						return true
					}
				}
				return false
			}
			s.hooks.waitHooks(t, "the agent's join with role "+tt.want, func(got []hookRequest) bool { _, ok := findNotif(t, got, joined); return ok })
		})
	}
}
