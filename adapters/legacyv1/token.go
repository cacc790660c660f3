package legacyv1

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"
)

// The legacy client's own OAuth token. Legacy clients fetch a token from
// the Keycloak realm endpoint, POST /auth/realms/{accountId}/protocol/
// openid-connect/token, with client_credentials in the form or as HTTP
// Basic (S16 sends Basic and scope=email profile), and send it as Bearer.
// The face answers that endpoint itself, for the configured clients and
// the bound account only: the token is the proxy's (HS256, signed with
// Config.TokenKey), never AXP's, and it opens the legacy face of that one
// account. Its claims follow Keycloak's (tenantId, azp, scope) so that a
// client that decodes it finds what it expects.

// Client is a legacy client's credentials.
type Client struct {
	ID, Secret string
}

// tokenClaims are the claims of a legacy token.
type tokenClaims struct {
	jwt.RegisteredClaims
	Typ      string `json:"typ"`
	Azp      string `json:"azp"`
	Scope    string `json:"scope"`
	TenantID string `json:"tenantId"`
	ClientID string `json:"clientId"`
}

// tokenAnswer is Keycloak's token response.
type tokenAnswer struct {
	AccessToken      string `json:"access_token"`
	ExpiresIn        int    `json:"expires_in"`
	RefreshExpiresIn int    `json:"refresh_expires_in"`
	TokenType        string `json:"token_type"`
	NotBeforePolicy  int    `json:"not-before-policy"`
	Scope            string `json:"scope"`
}

// oauthError is the RFC 6749 §5.2 body Keycloak's token endpoint answers.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

func writeOAuth(ctx *fasthttp.RequestCtx, status int, v any) {
	b, _ := json.Marshal(v)
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.SetBody(b)
}

// issuer is the token's iss for the bound account's realm.
func (f *Face) issuer() string { return "connector-proxy/legacyv1/auth/realms/" + f.b.AccountID }

// serveToken answers the realm token endpoint of account.
func (f *Face) serveToken(ctx *fasthttp.RequestCtx, account string) {
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		writeOAuth(ctx, http.StatusMethodNotAllowed, oauthError{Error: "invalid_request", Description: "HTTP method not allowed"})
		return
	}
	if account != f.b.AccountID {
		// Keycloak's answer for a realm it does not have.
		writeOAuth(ctx, http.StatusNotFound, oauthError{Error: "Realm does not exist"})
		return
	}
	if !strings.HasPrefix(string(ctx.Request.Header.ContentType()), "application/x-www-form-urlencoded") {
		writeOAuth(ctx, http.StatusUnsupportedMediaType, oauthError{Error: "invalid_request", Description: "expected application/x-www-form-urlencoded"})
		return
	}
	form := ctx.PostArgs()
	id, secret := string(form.Peek("client_id")), string(form.Peek("client_secret"))
	if bid, bsecret, ok := basicAuth(string(ctx.Request.Header.Peek("Authorization"))); ok {
		id, secret = bid, bsecret
	}
	switch grant := string(form.Peek("grant_type")); {
	case grant == "":
		writeOAuth(ctx, http.StatusBadRequest, oauthError{Error: "invalid_request", Description: "Missing form parameter: grant_type"})
		return
	case grant != "client_credentials":
		writeOAuth(ctx, http.StatusBadRequest, oauthError{Error: "unsupported_grant_type", Description: "Unsupported grant_type"})
		return
	case !f.knownClient(id, secret):
		writeOAuth(ctx, http.StatusUnauthorized, oauthError{Error: "invalid_client", Description: "Invalid client or Invalid client credentials"})
		return
	}
	now := f.now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        uuid.NewString(),
			Issuer:    f.issuer(),
			Subject:   "service-account-" + id,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(f.cfg.TokenTTL)),
		},
		Typ: "Bearer", Azp: id, Scope: "email profile", TenantID: f.b.AccountID, ClientID: id,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(f.cfg.TokenKey)
	if err != nil {
		writeOAuth(ctx, http.StatusInternalServerError, oauthError{Error: "server_error"})
		return
	}
	writeOAuth(ctx, http.StatusOK, tokenAnswer{
		AccessToken: tok, ExpiresIn: int(f.cfg.TokenTTL / time.Second), TokenType: "Bearer", Scope: "email profile",
	})
}

// knownClient compares in constant time, so that timing tells nothing of
// a secret.
func (f *Face) knownClient(id, secret string) bool {
	ok := false
	for _, c := range f.cfg.Clients {
		idOK := subtle.ConstantTimeCompare([]byte(c.ID), []byte(id)) == 1
		secretOK := subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) == 1
		ok = ok || (idOK && secretOK)
	}
	return ok && id != ""
}

// authenticate checks the bearer token of an API call: signed by the
// face's key, not expired (by the injected clock), of the bound account,
// and of a client still configured (removing a client revokes its tokens).
func (f *Face) authenticate(ctx *fasthttp.RequestCtx) *Error {
	h := string(ctx.Request.Header.Peek("Authorization"))
	const prefix = "bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return newError(http.StatusUnauthorized, "This operation requires authentication: send the token of "+f.tokenPath()+" as Bearer")
	}
	var c tokenClaims
	_, err := jwt.ParseWithClaims(strings.TrimSpace(h[len(prefix):]), &c, func(*jwt.Token) (any, error) { return f.cfg.TokenKey, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuer(f.issuer()),
		jwt.WithTimeFunc(f.now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return newError(http.StatusUnauthorized, "the token has expired; fetch a new one")
	case err != nil:
		return newError(http.StatusUnauthorized, "the token is not valid")
	case c.TenantID != f.b.AccountID:
		return newError(http.StatusForbidden, "the token is not of account "+f.b.AccountID)
	}
	for _, cl := range f.cfg.Clients {
		if cl.ID == c.Azp {
			return nil
		}
	}
	return newError(http.StatusUnauthorized, "the token's client is no longer configured")
}

func (f *Face) tokenPath() string {
	return "/auth/realms/" + f.b.AccountID + "/protocol/openid-connect/token"
}

// basicAuth decodes an "Authorization: Basic" header.
func basicAuth(h string) (id, secret string, ok bool) {
	const prefix = "basic "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(h[len(prefix):]))
	if err != nil {
		return "", "", false
	}
	id, secret, ok = strings.Cut(string(raw), ":")
	return id, secret, ok
}

// checkClients refuses an unusable client list.
func checkClients(cs []Client) error {
	if len(cs) == 0 {
		return errors.New("legacyv1: at least one client is required")
	}
	for i, c := range cs {
		if c.ID == "" || c.Secret == "" {
			return fmt.Errorf("legacyv1: client %d needs an id and a secret", i)
		}
	}
	return nil
}
