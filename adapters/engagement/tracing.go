package engagement

import "github.com/connector-proxy/connector-proxy/telemetry"

// idPlaceholder names the path segment that follows a collection of AXP's
// paths, for url.template.
func idPlaceholder(collection string) (string, bool) {
	switch collection {
	case "accounts", "realms":
		return "{accountId}", true
	case "sessions":
		return "{sessionId}", true
	case "engagements":
		return "{engagementId}", true
	case "subscriptions":
		return "{subscriptionId}", true
	}
	return "", false
}

// urlTemplate is an AXP call's path with its ids as placeholders
// (/api/digital/channel/v1beta/accounts/{accountId}/engagements/{engagementId}:join),
// the url.template and the name of its client span. Only computed when
// tracing is on.
func urlTemplate(path string) string {
	return telemetry.PathTemplate(path, func(before []string) (string, bool) {
		n := len(before)
		if name, ok := idPlaceholder(before[n-1]); ok {
			return name, true
		}
		if n >= 2 && before[n-2] == "auth" && before[n-1] == "v1" {
			return "{accountId}", true // the GA token path: /api/auth/v1/{accountId}/protocol/…
		}
		return "", false
	})
}
