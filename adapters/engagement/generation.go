package engagement

import (
	"errors"
	"fmt"
)

// The generations of AXP's Digital API the client speaks. The models are the
// same in both (the reference, §0.2: the GA OpenAPI is v1beta's schema); what
// differs is where the calls go and one header.
const (
	// APIV1Beta is documentation version v0.0.1, on {region}.cc.avayacloud.com:
	// /api/digital/{channel,webhook}/v1beta/accounts/{accountId}/…, the token
	// from the Keycloak realm /auth/realms/{accountId}/…, Bearer only. AXP has
	// announced its deprecation.
	APIV1Beta = "v1beta"
	// APIV1 is the GA API, on {region}.api.avayacloud.com:
	// /api/digital/{channel,webhook}/v1/accounts/{accountId}/…, the token from
	// /api/auth/v1/{accountId}/…, and an appkey header on every call, the
	// token request included.
	APIV1 = "v1"
)

// HeaderAppKey is the header that carries the application key of the GA API.
const HeaderAppKey = "appkey"

// endpoints are the URLs of one generation for one account.
type endpoints struct {
	channelBase string // …/api/digital/channel/{gen}/accounts/{acct}
	webhookBase string // …/api/digital/webhook/{gen}/accounts/{acct}
	tokenURL    string
	appKey      string // sent as appkey; "" for v1beta, which has none
}

// generationEndpoints checks the generation and its app key and builds its
// URLs under origin for the (already path-escaped) account. An empty
// generation is v1beta, the one the proxy has always spoken.
func generationEndpoints(gen, appKey, origin, acct string) (endpoints, error) {
	switch gen {
	case "", APIV1Beta:
		// v1beta has no appkey: one configured for it is not sent, so that
		// the same configuration can carry the key ahead of the move to GA.
		return endpoints{
			channelBase: origin + "/api/digital/channel/v1beta/accounts/" + acct,
			webhookBase: origin + "/api/digital/webhook/v1beta/accounts/" + acct,
			tokenURL:    origin + "/auth/realms/" + acct + "/protocol/openid-connect/token",
		}, nil
	case APIV1:
		if appKey == "" {
			return endpoints{}, errors.New("engagement: Config.AppKey is required for API version v1 (AXP's GA API refuses calls without appkey)")
		}
		return endpoints{
			channelBase: origin + "/api/digital/channel/v1/accounts/" + acct,
			webhookBase: origin + "/api/digital/webhook/v1/accounts/" + acct,
			tokenURL:    origin + "/api/auth/v1/" + acct + "/protocol/openid-connect/token",
			appKey:      appKey,
		}, nil
	}
	return endpoints{}, fmt.Errorf("engagement: Config.APIVersion %q: want %q or %q", gen, APIV1Beta, APIV1)
}

// APIVersion is the generation the client speaks, APIV1Beta or APIV1.
func (c *Client) APIVersion() string { return c.apiVersion }
