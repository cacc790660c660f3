package auth

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// Defaults of Options.
const (
	DefaultIssuer    = "Sentinel"
	DefaultTokenTTL  = time.Hour
	DefaultLeeway    = 30 * time.Second
	DefaultCacheSize = 10000
	// Scope is the AppJWT scope of a connector.
	Scope = "msg.consumer"
	// MaxExtConsumerIDBytes bounds an ext_consumer_id. Its ConsumerJWS, even
	// when JSON escapes every byte six-fold, stays under 5 KiB, so that with
	// an AppJWT it fits in the smallest request head the proxy can be set to
	// accept (config.MinHeaderBytes): a token it issues is always usable.
	MaxExtConsumerIDBytes = 512
)

// Options configure a Service.
type Options struct {
	Apps []App
	// KeyFile is a PEM RSA private key; when empty, the key is read from (or
	// generated into) DataDir/appjwt-rsa.pem.
	KeyFile string
	DataDir string
	// Key, when set, is used instead of a file (tests, embedding).
	Key *rsa.PrivateKey
	// Issuer is the iss of issued tokens (default "Sentinel", as LivePerson).
	Issuer string
	// TokenTTL is an AppJWT's life (default 60 minutes).
	TokenTTL time.Duration
	// Leeway is the clock skew allowed when checking exp and nbf.
	Leeway time.Duration
	// CacheSize bounds the verified-token cache.
	CacheSize int
	Now       func() time.Time
}

// Service issues and verifies the Connector API's tokens.
type Service struct {
	apps   map[string]*App // by client id
	key    *rsa.PrivateKey
	kid    string
	issuer string
	ttl    time.Duration
	leeway time.Duration
	now    func() time.Time
	// Verified tokens, AppJWTs and ConsumerJWSs apart.
	appTokens, consumerTokens *tokenCache
}

// AppClaims are an AppJWT's claims, named as LivePerson names them.
type AppClaims struct {
	Audience        string           `json:"aud"`
	AuthorizedParty string           `json:"azp"`
	Scope           string           `json:"scope"`
	Issuer          string           `json:"iss"`
	ExpiresAt       *jwt.NumericDate `json:"exp,omitempty"`
	IssuedAt        *jwt.NumericDate `json:"iat,omitempty"`
	// NotBefore is never issued by the proxy; a token that carries one is
	// refused until then (within the leeway), as RFC 7519 asks.
	NotBefore *jwt.NumericDate `json:"nbf,omitempty"`
}

// ConsumerClaims are a ConsumerJWS's claims. There is no exp: the token
// never expires, as LivePerson's; ClientID (azp) binds it to its app.
type ConsumerClaims struct {
	AccountID     string           `json:"account_id"`
	ExtConsumerID string           `json:"ext_consumer_id"`
	ConsumerID    string           `json:"lp_consumer_id"`
	ClientID      string           `json:"azp"`
	Issuer        string           `json:"iss"`
	IssuedAt      *jwt.NumericDate `json:"iat,omitempty"`
	NotBefore     *jwt.NumericDate `json:"nbf,omitempty"`
}

// The jwt.Claims methods: the validator reads registered claims through them.

func (c *AppClaims) GetExpirationTime() (*jwt.NumericDate, error) { return c.ExpiresAt, nil }
func (c *AppClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *AppClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *AppClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *AppClaims) GetSubject() (string, error)                  { return "", nil }
func (c *AppClaims) GetAudience() (jwt.ClaimStrings, error)       { return jwt.ClaimStrings{c.Audience}, nil }

func (c *ConsumerClaims) GetExpirationTime() (*jwt.NumericDate, error) { return nil, nil }
func (c *ConsumerClaims) GetIssuedAt() (*jwt.NumericDate, error)       { return c.IssuedAt, nil }
func (c *ConsumerClaims) GetNotBefore() (*jwt.NumericDate, error)      { return c.NotBefore, nil }
func (c *ConsumerClaims) GetIssuer() (string, error)                   { return c.Issuer, nil }
func (c *ConsumerClaims) GetSubject() (string, error)                  { return "", nil }
func (c *ConsumerClaims) GetAudience() (jwt.ClaimStrings, error) {
	return jwt.ClaimStrings{c.AccountID}, nil
}

// cached is a verified token; app tokens carry their exp.
type cached struct {
	app      *AppClaims
	consumer *ConsumerClaims
	exp      time.Time // zero for a ConsumerJWS
}

// New builds a Service: the apps checked, the key loaded or generated.
func New(opts Options) (*Service, error) {
	s := &Service{
		apps:   make(map[string]*App, len(opts.Apps)),
		issuer: opts.Issuer,
		ttl:    opts.TokenTTL,
		leeway: opts.Leeway,
		now:    opts.Now,
	}
	if s.issuer == "" {
		s.issuer = DefaultIssuer
	}
	if s.ttl <= 0 {
		s.ttl = DefaultTokenTTL
	}
	if s.leeway <= 0 {
		s.leeway = DefaultLeeway
	}
	if s.now == nil {
		s.now = time.Now
	}
	for _, a := range opts.Apps {
		a, err := a.withDefaults()
		if err != nil {
			return nil, err
		}
		if _, dup := s.apps[a.ClientID]; dup {
			return nil, fmt.Errorf("auth: client_id %s configured twice", a.ClientID)
		}
		s.apps[a.ClientID] = &a
	}
	s.key = opts.Key
	if s.key == nil {
		k, err := loadOrCreateKey(opts.KeyFile, opts.DataDir)
		if err != nil {
			return nil, err
		}
		s.key = k
	}
	s.kid = keyID(&s.key.PublicKey)
	size := opts.CacheSize
	if size <= 0 {
		size = DefaultCacheSize
	}
	s.appTokens, s.consumerTokens = newTokenCache(size), newTokenCache(size)
	return s, nil
}

// App returns the app with a client id in an account.
func (s *Service) App(account, clientID string) (*App, bool) {
	a, ok := s.apps[clientID]
	if !ok || a.AccountID != account {
		return nil, false
	}
	return a, true
}

// SetWebhooks replaces an app's webhook endpoints, checked as the
// configuration's are. It is for provisioning, before the Service is in use
// (demo mode points the demo app at the console's sink once the public
// listener's address is known): readers of the app take no lock.
func (s *Service) SetWebhooks(clientID string, hooks map[string]string) error {
	a, ok := s.apps[clientID]
	if !ok {
		return fmt.Errorf("auth: no app %q", clientID)
	}
	next := *a
	next.Webhooks = hooks
	checked, err := next.withDefaults()
	if err != nil {
		return err
	}
	*a = checked
	return nil
}

// Apps returns the configured apps (with defaults filled).
func (s *Service) Apps() []*App {
	out := make([]*App, 0, len(s.apps))
	for _, a := range s.apps {
		out = append(out, a)
	}
	return out
}

// KeyID is the kid the tokens carry.
func (s *Service) KeyID() string { return s.kid }

// PublicKey is the key that verifies the tokens.
func (s *Service) PublicKey() *rsa.PublicKey { return &s.key.PublicKey }

// IssueAppJWT checks client credentials for an account and returns an
// AppJWT and its lifetime in seconds.
func (s *Service) IssueAppJWT(account, clientID, clientSecret string) (string, int, error) {
	switch {
	case clientID == "":
		return "", 0, MissingParameter("client_id is missing")
	case clientSecret == "":
		return "", 0, MissingParameter("client_secret is missing")
	}
	app, ok := s.App(account, clientID)
	// The comparison runs even for an unknown id so that timing does not tell
	// which client ids exist.
	want := "\x00no-such-app"
	if ok {
		want = app.ClientSecret
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(clientSecret)) != 1 || !ok {
		return "", 0, badCredentials()
	}
	now := s.now()
	claims := &AppClaims{
		Audience:        account,
		AuthorizedParty: clientID,
		Scope:           Scope,
		Issuer:          s.issuer,
		IssuedAt:        jwt.NewNumericDate(now),
		ExpiresAt:       jwt.NewNumericDate(now.Add(s.ttl)),
	}
	tok, err := s.sign(claims)
	if err != nil {
		return "", 0, err
	}
	return tok, int(s.ttl / time.Second), nil
}

// IssueConsumerJWS returns the ConsumerJWS of an external consumer id for an
// app whose AppJWT was verified; the same id always gives the same consumer.
func (s *Service) IssueConsumerJWS(app *AppClaims, extConsumerID string) (string, error) {
	if strings.TrimSpace(extConsumerID) == "" {
		return "", MissingParameter("ext_consumer_id is missing")
	}
	if len(extConsumerID) > MaxExtConsumerIDBytes {
		return "", badValue(fmt.Sprintf("ext_consumer_id is over %d bytes", MaxExtConsumerIDBytes))
	}
	if !utf8.ValidString(extConsumerID) {
		// Its claims would travel as U+FFFD and never match lp_consumer_id.
		return "", badValue("ext_consumer_id is not valid UTF-8")
	}
	claims := &ConsumerClaims{
		AccountID:     app.Audience,
		ExtConsumerID: extConsumerID,
		ConsumerID:    ConsumerID(app.Audience, app.AuthorizedParty, extConsumerID),
		ClientID:      app.AuthorizedParty,
		Issuer:        s.issuer,
		IssuedAt:      jwt.NewNumericDate(s.now()),
	}
	return s.sign(claims)
}

// ConsumerID is the stable consumer id (lp_consumer_id) of an external id
// within an account and app: 64 hex digits, like LivePerson's.
func ConsumerID(account, clientID, extConsumerID string) string {
	sum := sha256.Sum256([]byte("connector-proxy consumer\x00" + account + "\x00" + clientID + "\x00" + extConsumerID))
	return hex.EncodeToString(sum[:])
}

func (s *Service) sign(c jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = s.kid
	tok, err := t.SignedString(s.key)
	if err != nil {
		return "", fmt.Errorf("auth: sign: %w", err)
	}
	return tok, nil
}

// keyFunc hands the parser our public key, whatever the token's header
// says: the algorithm is fixed by WithValidMethods, never by the token.
func (s *Service) keyFunc(t *jwt.Token) (any, error) {
	if kid, ok := t.Header["kid"].(string); ok && kid != s.kid {
		return nil, fmt.Errorf("unknown kid %q", kid)
	}
	return &s.key.PublicKey, nil
}

// BearerToken strips an optional "Bearer " prefix from an Authorization
// value; the Connector API sends the bare token, some clients add it.
func BearerToken(h string) string {
	h = strings.TrimSpace(h)
	if len(h) >= 6 && strings.EqualFold(h[:6], "bearer") && (len(h) == 6 || h[6] == ' ') {
		return strings.TrimSpace(h[6:])
	}
	return h
}

// bearerToken is BearerToken on a header's bytes, in place.
func bearerToken(h []byte) []byte {
	h = bytes.TrimSpace(h)
	if len(h) >= 6 && bytes.EqualFold(h[:6], []byte("bearer")) && (len(h) == 6 || h[6] == ' ') {
		return bytes.TrimSpace(h[6:])
	}
	return h
}

// VerifyAppJWT checks an AppJWT for the account in the request path: RS256
// with our key, not expired, aud equal to the account, our issuer, the
// connector scope, and an app that is still configured.
func (s *Service) VerifyAppJWT(account, token string) (*AppClaims, error) {
	return s.VerifyAppJWTBytes(account, []byte(token))
}

// VerifyAppJWTBytes is VerifyAppJWT on the Authorization header's bytes,
// which it does not keep: a token verified before is found by them
// without a copy.
func (s *Service) VerifyAppJWTBytes(account string, header []byte) (*AppClaims, error) {
	token := bearerToken(header)
	if len(token) == 0 {
		return nil, appJWTMissing()
	}
	if c, ok := s.appTokens.get(token); ok {
		now := s.now()
		if now.Before(c.exp) && c.app.Audience == account {
			return c.app, nil
		}
		if !now.Before(c.exp) {
			s.appTokens.remove(token)
		}
	}
	claims := &AppClaims{}
	_, err := jwt.ParseWithClaims(string(token), claims, s.keyFunc,
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithAudience(account),
		jwt.WithIssuer(s.issuer),
		jwt.WithLeeway(s.leeway),
		jwt.WithTimeFunc(s.now),
	)
	if err != nil {
		return nil, invalidAppJWT(err)
	}
	if claims.Scope != Scope {
		return nil, invalidAppJWT(fmt.Errorf("scope %q", claims.Scope))
	}
	if _, ok := s.App(account, claims.AuthorizedParty); !ok {
		return nil, invalidAppJWT(fmt.Errorf("app %q is not configured for account %s", claims.AuthorizedParty, account))
	}
	// Trusted from the cache only until exp, never into the leeway.
	s.appTokens.add(token, cached{app: claims, exp: claims.ExpiresAt.Time})
	return claims, nil
}

// VerifyConsumerJWS checks a ConsumerJWS against the account and the app of
// the AppJWT it came with. It is verified on every call (through the cache
// of verified signatures); the binding is checked every time.
func (s *Service) VerifyConsumerJWS(app *AppClaims, token string) (*ConsumerClaims, error) {
	return s.VerifyConsumerJWSBytes(app, []byte(token))
}

// VerifyConsumerJWSBytes is VerifyConsumerJWS on the header's bytes, which
// it does not keep.
func (s *Service) VerifyConsumerJWSBytes(app *AppClaims, header []byte) (*ConsumerClaims, error) {
	token := bytes.TrimSpace(header)
	if len(token) == 0 {
		return nil, consumerJWSMissing()
	}
	c, ok := s.consumerTokens.get(token)
	claims := c.consumer
	if !ok {
		claims = &ConsumerClaims{}
		_, err := jwt.ParseWithClaims(string(token), claims, s.keyFunc,
			jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
			jwt.WithIssuer(s.issuer),
			jwt.WithLeeway(s.leeway),
			jwt.WithTimeFunc(s.now),
		)
		if err != nil {
			return nil, invalidConsumerJWS("ConsumerJWS is invalid", err)
		}
		if claims.ExtConsumerID == "" || claims.AccountID == "" || claims.ClientID == "" ||
			claims.ConsumerID != ConsumerID(claims.AccountID, claims.ClientID, claims.ExtConsumerID) {
			return nil, invalidConsumerJWS("ConsumerJWS is invalid", errors.New("claims incomplete"))
		}
		s.consumerTokens.add(token, cached{consumer: claims})
	}
	if claims.AccountID != app.Audience || claims.ClientID != app.AuthorizedParty {
		return nil, invalidConsumerJWS("ConsumerJWS belongs to another account or app", nil)
	}
	return claims, nil
}
