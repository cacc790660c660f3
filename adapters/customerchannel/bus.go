package customerchannel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/connector-proxy/connector-proxy/mapping"
)

// Bus carries what one replica's face must tell the others: AXP events to
// the sockets they hold, and connector registrations that replace one of
// theirs. A nil Config.Bus means one replica: everything stays in the
// process. The bus is at-most-once by design (see RedisBus): a socket that
// misses a message finds it again in conversationInfo when it rejoins, since
// AXP keeps every message of the dialog.
type Bus interface {
	// Publish sends m to every replica subscribed, this one included (the
	// face ignores its own messages by Origin).
	Publish(ctx context.Context, m *BusMessage) error
	// Subscribe calls fn, from one goroutine, with each message published
	// from now on until ctx ends; it returns once the subscription is in
	// place.
	Subscribe(ctx context.Context, fn func(*BusMessage)) error
	// ClaimConnector records owner as the one connector of channel across
	// replicas, replacing any other.
	ClaimConnector(ctx context.Context, channel, owner string) error
	// ConnectorOwner returns the channel's recorded connector, "" when none.
	ConnectorOwner(ctx context.Context, channel string) (string, error)
	// DropConnector removes owner's record of channel, when it still holds
	// it (a connector that left must not remove its successor's).
	DropConnector(ctx context.Context, channel, owner string) error
}

// Bus message kinds.
const (
	// BusDeliver asks every replica to emit messageArrived to its sockets
	// of Conversation (payload Room) and to its connector of Channel
	// (payload Connector, which carries the customer's refId).
	BusDeliver = "deliver"
	// BusConnector tells every replica that Owner is now Channel's
	// connector: a replica holding another one tells it connectorReplaced
	// (payload Connector, the notice).
	BusConnector = "connector"
)

// BusMessage is one message on the bus. Payloads are encoded once, by the
// replica that received the event.
type BusMessage struct {
	Kind         string          `json:"kind"`
	Origin       string          `json:"origin"`
	Conversation string          `json:"conversation,omitempty"`
	Channel      string          `json:"channel,omitempty"`
	Owner        string          `json:"owner,omitempty"`
	Room         json.RawMessage `json:"room,omitempty"`
	Connector    json.RawMessage `json:"connector,omitempty"`
}

// errBusMessage marks a message that could not be read.
var errBusMessage = errors.New("customerchannel: bad bus message")

func decodeBusMessage(raw []byte) (*BusMessage, error) {
	var m BusMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", errBusMessage, err)
	}
	if m.Origin == "" || (m.Kind != BusDeliver && m.Kind != BusConnector) {
		return nil, errBusMessage
	}
	return &m, nil
}

// owner is how a connector socket is named across replicas.
func (f *Face) owner(s socket) string { return f.cfg.ReplicaID + "/" + s.ID() }

// publish sends an event of conv, encoded for the room and for the
// connector, to the other replicas' sockets.
func (f *Face) publish(ctx context.Context, conv *mapping.Conversation, room, connector json.RawMessage) bool {
	m := &BusMessage{Kind: BusDeliver, Origin: f.cfg.ReplicaID, Conversation: conv.ID, Channel: conv.Channel, Room: room, Connector: connector}
	if err := f.cfg.Bus.Publish(ctx, m); err != nil {
		f.log.WarnContext(ctx, "customerchannel: publish to the other replicas", "conversation", conv.ID, "error", err)
		return false
	}
	return true
}

// onBus delivers what another replica published to this one's sockets.
func (f *Face) onBus(m *BusMessage) {
	if m.Origin == f.cfg.ReplicaID {
		return
	}
	ctx := f.ctx
	switch m.Kind {
	case BusDeliver:
		n := 0
		for _, s := range f.hub.room(m.Conversation) {
			if f.emit(ctx, s, EventMessageArrived, m.Room) {
				n++
			}
		}
		if c := f.hub.connector(m.Channel); c != nil && len(m.Connector) > 0 {
			if f.emit(ctx, c, EventMessageArrived, m.Connector) {
				n++
			}
		}
		if n > 0 {
			f.m.delivered("relayed", "delivered")
		}
	case BusConnector:
		c := f.hub.connector(m.Channel)
		if c == nil || f.owner(c) == m.Owner {
			return
		}
		// The record decides, not the message: one sent for an older
		// registration may arrive after this replica's newer one.
		if owner, err := f.cfg.Bus.ConnectorOwner(ctx, m.Channel); err != nil || owner == f.owner(c) {
			return
		}
		if old := f.hub.unregister(m.Channel, c); old != nil {
			f.emit(ctx, old, EventConnectorReplaced, m.Connector)
		}
	}
}
