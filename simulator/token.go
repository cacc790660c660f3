package simulator

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// tokenClaims are the claims of a v1beta access token as AXP's Keycloak
// writes them (a committed real token shows these).
type tokenClaims struct {
	jwt.RegisteredClaims
	Typ               string `json:"typ"`
	Azp               string `json:"azp"`
	Scope             string `json:"scope"`
	TenantID          string `json:"tenantId"`
	ClientID          string `json:"clientId"`
	PreferredUsername string `json:"preferred_username"`
}

// oauthError is the RFC 6749 §5.2 error body Keycloak's token endpoint answers.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// serveToken is the token endpoint of generation gen: v1beta's Keycloak
// realm, POST /auth/realms/{accountId}/protocol/openid-connect/token, or
// the GA POST /api/auth/v1/{accountId}/protocol/openid-connect/token (whose
// appkey Handler has checked). Both take the same form and answer the same
// token; their errors differ: Keycloak's OAuth body on v1beta, a problem
// document on GA (the reference §1.2: "400/401/403/404/409/415/500 as
// application/problem+json").
func (s *Simulator) serveToken(ctx *fasthttp.RequestCtx, account, gen string) {
	fail := func(status int, oauthCode, desc, field string) {
		if gen != APIV1 {
			writeJSON(ctx, status, oauthError{Error: oauthCode, Description: desc})
			return
		}
		if field != "" {
			code := codeNotNull
			if oauthCode == "unsupported_grant_type" {
				code = codeEnum
			}
			writeProblem(ctx, violationProblem([]Violation{{Field: field, Message: desc, Code: code}}))
			return
		}
		writeProblem(ctx, newProblem(status, desc))
	}
	if !ctx.IsPost() {
		ctx.Response.Header.Set("Allow", "POST")
		fail(http.StatusMethodNotAllowed, "invalid_request", "HTTP method not allowed", "")
		return
	}
	if !isAccountID(account) {
		if gen == APIV1 {
			writeProblem(ctx, &Problem{Type: typeBlank, Title: "Bad Request", Status: http.StatusBadRequest, Detail: "Invalid AccountID"})
			return
		}
		writeJSON(ctx, http.StatusNotFound, oauthError{Error: "Realm does not exist"})
		return
	}
	if !strings.HasPrefix(string(ctx.Request.Header.ContentType()), "application/x-www-form-urlencoded") {
		fail(http.StatusUnsupportedMediaType, "invalid_request", "expected application/x-www-form-urlencoded", "")
		return
	}
	form := ctx.PostArgs()
	id, secret := string(form.Peek("client_id")), string(form.Peek("client_secret"))
	if bid, bsecret, ok := basicAuth(string(ctx.Request.Header.Peek("Authorization"))); ok {
		id, secret = bid, bsecret
	}
	grant := string(form.Peek("grant_type"))
	switch {
	case grant == "":
		fail(http.StatusBadRequest, "invalid_request", "Missing form parameter: grant_type", "grant_type")
		return
	case grant != "client_credentials":
		fail(http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type", "grant_type")
		return
	case id != s.cfg.ClientID || secret != s.cfg.ClientSecret:
		fail(http.StatusUnauthorized, "invalid_client", "Invalid client or Invalid client credentials", "")
		return
	}
	issuer := "http://" + string(ctx.Host()) + "/auth/realms/" + account
	if gen == APIV1 {
		issuer = "http://" + string(ctx.Host()) + "/api/auth/v1/" + account
	}
	now := s.cfg.Now()
	claims := tokenClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			ID:        uuid.NewString(),
			Issuer:    issuer,
			Subject:   "service-account-" + id,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(s.cfg.TokenTTL)),
		},
		Typ:               "Bearer",
		Azp:               id,
		Scope:             "email profile",
		TenantID:          account,
		ClientID:          id,
		PreferredUsername: "service-account-" + id,
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(s.key)
	if err != nil {
		fail(http.StatusInternalServerError, "server_error", "", "")
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Pragma", "no-cache")
	writeJSON(ctx, http.StatusOK, engagement.TokenResponse{
		AccessToken: tok,
		ExpiresIn:   int(s.cfg.TokenTTL.Seconds()),
		TokenType:   "Bearer",
		Scope:       "email profile",
	})
}

// verifyToken checks the signature and expiry (against the injected clock).
func (s *Simulator) verifyToken(tok string) (*tokenClaims, error) {
	var c tokenClaims
	_, err := jwt.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(s.cfg.Now))
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("token expired: %w", err)
	case err != nil:
		return nil, fmt.Errorf("invalid token: %w", err)
	case c.TenantID == "":
		return nil, errors.New("invalid token: no tenantId")
	}
	return &c, nil
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
