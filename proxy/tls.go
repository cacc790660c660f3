package proxy

import (
	"net"
	"net/url"

	"github.com/connector-proxy/connector-proxy/config"
)

// listenTLS loads the public listener's TLS configuration when
// certificates are configured and binds the optional plain-http listener
// beside it. Both are served by the one public server, so its graceful
// shutdown covers both.
func (p *Proxy) listenTLS() error {
	if !p.cfg.TLS.Enabled() {
		return nil
	}
	tc, err := p.cfg.TLS.LoadTLS()
	if err != nil {
		return err
	}
	p.tlsConf = tc // the edge listener serves TLS above its guard
	if p.cfg.TLS.PlainListen != "" {
		if p.plainLn, err = net.Listen("tcp", p.cfg.TLS.PlainListen); err != nil {
			return &config.FieldError{Field: "tls.plain_listen", Msg: err.Error()}
		}
	}
	return nil
}

// PlainAddr is the plain-http listener's bound address beside TLS, "" when
// there is none.
func (p *Proxy) PlainAddr() string {
	if p.plainLn == nil {
		return ""
	}
	return p.plainLn.Addr().String()
}

// domainHost is the host the Domain API names for every Connector API
// service: connector_api.public_host, else public_url's host, else ""
// (the face then answers the Host each request came to).
func (p *Proxy) domainHost() string {
	if h := p.cfg.ConnectorAPI.PublicHost; h != "" {
		return h
	}
	if p.cfg.PublicURL != "" {
		if u, err := url.Parse(p.cfg.PublicURL); err == nil {
			return u.Host
		}
	}
	return ""
}

// tlsPort is the TLS listener's port, for Domain API calls made over plain
// http; nil without TLS.
func (p *Proxy) tlsPort() func() string {
	if !p.cfg.TLS.Enabled() {
		return nil
	}
	return func() string {
		_, port, _ := net.SplitHostPort(p.PublicAddr())
		return port
	}
}
