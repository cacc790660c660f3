package connectorapi

import (
	"encoding/json"
	"net"
	"slices"
	"strings"

	"github.com/valyala/fasthttp"
)

// Services the Domain API names: the three a Connector API client resolves
// before its first call. All are served by this proxy on one host; services
// it does not serve (swift file storage, reporting) are answered 404 so that
// a client fails clearly instead of calling a host that cannot answer.
const (
	ServiceSentinel = "sentinel"
	ServiceIDP      = "idp"
	ServiceMessages = "asyncMessagingEnt"
)

// DomainServices lists the services the Domain API answers for, in the
// order of its list answer.
func DomainServices() []string {
	return []string{ServiceSentinel, ServiceIDP, ServiceMessages}
}

// DomainAPIVersion is the only version the Domain API accepts.
const DomainAPIVersion = "1.0"

// baseURI is one entry of the Domain API's answer, LivePerson's names.
type baseURI struct {
	Service string `json:"service"`
	Account string `json:"account"`
	BaseURI string `json:"baseURI"`
}

type baseURIList struct {
	BaseURIs []baseURI `json:"baseURIs"`
}

// domainAnswers are the Domain API answers of one account for a fixed
// host, encoded once: the list under "", each service under its name.
type domainAnswers map[string][]byte

func newDomainAnswers(account, host string) domainAnswers {
	d := domainAnswers{"": encodeDomain(account, host, "")}
	for _, s := range DomainServices() {
		d[s] = encodeDomain(account, host, s)
	}
	return d
}

// encodeDomain is the answer for one service, or the list when service is
// "".
func encodeDomain(account, host, service string) []byte {
	var b []byte
	if service != "" {
		b, _ = json.Marshal(baseURI{Service: service, Account: account, BaseURI: host}) // strings always encode
		return b
	}
	var l baseURIList
	for _, s := range DomainServices() {
		l.BaseURIs = append(l.BaseURIs, baseURI{Service: s, Account: account, BaseURI: host})
	}
	b, _ = json.Marshal(l)
	return b
}

// parseDomainTail recognises the Domain API after /api/account/{a}/:
// service/baseURI[.json] (every service) and
// service/{name}/baseURI[.json] (one). name is "" for the list.
func parseDomainTail(tail string) (name string, ok bool) {
	rest, found := strings.CutPrefix(tail, "service/")
	if !found {
		return "", false
	}
	rest = strings.TrimSuffix(rest, ".json")
	if rest == "baseURI" {
		return "", true
	}
	name, found = strings.CutSuffix(rest, "/baseURI")
	if !found || name == "" || strings.Contains(name, "/") {
		return "", false
	}
	return name, true
}

// domainHost is the baseURI answered to this request: the configured
// public host, else the Host the client reached. A plain-http request is
// pointed at the TLS listener's port, because connectors call the three
// services over https whatever scheme they resolved them with.
func (f *Face) domainHost(ctx *fasthttp.RequestCtx) string {
	if f.cfg.PublicHost != "" {
		return f.cfg.PublicHost
	}
	host := string(ctx.Host())
	if ctx.IsTLS() || f.cfg.TLSPort == nil {
		return host
	}
	port := f.cfg.TLSPort()
	if port == "" {
		return host
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else {
		host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	}
	return net.JoinHostPort(host, port)
}

// serveDomain is GET /api/account/{a}/service[/{name}]/baseURI[.json].
func (f *Face) serveDomain(ctx *fasthttp.RequestCtx, r route) {
	if v := ctx.QueryArgs().Peek("version"); len(v) > 0 && string(v) != DomainAPIVersion {
		f.writeError(ctx, nil, badRequest(nil, "version", "version %q is not supported; use %s", v, DomainAPIVersion))
		return
	}
	if _, ok := f.accounts[r.account]; !ok {
		f.writeError(ctx, nil, &apiError{Status: 404, ErrorCode: 40400, Title: "Not found",
			Details: "account " + r.account + " is not served by this proxy"})
		return
	}
	if r.service != "" && !slices.Contains(DomainServices(), r.service) {
		f.writeError(ctx, nil, &apiError{Status: 404, ErrorCode: 40400, Title: "Not found",
			Details: "service " + r.service + " is not served by this proxy (served: " + strings.Join(DomainServices(), ", ") + ")"})
		return
	}
	if ans, ok := f.domain[r.account]; ok {
		writeJSON(ctx, 200, ans[r.service])
		return
	}
	// No fixed public host: the answer depends on the request.
	host := f.domainHost(ctx)
	if host == "" {
		f.writeError(ctx, nil, badRequest(nil, "Host", "the request has no Host and no public host is configured"))
		return
	}
	writeJSON(ctx, 200, encodeDomain(r.account, host, r.service))
}
