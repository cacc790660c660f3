package simulator

import (
	"slices"
	"strings"
)

// routeKind names an endpoint of the simulator.
type routeKind int

const (
	routeUnknown routeKind = iota
	routeToken
	routeSessions
	routeSession
	routeSessionVerb
	routeEngagements
	routeEngagement
	routeEngagementVerb
	routeMessages
	routeSubscriptions
	routeSubscription
	routeSimEngagements
	routeSimEngagementVerb
	routeSimFaults
	routeSimHealth
	routeSimStats
	routeSimAutoAgent
)

// channelBase prefixes the v1beta channel API's paths, and the urls the
// simulator writes into sessions, engagements and page links; an answer to a
// GA call has them under gaChannelBase instead (rebaseURLs).
const (
	channelBase   = "/api/digital/channel/v1beta/accounts/"
	gaChannelBase = "/api/digital/channel/v1/accounts/"
)

// route is a parsed request path. account and id are raw path segments: the
// handlers validate them, so that a malformed id is a 400 with a violation
// rather than an unknown path. gen is the API generation of the path
// (APIV1Beta or APIV1), "" for the /sim API.
type route struct {
	kind    routeKind
	gen     string
	account string
	id      string
	verb    string
}

// generation maps a path's version segment onto an API generation.
func generation(seg string) (string, bool) {
	switch seg {
	case APIV1Beta, APIV1:
		return seg, true
	}
	return "", false
}

// sim reports whether the route belongs to the /sim agent API (no auth, no faults).
func (r route) sim() bool {
	return r.kind == routeSimEngagements || r.kind == routeSimEngagementVerb ||
		r.kind == routeSimFaults || r.kind == routeSimHealth || r.kind == routeSimStats || r.kind == routeSimAutoAgent
}

// parseRoute maps an (already percent-decoded) path onto a route. One trailing
// slash is tolerated because real clients post to "…:disconnect/".
func parseRoute(path string) route {
	if len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	if !strings.HasPrefix(path, "/") {
		return route{}
	}
	seg := strings.Split(path[1:], "/")
	for _, s := range seg {
		if s == "" {
			return route{}
		}
	}
	switch {
	case len(seg) == 6 && seg[0] == "auth" && seg[1] == "realms" && seg[3] == "protocol" &&
		seg[4] == "openid-connect" && seg[5] == "token":
		// v1beta's Keycloak realm endpoint.
		return route{kind: routeToken, gen: APIV1Beta, account: seg[2]}
	case len(seg) == 7 && seg[0] == "api" && seg[1] == "auth" && seg[2] == "v1" && seg[4] == "protocol" &&
		seg[5] == "openid-connect" && seg[6] == "token":
		// The GA token endpoint (the reference, §1.2).
		return route{kind: routeToken, gen: APIV1, account: seg[3]}
	case len(seg) >= 7 && seg[0] == "api" && seg[1] == "digital" && seg[2] == "channel" && seg[4] == "accounts":
		gen, ok := generation(seg[3])
		if !ok {
			return route{}
		}
		r := parseChannel(seg[5], seg[6:])
		if r.kind != routeUnknown {
			r.gen = gen
		}
		return r
	case len(seg) >= 7 && seg[0] == "api" && seg[1] == "digital" && seg[2] == "webhook" &&
		seg[4] == "accounts" && seg[6] == "subscriptions":
		gen, ok := generation(seg[3])
		if !ok {
			return route{}
		}
		switch len(seg) {
		case 7:
			return route{kind: routeSubscriptions, gen: gen, account: seg[5]}
		case 8:
			if strings.Contains(seg[7], ":") {
				return route{}
			}
			return route{kind: routeSubscription, gen: gen, account: seg[5], id: seg[7]}
		}
	case len(seg) == 2 && seg[0] == "sim" && seg[1] == "faults":
		return route{kind: routeSimFaults}
	case len(seg) == 2 && seg[0] == "sim" && seg[1] == "health":
		return route{kind: routeSimHealth}
	case len(seg) == 2 && seg[0] == "sim" && seg[1] == "stats":
		return route{kind: routeSimStats}
	case len(seg) == 2 && seg[0] == "sim" && seg[1] == "auto-agent":
		return route{kind: routeSimAutoAgent}
	case len(seg) >= 4 && seg[0] == "sim" && seg[1] == "accounts" && seg[3] == "engagements":
		switch len(seg) {
		case 4:
			return route{kind: routeSimEngagements, account: seg[2]}
		case 5:
			id, verb, ok := splitVerb(seg[4], "agentJoin", "agentMessage", "agentLeave", "engagementError", "endDialog")
			if ok && verb != "" {
				return route{kind: routeSimEngagementVerb, account: seg[2], id: id, verb: verb}
			}
		}
	}
	return route{}
}

func parseChannel(account string, rest []string) route {
	switch {
	case len(rest) == 1 && rest[0] == "sessions":
		return route{kind: routeSessions, account: account}
	case len(rest) == 2 && rest[0] == "sessions":
		id, verb, ok := splitVerb(rest[1], "appendIdentifiers", "updateSessionParameters")
		if !ok {
			return route{}
		}
		if verb == "" {
			return route{kind: routeSession, account: account, id: id}
		}
		return route{kind: routeSessionVerb, account: account, id: id, verb: verb}
	case len(rest) == 1 && rest[0] == "engagements":
		return route{kind: routeEngagements, account: account}
	case len(rest) == 2 && rest[0] == "engagements":
		id, verb, ok := splitVerb(rest[1], "join", "disconnect")
		if !ok {
			return route{}
		}
		if verb == "" {
			return route{kind: routeEngagement, account: account, id: id}
		}
		return route{kind: routeEngagementVerb, account: account, id: id, verb: verb}
	case len(rest) == 3 && rest[0] == "engagements" && rest[2] == "messages" && !strings.Contains(rest[1], ":"):
		return route{kind: routeMessages, account: account, id: rest[1]}
	}
	return route{}
}

// splitVerb splits "id:verb" (a Google-style custom method). ok is false for
// an unknown verb or an empty id.
func splitVerb(s string, verbs ...string) (id, verb string, ok bool) {
	i := strings.IndexByte(s, ':')
	if i < 0 {
		return s, "", true
	}
	id, verb = s[:i], s[i+1:]
	if id == "" {
		return "", "", false
	}
	if !slices.Contains(verbs, verb) {
		return "", "", false
	}
	return id, verb, true
}
