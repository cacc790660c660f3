package customerchannel

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"

	"github.com/connector-proxy/connector-proxy/adapters/customerchannel/socketio"
)

// errBadSecret refuses a CONNECT whose auth names a wrong connector secret.
var errBadSecret = errors.New("invalid connector secret")

// connectAuth is the CONNECT auth payload: customers send none, connectors
// {"secret": "<ConnectorSecret>"}.
type connectAuth struct {
	Secret string `json:"secret"`
}

// newSocketServer builds the Socket.IO server and routes its events.
func (f *Face) newSocketServer() *socketio.Server {
	opts := f.cfg.Socket
	if opts.AllowedOrigins == nil {
		opts.AllowedOrigins = f.cfg.AllowedOrigins
	}
	if opts.Authenticate == nil {
		opts.Authenticate = f.authenticate
	}
	if opts.Now == nil {
		opts.Now = f.now
	}
	if opts.Logger == nil {
		opts.Logger = f.log
	}
	if opts.Handshake == nil && f.cfg.Tracing.On() {
		opts.Handshake = f.cfg.Tracing.HeaderCarry // the client's traceparent: the parent of its events
	}
	srv := socketio.NewServer(opts)
	for _, ev := range []string{EventJoinConversation, EventSendMessage, EventEndConversation, EventRegisterConnector} {
		srv.On(ev, func(ctx context.Context, c *socketio.Conn, args []json.RawMessage, ack socketio.Ack) {
			var a ackFunc
			if ack != nil {
				a = ackFunc(ack)
			}
			ctx, span := f.cfg.Tracing.StartEvent(ctx, c.Handshake(), ev)
			f.handleEvent(ctx, c, ev, args, a)
			span.End()
		})
	}
	srv.OnDisconnect(func(c *socketio.Conn, _ string) { f.onDisconnect(c) })
	return srv
}

// authenticate tells connectors from customers by the CONNECT auth.
func (f *Face) authenticate(_ context.Context, auth json.RawMessage) (any, error) {
	var a connectAuth
	if len(auth) > 0 && auth[0] == '{' {
		if err := json.Unmarshal(auth, &a); err != nil {
			return nil, errors.New("invalid auth payload")
		}
	}
	if a.Secret == "" {
		return nil, nil // a customer: the join proves the rest
	}
	if f.cfg.ConnectorSecret == "" || subtle.ConstantTimeCompare([]byte(a.Secret), []byte(f.cfg.ConnectorSecret)) != 1 {
		return nil, errBadSecret
	}
	return connectorPrincipal{}, nil
}
