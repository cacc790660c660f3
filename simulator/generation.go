package simulator

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/connector-proxy/connector-proxy/adapters/engagement"
)

// The API generations the simulator serves (Config.APIVersion).
const (
	// APIV1Beta serves v1beta only: the Keycloak realm token endpoint and
	// /api/digital/{channel,webhook}/v1beta/…, Bearer only.
	APIV1Beta = engagement.APIV1Beta
	// APIV1 serves the GA API only: /api/auth/v1/{accountId}/… for tokens
	// and /api/digital/{channel,webhook}/v1/…, every call (the token request
	// included) refused without the right appkey header.
	APIV1 = engagement.APIV1
	// APIBoth serves both generations side by side over one state, as one
	// AXP tenant is reachable on both hosts during the migration.
	APIBoth = "both"
)

// CheckAPIVersion reports whether v is a generation setting the simulator
// knows ("" is the default, v1beta).
func CheckAPIVersion(v string) error {
	switch v {
	case "", APIV1Beta, APIV1, APIBoth:
		return nil
	}
	return fmt.Errorf("simulator: API version %q: want %s, %s or %s", v, APIV1Beta, APIV1, APIBoth)
}

// serves reports whether a path of generation gen is served.
func (s *Simulator) serves(gen string) bool {
	return s.cfg.APIVersion == gen || s.cfg.APIVersion == APIBoth
}

// checkAppKey is the GA gateway's first check: a call without the
// application key, or with another one, is refused before its bearer token
// is looked at. AXP answers 401 for it and says which credential is at fault
// ("(Appkey)" rather than "(Access-Token)", the reference §6.1 and S12), so
// the simulator does the same; 403 stays "this token may not touch that
// account".
func (s *Simulator) checkAppKey(ctx *fasthttp.RequestCtx) *Problem {
	got := ctx.Request.Header.Peek(engagement.HeaderAppKey)
	if len(got) == 0 {
		return newProblem(http.StatusUnauthorized, "This operation requires authentication (Appkey): the appkey header is missing")
	}
	if string(got) != s.cfg.AppKey {
		return newProblem(http.StatusUnauthorized, "This operation requires authentication (Appkey): the appkey is not valid")
	}
	return nil
}

// gaPath reports whether an answer goes to a GA call (its urls are then
// written under the GA base).
func gaPath(path []byte) bool {
	return bytes.HasPrefix(path, []byte("/api/digital/channel/v1/")) ||
		bytes.HasPrefix(path, []byte("/api/digital/webhook/v1/"))
}

// rebaseURLs writes the urls of an answer to a GA call under the GA base.
// The state keeps v1beta urls (one state serves both generations); only
// the answer changes, and only the url fields AXP writes (session and
// engagement url, the page links of a message list).
func rebaseURLs(v any) any {
	switch o := v.(type) {
	case engagement.Session:
		o.URL = rebase(o.URL)
		return o
	case engagement.Engagement:
		o.URL = rebase(o.URL)
		return o
	case []engagement.Engagement:
		out := make([]engagement.Engagement, len(o))
		for i, e := range o {
			e.URL = rebase(e.URL)
			out[i] = e
		}
		return out
	case engagement.Messages:
		o.Links.Prev, o.Links.Next = rebase(o.Links.Prev), rebase(o.Links.Next)
		return o
	}
	return v
}

func rebase(u string) string {
	if rest, ok := strings.CutPrefix(u, channelBase); ok {
		return gaChannelBase + rest
	}
	return u
}
