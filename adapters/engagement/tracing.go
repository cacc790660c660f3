package engagement

import "strings"

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
	segs := strings.Split(path, "/")
	for i := 1; i < len(segs); i++ {
		name, ok := idPlaceholder(segs[i-1])
		if !ok && i >= 2 && segs[i-2] == "auth" && segs[i-1] == "v1" {
			name, ok = "{accountId}", true // the GA token path: /api/auth/v1/{accountId}/protocol/…
		}
		if !ok || segs[i] == "" {
			continue
		}
		_, verb, hasVerb := strings.Cut(segs[i], ":")
		segs[i] = name
		if hasVerb {
			segs[i] += ":" + verb
		}
	}
	return strings.Join(segs, "/")
}
