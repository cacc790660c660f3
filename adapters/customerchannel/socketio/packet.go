package socketio

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/connector-proxy/connector-proxy/internal/jsonscan"
)

// Errors of the packet codecs. A malformed packet closes the connection, as
// the Socket.IO reference server does; a binary one is refused with a message
// (see the package documentation).
var (
	ErrMalformed = errors.New("socketio: malformed packet")
	ErrBinary    = errors.New("socketio: binary packets are not supported")
)

// Engine.IO v4 packet types, as their wire digit.
const (
	eioOpen    byte = '0'
	eioClose   byte = '1'
	eioPing    byte = '2'
	eioPong    byte = '3'
	eioMessage byte = '4'
	eioUpgrade byte = '5'
	eioNoop    byte = '6'
)

// recordSeparator joins Engine.IO packets in a long-polling payload.
const recordSeparator = 0x1e

// parseEIO splits one Engine.IO text packet into its type and data. data
// aliases b.
func parseEIO(b []byte) (typ byte, data []byte, err error) {
	if len(b) == 0 {
		return 0, nil, fmt.Errorf("%w: empty Engine.IO packet", ErrMalformed)
	}
	if b[0] == 'b' { // base64 binary message in a polling payload
		return 0, nil, ErrBinary
	}
	if b[0] < eioOpen || b[0] > eioNoop {
		return 0, nil, fmt.Errorf("%w: Engine.IO packet type %q", ErrMalformed, b[0])
	}
	return b[0], b[1:], nil
}

// splitPayload cuts a long-polling body into its Engine.IO packets. The
// packets alias body; an empty body or an empty packet is malformed.
func splitPayload(body []byte) ([][]byte, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty polling payload", ErrMalformed)
	}
	n := bytes.Count(body, []byte{recordSeparator}) + 1
	out := make([][]byte, 0, n)
	for len(body) > 0 || len(out) < n {
		i := bytes.IndexByte(body, recordSeparator)
		p := body
		if i >= 0 {
			p, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		if len(p) == 0 {
			return nil, fmt.Errorf("%w: empty packet in polling payload", ErrMalformed)
		}
		out = append(out, p)
	}
	return out, nil
}

// appendPayload joins encoded Engine.IO packets for a long-polling response.
func appendPayload(dst []byte, pkts [][]byte) []byte {
	for i, p := range pkts {
		if i > 0 {
			dst = append(dst, recordSeparator)
		}
		dst = append(dst, p...)
	}
	return dst
}

// Socket.IO v5 packet types.
const (
	sioConnect      byte = 0
	sioDisconnect   byte = 1
	sioEvent        byte = 2
	sioAck          byte = 3
	sioConnectError byte = 4
	sioBinaryEvent  byte = 5
	sioBinaryAck    byte = 6
)

// maxAckID bounds ack ids; the JavaScript client counts from 0 and never
// reaches it, and it keeps the digits inside an int64.
const maxAckID = 1<<53 - 1

// reservedEvents may not be emitted by a peer (socket.io-parser's list).
var reservedEvents = map[string]struct{}{
	"connect": {}, "connect_error": {}, "disconnect": {}, "disconnecting": {},
	"newListener": {}, "removeListener": {},
}

// packet is one decoded Socket.IO packet.
type packet struct {
	typ   byte
	nsp   string          // "/" when the wire has none
	id    int64           // -1 when absent
	data  json.RawMessage // the raw JSON payload, nil when absent
	event string          // EVENT: the event name
	args  []json.RawMessage
}

// decodePacket parses the data of an Engine.IO message packet as a Socket.IO
// packet and validates its payload as socket.io-parser does. data aliases
// b, which must stay unchanged while the packet is in use: both transports
// hand over a buffer of their own (a WebSocket frame from ReadMessage, a
// copied POST body), so no per-packet copy is made.
func decodePacket(b []byte) (packet, error) { return decodePacketNamed(b, nil) }

// decodePacketNamed is decodePacket taking event names from names (the
// server's, each to itself) rather than copying them.
func decodePacketNamed(b []byte, names map[string]string) (packet, error) {
	p := packet{nsp: "/", id: -1}
	if len(b) == 0 {
		return p, fmt.Errorf("%w: empty Socket.IO packet", ErrMalformed)
	}
	if b[0] < '0' || b[0] > '6' {
		return p, fmt.Errorf("%w: Socket.IO packet type %q", ErrMalformed, b[0])
	}
	p.typ = b[0] - '0'
	rest := b[1:]
	if p.typ == sioBinaryEvent || p.typ == sioBinaryAck {
		return p, ErrBinary
	}
	if len(rest) > 0 && rest[0] == '/' {
		i := bytes.IndexByte(rest, ',')
		if i < 0 {
			p.nsp, rest = string(rest), nil
		} else {
			p.nsp, rest = string(rest[:i]), rest[i+1:]
		}
	}
	i := 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		i++
	}
	if i > 0 {
		id, err := strconv.ParseInt(string(rest[:i]), 10, 64)
		if err != nil || id > maxAckID {
			return p, fmt.Errorf("%w: ack id %q", ErrMalformed, rest[:i])
		}
		p.id, rest = id, rest[i:]
	}
	if len(rest) > 0 {
		p.data = rest
	}
	if err := p.validate(names); err != nil {
		return p, err
	}
	return p, nil
}

func (p *packet) validate(names map[string]string) error {
	switch p.typ {
	case sioConnect:
		if p.data != nil && !isJSONObject(p.data) {
			return fmt.Errorf("%w: CONNECT payload must be an object", ErrMalformed)
		}
	case sioDisconnect:
		if p.data != nil {
			return fmt.Errorf("%w: DISCONNECT has no payload", ErrMalformed)
		}
	case sioEvent:
		// One pass validates the array and finds its elements, which alias
		// the packet: handlers decode them once, with no copy between.
		args, ok := jsonscan.SplitArray(p.data)
		if !ok || len(args) == 0 {
			return fmt.Errorf("%w: EVENT payload must be a non-empty array", ErrMalformed)
		}
		head := args[0]
		switch {
		case head[0] == '"':
			if plainString(head) {
				name := head[1 : len(head)-1]
				if known, ok := names[string(name)]; ok {
					p.event = known
				} else {
					p.event = string(name)
				}
			} else {
				var event string // p stays off the heap
				if err := json.Unmarshal(head, &event); err != nil {
					return fmt.Errorf("%w: event name: %w", ErrMalformed, err)
				}
				p.event = event
			}
			if _, ok := reservedEvents[p.event]; ok {
				return fmt.Errorf("%w: reserved event name %q", ErrMalformed, p.event)
			}
		case head[0] == '-' || head[0] >= '0' && head[0] <= '9':
			p.event = string(head)
		default:
			return fmt.Errorf("%w: event name must be a string or a number", ErrMalformed)
		}
		p.args = args[1:]
	case sioAck:
		if p.id < 0 {
			return fmt.Errorf("%w: ACK without an id", ErrMalformed)
		}
		args, ok := jsonscan.SplitArray(p.data)
		if !ok {
			return fmt.Errorf("%w: ACK payload must be an array", ErrMalformed)
		}
		p.args = args
	case sioConnectError:
		if p.data == nil || (p.data[0] != '"' && !isJSONObject(p.data)) || !jsonscan.Valid(p.data) {
			return fmt.Errorf("%w: CONNECT_ERROR payload must be a string or an object", ErrMalformed)
		}
	}
	return nil
}

func isJSONObject(b []byte) bool {
	return len(b) > 0 && b[0] == '{' && jsonscan.Valid(b)
}

// plainString: a JSON string token of printable ASCII without escapes,
// whose value is its bytes between the quotes.
func plainString(tok []byte) bool {
	for _, c := range tok[1 : len(tok)-1] {
		if c < 0x20 || c > 0x7e || c == '\\' {
			return false
		}
	}
	return true
}

// appendPacket encodes p (its typ, nsp, id and data; event and args are
// ignored) in Socket.IO's text format after dst.
func appendPacket(dst []byte, p packet) []byte {
	dst = append(dst, '0'+p.typ)
	if p.nsp != "" && p.nsp != "/" {
		dst = append(dst, p.nsp...)
		dst = append(dst, ',')
	}
	if p.id >= 0 {
		dst = strconv.AppendInt(dst, p.id, 10)
	}
	return append(dst, p.data...)
}

// JSONAppender is an event or ack argument that writes its own JSON,
// byte for byte what json.Marshal writes for it, without the reflection
// (an ack sent for every event).
type JSONAppender interface {
	AppendJSON(dst []byte) []byte
}

// encodeArgs marshals an EVENT or ACK payload: the event name (when not
// empty) followed by args. json.RawMessage args are embedded as they are.
func encodeArgs(event string, args []any) (json.RawMessage, error) {
	return appendArgs(nil, event, args)
}

// appendArgs appends the payload encodeArgs makes, byte for byte what
// json.Marshal writes for []any{event, args...}: names and raw arguments
// that encoding/json would write unchanged (printable ASCII, no HTML
// characters, a raw argument compact and valid) are copied, anything else
// is marshalled on its own.
func appendArgs(dst []byte, event string, args []any) ([]byte, error) {
	dst = append(dst, '[')
	if event != "" {
		if asIs(event, true) {
			dst = append(dst, '"')
			dst = append(dst, event...)
			dst = append(dst, '"')
		} else {
			b, err := json.Marshal(event)
			if err != nil {
				return nil, fmt.Errorf("socketio: encode arguments: %w", err)
			}
			dst = append(dst, b...)
		}
	}
	for i, a := range args {
		if i > 0 || event != "" {
			dst = append(dst, ',')
		}
		if raw, ok := a.(json.RawMessage); ok && len(raw) > 0 && asIs(string(raw), false) && jsonscan.Valid(raw) {
			dst = append(dst, raw...)
			continue
		}
		if ja, ok := a.(JSONAppender); ok {
			dst = ja.AppendJSON(dst)
			continue
		}
		b, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("socketio: encode arguments: %w", err)
		}
		dst = append(dst, b...)
	}
	return append(dst, ']'), nil
}

// asIs reports whether encoding/json writes s unchanged: printable ASCII
// without HTML characters (which it escapes) and, for raw JSON, without
// white space (which it compacts away); for a name, without the quote and
// backslash it would escape.
func asIs(s string, name bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' && name:
		case c <= ' ' || c >= 0x7f || c == '<' || c == '>' || c == '&':
			return false
		case name && (c == '"' || c == '\\'):
			return false
		}
	}
	return true
}

// appendMessage appends an Engine.IO message packet holding a Socket.IO
// EVENT or ACK (typ) with its ack id (-1: none) and payload.
func appendMessage(dst []byte, typ byte, id int64, event string, args []any) ([]byte, error) {
	if dst == nil {
		n := 16 + len(event)
		for _, a := range args {
			if raw, ok := a.(json.RawMessage); ok {
				n += len(raw) + 1
			} else {
				n += 64
			}
		}
		dst = make([]byte, 0, n)
	}
	dst = append(dst, eioMessage, '0'+typ)
	if id >= 0 {
		dst = strconv.AppendInt(dst, id, 10)
	}
	return appendArgs(dst, event, args)
}
