package customerchannel

import "sync"

// socket is the part of a *socketio.Conn the face uses; tests fake it.
type socket interface {
	ID() string
	Data() any
	Emit(event string, args ...any) error
	Disconnect() error
}

// hub knows, in this process, which sockets joined which conversation and
// which socket is the connector of a channel. Emits happen outside its lock.
type hub struct {
	mu         sync.Mutex
	clients    map[string]*client            // by socket id
	rooms      map[string]map[string]*client // conversation id → socket id →
	connectors map[string]*client            // channel →
}

type client struct {
	sock   socket
	joined map[string]struct{} // guarded by hub.mu
	// connector is the registration of a connector socket, nil otherwise.
	connector *RegisterRequest // guarded by hub.mu
}

func newHub() *hub {
	return &hub{clients: map[string]*client{}, rooms: map[string]map[string]*client{}, connectors: map[string]*client{}}
}

// clientLocked returns the socket's record, made on first use.
func (h *hub) clientLocked(s socket) *client {
	c := h.clients[s.ID()]
	if c == nil {
		c = &client{sock: s, joined: map[string]struct{}{}}
		h.clients[s.ID()] = c
	}
	return c
}

// join puts the socket in the conversation's room.
func (h *hub) join(s socket, conv string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clientLocked(s)
	c.joined[conv] = struct{}{}
	room := h.rooms[conv]
	if room == nil {
		room = map[string]*client{}
		h.rooms[conv] = room
	}
	room[s.ID()] = c
}

// joined reports whether the socket joined the conversation.
func (h *hub) joined(s socket, conv string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[s.ID()]
	if c == nil {
		return false
	}
	_, ok := c.joined[conv]
	return ok
}

// room returns the sockets that joined the conversation.
func (h *hub) room(conv string) []socket {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]socket, 0, len(h.rooms[conv]))
	for _, c := range h.rooms[conv] {
		out = append(out, c.sock)
	}
	return out
}

// register makes the socket the connector of req.Channel and returns the
// socket it replaced (nil when none, or when it re-registers itself).
func (h *hub) register(s socket, req RegisterRequest) socket {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clientLocked(s)
	if c.connector != nil && c.connector.Channel != req.Channel && h.connectors[c.connector.Channel] == c {
		delete(h.connectors, c.connector.Channel) // one socket, one channel
	}
	c.connector = &req
	old := h.connectors[req.Channel]
	h.connectors[req.Channel] = c
	if old == nil || old == c {
		return nil
	}
	old.connector = nil
	return old.sock
}

// connectorOf returns the channel the socket is the connector of, "" when
// it is not (or no longer) one.
func (h *hub) connectorOf(s socket) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[s.ID()]
	if c == nil || c.connector == nil || h.connectors[c.connector.Channel] != c {
		return ""
	}
	return c.connector.Channel
}

// connector returns the channel's connector socket, nil when none.
func (h *hub) connector(channel string) socket {
	h.mu.Lock()
	defer h.mu.Unlock()
	if c := h.connectors[channel]; c != nil {
		return c.sock
	}
	return nil
}

// unregister drops s as the connector of channel, when it still is, and
// returns it (nil otherwise): another replica's connector replaced it.
func (h *hub) unregister(channel string, s socket) socket {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.connectors[channel]
	if c == nil || c.sock.ID() != s.ID() {
		return nil
	}
	delete(h.connectors, channel)
	c.connector = nil
	return c.sock
}

// leave forgets a socket that disconnected.
func (h *hub) leave(s socket) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := h.clients[s.ID()]
	if c == nil {
		return
	}
	delete(h.clients, s.ID())
	for conv := range c.joined {
		if room := h.rooms[conv]; room != nil {
			delete(room, s.ID())
			if len(room) == 0 {
				delete(h.rooms, conv)
			}
		}
	}
	if c.connector != nil && h.connectors[c.connector.Channel] == c {
		delete(h.connectors, c.connector.Channel)
	}
}

// sizes reports the hub's map sizes, for tests of leaks.
func (h *hub) sizes() (clients, rooms, connectors int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients), len(h.rooms), len(h.connectors)
}
