package socketio

import (
	"bytes"
	"crypto/sha1" // RFC 6455 §4.2.2 names SHA-1 for the accept key
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
)

// The server's side of RFC 6455 framing: what a server needs with no
// extension negotiated (permessage-deflate is declined at the handshake).
// Frames are parsed from whatever bytes have arrived, so that a reader
// need not hold a goroutine or a buffer while a connection is idle.

// WebSocket opcodes (RFC 6455 §5.2).
const (
	opContinuation byte = 0x0
	opText         byte = 0x1
	opBinary       byte = 0x2
	opClose        byte = 0x8
	opPing         byte = 0x9
	opPong         byte = 0xa
)

// Close status codes (RFC 6455 §7.4.1).
const (
	closeNormal        = 1000
	closeGoingAway     = 1001
	closeProtocolError = 1002
	closeTooBig        = 1009
	closeNoStatus      = 1005 // never sent: a close frame without a code
)

// wsError is a violation of the framing rules, with the status the close
// frame carries.
type wsError struct {
	code int
	msg  string
}

func (e *wsError) Error() string { return fmt.Sprintf("websocket: %s (close %d)", e.msg, e.code) }

func protocolViolation(msg string) error { return &wsError{code: closeProtocolError, msg: msg} }

// errTooBig: a frame or message over the read limit.
var errTooBig = &wsError{code: closeTooBig, msg: "message over maxPayload"}

// errShort: more bytes are needed to parse the frame.
var errShort = errors.New("websocket: short frame")

// frameHeader is one parsed client frame header.
type frameHeader struct {
	fin    bool
	op     byte
	length int // payload length
	mask   [4]byte
}

// parseFrameHeader reads a client frame header from b; it returns the
// header and its size, errShort when b holds only part of it, or a
// *wsError. A client frame must be masked and may not use RSV bits;
// control frames are final and carry at most 125 bytes. limit bounds the
// payload of one frame.
func parseFrameHeader(b []byte, limit int) (frameHeader, int, error) {
	var h frameHeader
	if len(b) < 2 {
		return h, 0, errShort
	}
	if b[0]&0x70 != 0 {
		return h, 0, protocolViolation("reserved bits set")
	}
	h.fin = b[0]&0x80 != 0
	h.op = b[0] & 0x0f
	switch h.op {
	case opContinuation, opText, opBinary:
	case opClose, opPing, opPong:
		if !h.fin {
			return h, 0, protocolViolation("fragmented control frame")
		}
	default:
		return h, 0, protocolViolation("unknown opcode")
	}
	if b[1]&0x80 == 0 {
		return h, 0, protocolViolation("unmasked client frame")
	}
	n := 2
	length := uint64(b[1] & 0x7f)
	switch length {
	case 126:
		if len(b) < 4 {
			return h, 0, errShort
		}
		length = uint64(binary.BigEndian.Uint16(b[2:]))
		n = 4
	case 127:
		if len(b) < 10 {
			return h, 0, errShort
		}
		length = binary.BigEndian.Uint64(b[2:])
		if length>>63 != 0 {
			return h, 0, protocolViolation("payload length with the high bit set")
		}
		n = 10
	}
	if h.op >= opClose && length > 125 {
		return h, 0, protocolViolation("control frame over 125 bytes")
	}
	if length > uint64(limit) {
		return h, 0, errTooBig
	}
	if len(b) < n+4 {
		return h, 0, errShort
	}
	copy(h.mask[:], b[n:n+4])
	h.length = int(length)
	return h, n + 4, nil
}

// unmask XORs p with the masking key in place; p starts at payload offset 0.
func unmask(p []byte, key [4]byte) {
	k := binary.LittleEndian.Uint32(key[:])
	k64 := uint64(k) | uint64(k)<<32
	i := 0
	for ; i+8 <= len(p); i += 8 {
		binary.LittleEndian.PutUint64(p[i:], binary.LittleEndian.Uint64(p[i:])^k64)
	}
	for ; i < len(p); i++ {
		p[i] ^= key[i&3]
	}
}

// appendFrame appends one unmasked, final server frame.
func appendFrame(dst []byte, op byte, payload []byte) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, byte(n))
	case n <= 0xffff:
		dst = append(dst, 126, byte(n>>8), byte(n))
	default:
		dst = append(dst, 127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	return append(dst, payload...)
}

// closeFrame is a close frame carrying code.
func closeFrame(code int) []byte {
	return appendFrame(make([]byte, 0, 4), opClose, []byte{byte(code >> 8), byte(code)})
}

// validCloseCode: the codes a peer may send (RFC 6455 §7.4).
func validCloseCode(code int) bool {
	switch {
	case code >= 1000 && code <= 1003, code >= 1007 && code <= 1011, code >= 3000 && code <= 4999:
		return true
	}
	return false
}

// acceptKey is Sec-WebSocket-Accept for a client's Sec-WebSocket-Key.
func acceptKey(key []byte) string {
	h := sha1.New()
	h.Write(key)
	h.Write([]byte("258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h.Sum(nil))
}

// validChallengeKey: base64 of 16 bytes (RFC 6455 §4.1).
func validChallengeKey(key []byte) bool {
	var b [18]byte
	n, err := base64.StdEncoding.Decode(b[:], key)
	return len(key) == 24 && err == nil && n == 16
}

// frameReader assembles client messages from bytes as they arrive; between
// frames it holds nothing.
type frameReader struct {
	in    []byte // the bytes of an incomplete frame, nil between frames
	msg   []byte // the fragments of a message so far
	msgOp byte   // the opcode of that message, 0 when none is under way
}

// frameSink takes what a frameReader assembles: each complete text or
// binary message (which it owns) and each control frame (whose payload is
// not kept).
type frameSink interface {
	message(op byte, msg []byte) error
	control(op byte, payload []byte) error
}

// feed parses the frames in b, after the incomplete one kept from before,
// and keeps only what is left of an incomplete frame (b itself is not
// kept, but payloads are unmasked in it), handing messages and control
// frames to sink. limit bounds a message. A framing error is a *wsError;
// an error of the sink stops the parsing and is returned.
func (r *frameReader) feed(b []byte, limit int, sink frameSink) error {
	data := b
	if r.in != nil {
		r.in = append(r.in, b...)
		data = r.in
	}
	for len(data) > 0 {
		h, hn, err := parseFrameHeader(data, limit)
		if errors.Is(err, errShort) {
			break
		}
		if err != nil {
			return err
		}
		if h.op <= opBinary && len(r.msg)+h.length > limit {
			return errTooBig
		}
		if len(data) < hn+h.length {
			break
		}
		payload := data[hn : hn+h.length]
		unmask(payload, h.mask)
		data = data[hn+h.length:]
		if err := r.frame(h, payload, sink); err != nil {
			return err
		}
	}
	switch {
	case len(data) == 0:
		r.in = nil
	case r.in == nil:
		r.in = append(make([]byte, 0, max(len(data), 512)), data...)
	case cap(r.in) > 4096 && len(data) < cap(r.in)/4:
		// A buffer grown for a large frame is let go.
		r.in = append(make([]byte, 0, len(data)), data...)
	default:
		r.in = r.in[:copy(r.in, data)]
	}
	return nil
}

func (r *frameReader) frame(h frameHeader, payload []byte, sink frameSink) error {
	switch h.op {
	case opText, opBinary:
		if r.msgOp != 0 {
			return protocolViolation("a new message inside a fragmented one")
		}
		if h.fin {
			return sink.message(h.op, bytes.Clone(payload))
		}
		r.msgOp, r.msg = h.op, append([]byte(nil), payload...)
	case opContinuation:
		if r.msgOp == 0 {
			return protocolViolation("continuation without a message")
		}
		r.msg = append(r.msg, payload...)
		if h.fin {
			op, msg := r.msgOp, r.msg
			r.msgOp, r.msg = 0, nil
			return sink.message(op, msg)
		}
	case opClose:
		if len(payload) == 1 {
			return protocolViolation("close frame of one byte")
		}
		if len(payload) >= 2 && !validCloseCode(int(payload[0])<<8|int(payload[1])) {
			return protocolViolation("invalid close code")
		}
		return sink.control(h.op, payload)
	default: // ping, pong
		return sink.control(h.op, payload)
	}
	return nil
}
